"""GeoJSON geometry check (RFC 7946) for items bound to the data element 几何 (check rule `geojson`): the 自然资源和
空间地理 base library stores shapes as GeoJSON geometry objects with WGS 84 longitude/latitude."""

from __future__ import annotations

import json
import math
from typing import Any

DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _position(value: Any) -> bool:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        return False
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return False
    return bool(-180 <= value[0] <= 180 and -90 <= value[1] <= 90)


def _line(value: Any, minimum: int) -> bool:
    return isinstance(value, list) and len(value) >= minimum and all(_position(p) for p in value)


def _ring(value: Any) -> bool:
    return _line(value, 4) and value[0] == value[-1]


def _polygon(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 1 and all(_ring(r) for r in value)


def geometry_problem(geometry: Any, *, depth: int = 0) -> str | None:
    """Why `geometry` (parsed JSON) is not a valid GeoJSON geometry object, or None."""
    if not isinstance(geometry, dict) or "type" not in geometry:
        return "不是 GeoJSON 几何对象（缺少 type）"
    kind = geometry["type"]
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if depth > 2 or not isinstance(parts, list):
            return "GeometryCollection 须包含 geometries 数组"
        problems = [geometry_problem(part, depth=depth + 1) for part in parts]
        return next((p for p in problems if p), None)
    if kind not in DEPTH:
        return f"不支持的几何类型：{kind}"
    coordinates = geometry.get("coordinates")
    if kind == "Point":
        valid = _position(coordinates)
    elif kind in ("MultiPoint", "LineString"):
        valid = _line(coordinates, 1 if kind == "MultiPoint" else 2)
    elif kind == "Polygon":
        valid = _polygon(coordinates)
    else:
        lines = kind == "MultiLineString"
        valid = (
            isinstance(coordinates, list)
            and len(coordinates) >= 1
            and all(_line(x, 2) if lines else _polygon(x) for x in coordinates)
        )
    return None if valid else f"{kind} 的坐标（coordinates）不合法，应为 WGS 84 经纬度"


def is_valid_geometry(text: str | None) -> bool:
    if text is None:
        return True
    try:
        geometry = json.loads(text)
    except (ValueError, TypeError):
        return False
    return geometry_problem(geometry) is None
