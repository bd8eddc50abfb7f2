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


def _parts(geometry: dict[str, Any]) -> tuple[list[list[list[float]]], list[list[float]]]:
    """The geometry's lines and rings (each a list of positions) and its points."""
    kind = geometry["type"]
    coordinates: Any = geometry.get("coordinates")  # a valid geometry's (see `geometry_problem`)
    if kind == "GeometryCollection":
        lines: list[list[list[float]]] = []
        points: list[list[float]] = []
        for part in geometry["geometries"]:
            more_lines, more_points = _parts(part)
            lines += more_lines
            points += more_points
        return lines, points
    if kind == "Point":
        return [], [coordinates]
    if kind == "MultiPoint":
        return [], list(coordinates)
    if kind == "LineString":
        return [coordinates], []
    if kind in ("MultiLineString", "Polygon"):
        return list(coordinates), []
    return [ring for polygon in coordinates for ring in polygon], []  # MultiPolygon


def outline(text: str | None, *, width: int = 96, height: int = 48) -> dict[str, Any] | None:
    """A small drawing of a stored geometry for the data pages: an SVG path (`d`) and points (`dots`) in a
    `width` × `height` box, longitude/latitude projected equirectangularly at the shape's middle latitude and fitted
    to the box with its proportions kept. None for an empty or invalid value (the page then shows the text)."""
    if not text:
        return None
    try:
        geometry = json.loads(text)
    except (ValueError, TypeError):
        return None
    if geometry_problem(geometry) is not None:
        return None
    lines, points = _parts(geometry)
    positions = [p for line in lines for p in line] + points
    if not positions:
        return None
    middle = math.radians((min(p[1] for p in positions) + max(p[1] for p in positions)) / 2)
    scale_x = math.cos(middle)
    xs = [p[0] * scale_x for p in positions]
    ys = [p[1] for p in positions]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    margin = 3
    factor = min(width - 2 * margin, height - 2 * margin) / span
    left = (width - (max(xs) - min(xs)) * factor) / 2
    top = (height - (max(ys) - min(ys)) * factor) / 2

    def at(position: list[float]) -> tuple[str, str]:
        x = left + (position[0] * scale_x - min(xs)) * factor
        y = top + (max(ys) - position[1]) * factor  # north up
        return f"{x:.1f}", f"{y:.1f}"

    path = " ".join("M" + " L".join(",".join(at(p)) for p in line) for line in lines)
    dots = [dict(zip(("x", "y"), at(p), strict=True)) for p in points[:200]]
    return {"d": path, "dots": dots, "width": width, "height": height, "kind": geometry["type"]}
