"""Pages of the standards app: code sets, data elements, the resource category tree."""
