"""Storing boundaries: a city's own file (replaces every boundary at once), or the demo city's
schematic ones, generated from its units' points and marked as such."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from app.core.audit import record
from app.core.db import session
from app.maps.geojson import BoundaryFileError, parse_boundaries
from app.maps.models import UnitBoundary
from app.orgs.models import OrgUnit

#: the units that have an area (departments have none)
AREA_KINDS = ("city", "district", "street", "community")
DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class LoadResult:
    loaded: int
    by_kind: dict[str, int]
    replaced: int


def load_boundaries(raw: bytes, source: str, *, code_property: str = "code", actor: Any = None,
                    dry_run: bool = False) -> LoadResult:
    """Check a boundary file (``app.maps.geojson``) against the org tree and, unless ``dry_run``,
    make it the city's boundaries: every earlier boundary (the demo's schematic ones too) goes."""
    parsed = parse_boundaries(raw, code_property)
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_([p.code for p in parsed])))}
    errors = []
    for p in parsed:
        unit = units.get(p.code)
        if unit is None:
            errors.append(f"{p.code}: no org unit has this code (create the org tree first)")
        elif unit.kind not in AREA_KINDS:
            errors.append(f"{p.code}: {unit.name} is a {unit.kind}; only the city, districts, streets and "
                          "communities have boundaries")
    if errors:
        raise BoundaryFileError(errors[:20])
    by_kind: dict[str, int] = {}
    for p in parsed:
        by_kind[units[p.code].kind] = by_kind.get(units[p.code].kind, 0) + 1
    replaced = session.scalar(select(func.count(UnitBoundary.id))) or 0
    if not dry_run:
        _replace([(units[p.code], p.geometry) for p in parsed], source[:200], schematic=False)
        record("boundaries_loaded", actor=actor, source=source[:200], units=len(parsed), replaced=replaced,
               by_kind=by_kind)
    return LoadResult(len(parsed), by_kind, replaced)


def _replace(rows: list[tuple[OrgUnit, dict[str, Any]]], source: str, schematic: bool) -> None:
    session.execute(delete(UnitBoundary))
    for unit, geometry in rows:
        session.add(UnitBoundary(org_unit_id=unit.id, geometry=json.dumps(geometry, separators=(",", ":")),
                                 schematic=schematic, source=source))
    session.flush()


def load_demo_boundaries() -> int:
    """The demo city's schematic boundaries, unless the city has boundaries already: a square around
    each community's point, each street and district the box around its children. Nothing about
    them is real; they are stored and shown as schematic."""
    if session.scalar(select(func.count(UnitBoundary.id))):
        return 0
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(AREA_KINDS))))
    boxes = schematic_boxes(units)
    by_id = {u.id: u for u in units}
    _replace([(by_id[uid], _box_polygon(box)) for uid, box in boxes.items()], DEMO_SOURCE, schematic=True)
    return len(boxes)


Box = tuple[float, float, float, float]  # south, west, north, east


def schematic_boxes(units: list[OrgUnit]) -> dict[int, Box]:
    """Boxes for units with a point: communities get a square half as wide as the distance to the
    nearest other community (so neighbours do not overlap); a parent the box around its children."""
    points = [(u.id, u.lat, u.lng) for u in units if u.kind == "community" and u.lat is not None and u.lng is not None]
    boxes: dict[int, Box] = {}
    for uid, lat, lng in points:
        nearest = min((max(abs(lat - la), abs(lng - ln)) for other, la, ln in points if other != uid), default=0.01)
        half = min(max(nearest / 2, 0.001), 0.01)
        boxes[uid] = (lat - half, lng - half, lat + half, lng + half)
    children: dict[int, list[int]] = {}
    for u in units:
        if u.parent_id is not None:
            children.setdefault(u.parent_id, []).append(u.id)
    margin = {"street": 0.001, "district": 0.002, "city": 0.004}
    for kind in ("street", "district", "city"):
        for u in (x for x in units if x.kind == kind):
            inner = [boxes[c] for c in children.get(u.id, []) if c in boxes]
            if inner:
                m = margin[kind]
                boxes[u.id] = (min(b[0] for b in inner) - m, min(b[1] for b in inner) - m,
                               max(b[2] for b in inner) + m, max(b[3] for b in inner) + m)
    return boxes


def _box_polygon(box: Box) -> dict[str, Any]:
    s, w, n, e = (round(v, 6) for v in box)
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
