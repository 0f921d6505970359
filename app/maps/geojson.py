"""Checking a city's boundary file: a GeoJSON FeatureCollection (RFC 7946) of Polygons and
MultiPolygons in WGS84 longitude/latitude, one feature per org unit, named by the unit's code.

Every problem is reported with the feature it is in (``features[3] (d1-s1): ...``), so a GIS
export can be fixed without guessing; nothing is stored unless the whole file is right.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_BYTES = 50 * 1024 * 1024
MAX_POSITIONS = 2_000_000  # of the whole file: Leaflet draws every one in each browser
MAX_ERRORS = 20
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")


class BoundaryFileError(ValueError):
    """The file is not a usable boundary file; ``errors`` says where and why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ParsedBoundary:
    code: str
    geometry: dict[str, Any]


def parse_boundaries(raw: bytes, code_property: str = "code") -> list[ParsedBoundary]:
    """The features of a boundary file, checked; raises BoundaryFileError listing what is wrong."""
    if len(raw) > MAX_BYTES:
        raise BoundaryFileError([f"the file has {len(raw)} bytes; at most {MAX_BYTES} are accepted "
                                 "(simplify the geometry, e.g. with mapshaper or ogr2ogr -simplify)"])
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BoundaryFileError([f"the file is not UTF-8 text (byte {exc.start})"]) from None
    except json.JSONDecodeError as exc:
        raise BoundaryFileError([f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BoundaryFileError(['the top level must be a GeoJSON object {"type": "FeatureCollection", "features": [...]}'])
    crs = data.get("crs")
    if isinstance(crs, dict):  # the pre-RFC 7946 way of naming another system (e.g. a local grid)
        name = str((crs.get("properties") or {}).get("name", ""))
        if name and not name.endswith(("CRS84", "4326")):
            raise BoundaryFileError([f"coordinates must be WGS84 longitude/latitude (EPSG:4326), not {name}"])
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise BoundaryFileError(['"features" must be a non-empty list'])
    errors: list[str] = []
    found: list[ParsedBoundary] = []
    seen: dict[str, int] = {}
    positions = 0
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(f'{where}: not a GeoJSON Feature ({{"type": "Feature", ...}})')
            continue
        props = feature.get("properties")
        code = props.get(code_property) if isinstance(props, dict) else None
        if not isinstance(code, str) or not code.strip():
            errors.append(f'{where}: no "{code_property}" property naming the org unit (a string such as "d1-s1")')
            continue
        code = code.strip()
        where = f"{where} ({code})"
        if code in seen:
            errors.append(f"{where}: the unit already has a boundary in features[{seen[code]}]")
            continue
        seen[code] = i
        problems, count = _geometry_problems(feature.get("geometry"))
        positions += count
        if problems:
            errors.extend(f"{where}: {p}" for p in problems[:3])
            continue
        found.append(ParsedBoundary(code, feature["geometry"]))
        if len(errors) >= MAX_ERRORS:
            break
    if positions > MAX_POSITIONS:
        errors.append(f"the file has {positions} positions; at most {MAX_POSITIONS} are accepted (simplify it)")
    if errors:
        raise BoundaryFileError(errors[:MAX_ERRORS] + ([f"... and more (first {MAX_ERRORS} shown)"]
                                                       if len(errors) > MAX_ERRORS else []))
    return found


def _geometry_problems(geometry: Any) -> tuple[list[str], int]:
    """What is wrong with a Polygon/MultiPolygon (empty when nothing), and its number of positions."""
    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        return [f"the geometry must be a Polygon or a MultiPolygon{f', not {kind}' if kind else ''}"], 0
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        return ["the geometry has no coordinates"], 0
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    problems: list[str] = []
    count = 0
    for p, rings in enumerate(polygons):
        if not isinstance(rings, list) or not rings:
            problems.append(f"polygon {p}: no rings")
            continue
        for r, ring in enumerate(rings):
            label = f"polygon {p}, ring {r}" if geometry["type"] == "MultiPolygon" else f"ring {r}"
            if not isinstance(ring, list) or len(ring) < 4:
                problems.append(f"{label}: a ring needs at least 4 positions (the first repeated at the end)")
                continue
            count += len(ring)
            bad = next((j for j, pos in enumerate(ring) if not _position_ok(pos)), None)
            if bad is not None:
                problems.append(f"{label}, position {bad}: {ring[bad]!r} is not [longitude, latitude] "
                                "in degrees (longitude −180…180, latitude −90…90)")
                continue
            if list(ring[0][:2]) != list(ring[-1][:2]):
                problems.append(f"{label}: not closed (the last position must repeat the first)")
    return problems, count


def _position_ok(pos: Any) -> bool:
    if not isinstance(pos, list) or len(pos) < 2:
        return False
    lng, lat = pos[0], pos[1]
    if isinstance(lng, bool) or isinstance(lat, bool) or not isinstance(lng, (int, float)) \
            or not isinstance(lat, (int, float)):
        return False
    return math.isfinite(lng) and math.isfinite(lat) and -180 <= lng <= 180 and -90 <= lat <= 90

