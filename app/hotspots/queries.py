"""The hot spots of a unit over the last days, from the case tables (no workflow is loaded).

One indexed read of the window's cases (``ix_cases_status_created``: open and closed cases filed
since the window's start; merged repeats are counted by their master's ``repeat_count``, rejected
cases are no problem), with their fingerprints' keywords (``case_fingerprints``, kept by the
duplicate detector at intake: no text is segmented here), and one read of the detector's
candidate pairs among them. The grouping itself is :func:`app.hotspots.grouping.group`.

A case belongs to a unit when its grid unit (where it is) or its handling unit (who handles it)
is the unit or below it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import case as sql_case, or_, select

from app.cases.models import Case
from app.core.db import session
from app.duplicates.detector import Fingerprint
from app.duplicates.models import CaseFingerprint, DuplicateCandidate
from app.hotspots.grouping import HotSpot, Report, Rules, group
from app.hotspots.places import people_of, place_of
from app.orgs.directory import UnitInfo, directory
from app.orgs.models import OrgUnit, subtree_bounds

CASES, PRINTS, CANDIDATES, UNITS = Case.__table__, CaseFingerprint.__table__, DuplicateCandidate.__table__, OrgUnit.__table__
MAX_DAYS = 366
LIVE_STATUSES = ("open", "closed")
DEFAULT_RULES = Rules()


@dataclass
class Result:
    unit: UnitInfo
    days: int
    since: datetime
    until: datetime
    cases: int  # cases of the window read
    spots: list[HotSpot]


def _in_unit(path: str):  # type: ignore[no-untyped-def]
    lo, hi = subtree_bounds(path)
    units = select(UNITS.c.id).where(UNITS.c.path >= lo, UNITS.c.path < hi)
    return or_(CASES.c.grid_unit_id.in_(units), CASES.c.handling_unit_id.in_(units))


def window_reports(unit: UnitInfo, since: datetime) -> list[Report]:
    """The window's cases of ``unit`` as reports."""
    names = directory().by_id
    statement = (
        select(CASES.c.id, CASES.c.created_at, CASES.c.title, CASES.c.address, CASES.c.lat, CASES.c.lng,
               CASES.c.category_code, CASES.c.grid_unit_id, CASES.c.status, CASES.c.rework_count,
               CASES.c.reopen_count, CASES.c.repeat_count, CASES.c.reporter_phone, PRINTS.c.tags,
               # the text only where the category cannot tell the problem: it is the long column
               sql_case((CASES.c.category_code.is_(None), PRINTS.c.text), else_=None).label("text"))
        .select_from(CASES.outerjoin(PRINTS, PRINTS.c.case_id == CASES.c.id))
        .where(CASES.c.status.in_(LIVE_STATUSES), CASES.c.created_at >= since, _in_unit(unit.path)))
    out = []
    for row in session.connection().execute(statement):
        fp = None
        if row.tags is not None:
            fp = Fingerprint(text=row.text or "", tags=orjson.loads(row.tags), created_at=row.created_at)
        place = place_of(row.address, row.title)
        grid = names.get(row.grid_unit_id) if row.grid_unit_id else None
        out.append(Report(
            id=row.id, at=row.created_at, fingerprint=fp, category=row.category_code, lat=row.lat, lng=row.lng,
            place=place.name if place else None, unit=grid.name if grid else None, title=row.title,
            repeats=row.repeat_count or 0, reporter=row.reporter_phone, open=row.status == "open",
            reworked=(row.rework_count or 0) > 0 or (row.reopen_count or 0) > 0,
            people=people_of([row.title + " ".join(fp.tags if fp else ())])))
    return out


def window_links(since: datetime) -> list[tuple[int, int]]:
    """The duplicate detector's candidate pairs filed since ``since`` that nobody dismissed."""
    statement = (select(CANDIDATES.c.case_id, CANDIDATES.c.candidate_id)
                 .join(CASES, CASES.c.id == CANDIDATES.c.case_id)
                 .where(CASES.c.created_at >= since, CASES.c.status.in_(LIVE_STATUSES),
                        CANDIDATES.c.state != "dismissed"))
    return [(a, b) for a, b in session.connection().execute(statement)]


def hotspots(unit: UnitInfo, days: int, now: datetime, limit: int = 20, rules: Rules = DEFAULT_RULES) -> Result:
    """The ``limit`` hottest spots of ``unit`` among the cases filed in the last ``days`` days."""
    since = now - timedelta(days=days)
    reports = window_reports(unit, since)
    spots = group(reports, now, rules, limit=limit, links=window_links(since))
    return Result(unit, days, since, now, len(reports), spots)


def spot_dict(spot: HotSpot, rank: int) -> dict[str, object]:
    """A hot spot as the API answers it (and the exports and pages show it)."""
    center = spot.center
    return {"rank": rank, "heat": round(spot.heat, 2), "place": spot.place, "category": spot.problem,
            "people": spot.people, "description": spot.description, "terms": spot.terms,
            "first_at": spot.first_at, "last_at": spot.last_at, "reports": spot.count, "cases": len(spot.reports),
            "repeats": spot.repeats, "reporters": spot.reporters, "open": spot.open_count,
            "reworked": spot.reworked_count, "unsolved_share": round(spot.unsolved_share, 4),
            "rework_share": round(spot.rework_share, 4), "volume": round(spot.volume, 3),
            "lat": round(center[0], 6) if center else None, "lng": round(center[1], 6) if center else None,
            "case_ids": spot.case_ids}


