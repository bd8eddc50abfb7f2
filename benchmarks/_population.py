"""Deterministic synthetic population rows for the benchmarks (the generator lives in `tongshu.demo.synthetic`,
shared with the demo)."""

from __future__ import annotations

import csv
from pathlib import Path

from tongshu.demo.synthetic import (
    BIRTHPLACES,
    GIVEN,
    HEADER,
    SURNAMES,
    TOWNSHIP_CODES,
    TOWNSHIPS,
    population_rows,
)

__all__ = [
    "BIRTHPLACES",
    "GIVEN",
    "HEADER",
    "SURNAMES",
    "TOWNSHIPS",
    "TOWNSHIP_CODES",
    "population_rows",
    "write_population_csv",
]


def write_population_csv(path: Path, count: int, seed: int = 20261125) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(population_rows(count, seed))
    tmp.rename(path)
    return path
