"""Township geometries of 华容县 for the demo's 自然资源和空间地理 base library.

APPROXIMATE, NOT SURVEY DATA: each township's seat is an estimate of its position (WGS 84 longitude/latitude, to
about a few kilometres) and its area is drawn as a regular hexagon around the seat, so the shapes neither follow
the real boundaries nor tile the county. They exist to show GeoJSON items stored, validated and browsed; the
records say so in their 数据说明 item. Codes and names are the real ones (standards/data/divisions).
"""

from __future__ import annotations

import json
import math

from .synthetic import TOWNSHIP_CODES, TOWNSHIPS

# Estimated seats (longitude, latitude); 章华镇 is the county seat.
SEATS = {
    "三封寺镇": (112.745, 29.560),
    "治河渡镇": (112.665, 29.470),
    "北景港镇": (112.405, 29.430),
    "鲇鱼须镇": (112.320, 29.525),
    "万庾镇": (112.440, 29.500),
    "插旗镇": (112.575, 29.420),
    "注滋口镇": (112.720, 29.395),
    "操军镇": (112.640, 29.535),
    "东山镇": (112.620, 29.610),
    "梅田湖镇": (112.375, 29.585),
    "章华镇": (112.550, 29.530),
    "禹山镇": (112.480, 29.600),
    "新河乡": (112.495, 29.450),
    "团洲乡": (112.805, 29.450),
}
RADIUS = 0.032  # degrees, about 3 km
NOTE = "示意数据：驻地位置为估计值，行政区域范围为以驻地为中心的六边形近似，非测绘成果，不得用于定界。"


def _rounded(point: tuple[float, float]) -> list[float]:
    return [round(point[0], 4), round(point[1], 4)]


def hexagon(center: tuple[float, float], radius: float = RADIUS) -> dict[str, object]:
    """A closed GeoJSON Polygon (counter-clockwise exterior ring, RFC 7946) around `center`; longitude steps are
    widened by 1/cos(latitude) so the shape is roughly regular on the ground."""
    lon, lat = center
    stretch = 1 / math.cos(math.radians(lat))
    ring = [
        _rounded(
            (lon + radius * stretch * math.cos(math.radians(a)), lat + radius * math.sin(math.radians(a)))
        )
        for a in range(0, 360, 60)
    ]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def townships() -> list[dict[str, str]]:
    """One record per township: code, name, kind, seat (Point) and approximate area (Polygon) as GeoJSON text."""
    rows = []
    for code, name in zip(TOWNSHIP_CODES, TOWNSHIPS, strict=True):
        seat = SEATS[name]
        rows.append(
            {
                "township_code": f"430623{code}",
                "name": name,
                "kind": "乡" if name.endswith("乡") else "镇",
                "seat": json.dumps({"type": "Point", "coordinates": _rounded(seat)}, separators=(",", ":")),
                "area": json.dumps(hexagon(seat), separators=(",", ":")),
                "note": NOTE,
            }
        )
    return rows
