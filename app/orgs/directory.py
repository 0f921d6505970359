"""An in-memory directory of the org tree for the engine: code look-ups without a query.

The tree changes rarely (an admin edits it); each process reloads it after ``TTL`` seconds or
when :func:`invalidate` is called by an operation that changed it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from app.core.db import session
from app.core.geo import Area
from app.orgs.models import OrgUnit

TTL = 60.0


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    name_en: str | None
    kind: str
    dept_type: str | None
    path: str
    parent_code: str | None
    lat: float | None = None
    lng: float | None = None


class OrgDirectory:
    def __init__(self, units: list[UnitInfo]) -> None:
        self.by_code = {u.code: u for u in units}
        self.by_id = {u.id: u for u in units}
        self.departments: dict[tuple[str, str], str] = {}
        self._areas: dict[float, Area | None] = {}  # the city's area by margin, computed once per directory
        for u in units:
            if u.kind == "department" and u.dept_type and u.parent_code:
                self.departments.setdefault((u.parent_code, u.dept_type), u.code)

    def ancestor(self, code: str | None, kind: str) -> str | None:
        unit = self.by_code.get(code or "")
        while unit is not None:
            if unit.kind == kind:
                return unit.code
            unit = self.by_code.get(unit.parent_code or "")
        return None

    def nearest(self, lat: float, lng: float, kind: str = "community") -> str | None:
        """The unit of ``kind`` whose centre is nearest to a point (the grid a report falls in)."""
        best, best_d = None, float("inf")
        for u in self.by_code.values():
            if u.kind == kind and u.lat is not None and u.lng is not None:
                d = (u.lat - lat) ** 2 + ((u.lng - lng) * 0.85) ** 2
                if d < best_d:
                    best, best_d = u.code, d
        return best

    def area(self, margin_km: float) -> Area | None:
        """The city's area: the org units' centres with a margin (None when no unit has coordinates)."""
        if margin_km not in self._areas:
            self._areas[margin_km] = Area.around(
                [(u.lat, u.lng) for u in self.by_code.values() if u.lat is not None and u.lng is not None], margin_km)
        return self._areas[margin_km]

    def department(self, code: str | None, dept_type: str | None) -> str | None:
        if not code or not dept_type:
            return None
        return self.departments.get((code, dept_type))


_lock = threading.Lock()
_state: dict[str, object] = {"dir": None, "at": 0.0}


def directory() -> OrgDirectory:
    current = _state["dir"]
    if isinstance(current, OrgDirectory) and time.monotonic() - float(_state["at"]) < TTL:  # type: ignore[arg-type]
        return current
    with _lock:
        parents = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
        rows = session.scalars(select(OrgUnit)).all()
        units = [UnitInfo(r.id, r.code, r.name, r.name_en, r.kind, r.dept_type, r.path,
                          parents.get(r.parent_id) if r.parent_id else None, r.lat, r.lng) for r in rows]
        fresh = OrgDirectory(units)
        _state["dir"], _state["at"] = fresh, time.monotonic()
        return fresh


def city_area() -> Area | None:
    """Where reports may be: ``CITY_AREA`` when set, else the org tree's units with ``CITY_AREA_MARGIN_KM``."""
    from flask import current_app
    settings = current_app.config["SETTINGS"]
    return settings.city_area or directory().area(settings.CITY_AREA_MARGIN_KM)


def invalidate() -> None:
    _state["dir"], _state["at"] = None, 0.0


def unit_ancestor(code: str | None, kind: str) -> str | None:
    """Script helper: the nearest unit of ``kind`` at or above ``code``."""
    return directory().ancestor(code, kind)


def unit_department(code: str | None, dept_type: str | None) -> str | None:
    """Script helper: the functional department of ``dept_type`` attached to unit ``code``."""
    return directory().department(code, dept_type)


SCRIPT_HELPERS = {"unit_ancestor": unit_ancestor, "unit_department": unit_department}
