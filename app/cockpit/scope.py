"""Which cases a unit's cockpit counts, and who may look at which unit.

A case belongs to unit U when its grid unit (where the problem is) or its handling unit (who
handles it) is U or lies below U; the root of the org tree (the city) counts every case, also
the ones not yet placed or dispatched. The same rule serves the roll-up (``cockpit_daily_counts``
triggers), the live counts of the open set and the drill-down lists (``/cases?unit=``), so a
figure and the list behind it agree.

The cockpit is for leaders, supervisors and administrators over their units:
:func:`cockpit_units` are the units where the user holds one of those roles (each covers the units
below it); a unit outside them is refused.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_

from app.cases.models import Case
from app.core.auth import Principal
from app.orgs.directory import UnitInfo, directory
from app.orgs.models import subtree_bounds

COCKPIT_ROLES = ("leader", "supervisor", "admin")


def is_root(unit: UnitInfo) -> bool:
    return unit.parent_code is None


def units_below(unit: UnitInfo) -> list[int]:
    """Ids of ``unit`` and every unit below it (from the in-memory directory: no query)."""
    lo, hi = subtree_bounds(unit.path)
    return [u.id for u in directory().by_code.values() if lo <= u.path < hi]


def case_in_unit(unit: UnitInfo, table: Any = None) -> Any:
    """SQL condition: the case's grid or handling unit is ``unit`` or below it (``None``: the root
    unit takes every case, no condition)."""
    if is_root(unit):
        return None
    columns = table.c if table is not None else Case
    ids = units_below(unit)
    return or_(columns.grid_unit_id.in_(ids), columns.handling_unit_id.in_(ids))


def cockpit_units(principal: Principal) -> list[UnitInfo]:
    """The units the user's cockpit roles are held at, highest first (no unit twice, none below another)."""
    by_path = {u.path: u for u in directory().by_code.values()}
    paths = sorted({lo for role in COCKPIT_ROLES for _r, lo, _hi in principal.ranges(role)})
    tops = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    return [by_path[p] for p in sorted(tops, key=lambda p: (p.count("/"), p)) if p in by_path]


def can_view_unit(principal: Principal, unit: UnitInfo) -> bool:
    return principal.covers(COCKPIT_ROLES, unit.path)
