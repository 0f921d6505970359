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
from sqlalchemy import and_, case as sql_case, or_, select, true

from app.cases.models import Case
from app.core.db import session
from app.duplicates.detector import Fingerprint
from app.duplicates.models import CaseFingerprint, DuplicateCandidate
from app.hotspots.grouping import DEFAULT_RULES, HotSpot, Report, Rules, group, lone_in_cells
from app.orgs.directory import UnitInfo, directory
from app.orgs.models import OrgUnit, subtree_bounds

CASES, PRINTS, CANDIDATES, UNITS = Case.__table__, CaseFingerprint.__table__, DuplicateCandidate.__table__, OrgUnit.__table__
MAX_DAYS = 366
LIVE_STATUSES = ("open", "closed")


@dataclass
class Result:
    unit: UnitInfo
    days: int
    since: datetime
    until: datetime
    cases: int  # cases of the window read
    spots: list[HotSpot]


def _in_unit(unit: UnitInfo):  # type: ignore[no-untyped-def]
    """The cases of ``unit``: every case for the root of the tree (the city covers them all)."""
    if unit.parent_code is None:
        return true()
    lo, hi = subtree_bounds(unit.path)
    units = select(UNITS.c.id).where(UNITS.c.path >= lo, UNITS.c.path < hi)
    return or_(CASES.c.grid_unit_id.in_(units), CASES.c.handling_unit_id.in_(units))


def window_reports(unit: UnitInfo, since: datetime, until: datetime, rules: Rules = DEFAULT_RULES,
                   linked: frozenset[int] = frozenset()) -> tuple[list[Report], int]:
    """The window's cases of ``unit`` as reports, with what the grouping needs and no more: the
    address and title only for cases without coordinates (their place is named in them), the
    keywords and text only for cases without a category (their problem is their text). What the
    chosen hot spots' descriptions need is read afterwards (:func:`complete`). Returns the reports
    and how many cases the window holds."""
    names = directory().by_id
    unlocated = or_(CASES.c.lat.is_(None), CASES.c.lng.is_(None))
    unclassified = CASES.c.category_code.is_(None)
    statement = (
        select(CASES.c.id, CASES.c.created_at, CASES.c.lat, CASES.c.lng, CASES.c.category_code, CASES.c.grid_unit_id,
               CASES.c.status, CASES.c.rework_count, CASES.c.reopen_count, CASES.c.repeat_count,
               sql_case((unlocated, CASES.c.address), else_=None).label("address"),
               sql_case((unlocated, CASES.c.title), else_=None).label("title"),
               sql_case((unclassified, PRINTS.c.tags), else_=None).label("tags"),
               sql_case((unclassified, PRINTS.c.text), else_=None).label("text"))
        .select_from(CASES.outerjoin(PRINTS, and_(PRINTS.c.case_id == CASES.c.id, unclassified)))
        .where(CASES.c.status.in_(LIVE_STATUSES), CASES.c.created_at >= since, CASES.c.created_at <= until,
               _in_unit(unit)))
    rows = session.connection().execute(statement).all()
    # a located, classified case alone in its four cells is no hot spot (grouping.lone_in_cells),
    # unless merged repeats or a detector's link make it one: most of a city's cases are such, and
    # they are left out before any report is built
    located = [i for i, row in enumerate(rows) if row[2] is not None and row[3] is not None and row[4] is not None]
    lone = lone_in_cells((rows[i][2], rows[i][3], rows[i][4]) for i in located)
    skip = {i for i, alone in zip(located, lone)
            if alone and not (rows[i][9] or 0) and rows[i][0] not in linked and rules.min_reports > 1}
    out = []
    for i, (case_id, created_at, lat, lng, category, grid_id, status, rework, reopen, repeats, address, title, tags,
            text) in enumerate(rows):
        if i in skip:
            continue
        grid = names.get(grid_id) if grid_id else None
        out.append(Report(
            id=case_id, at=created_at, category=category, lat=lat, lng=lng, unit=grid.name if grid else None,
            fingerprint=Fingerprint(text=text or "", tags=orjson.loads(tags), created_at=created_at) if tags else None,
            texts=(address, title) if address is not None or title is not None else (), title=title or "",
            repeats=repeats or 0, open=status == "open", reworked=(rework or 0) > 0 or (reopen or 0) > 0))
    return out, len(rows)


_DETAILS = (select(CASES.c.id, CASES.c.title, CASES.c.address, CASES.c.reporter_phone, PRINTS.c.tags)
            .select_from(CASES.outerjoin(PRINTS, PRINTS.c.case_id == CASES.c.id)))
DETAIL_BATCH = 500


def complete(spots: list[HotSpot]) -> None:
    """Read the titles, addresses, reporters and keywords of the chosen spots' cases."""
    members = {r.id: r for s in spots for r in s.reports}
    ids = sorted(members)
    for start in range(0, len(ids), DETAIL_BATCH):
        chunk = ids[start:start + DETAIL_BATCH]
        for case_id, title, address, phone, tags in session.connection().execute(_DETAILS.where(CASES.c.id.in_(chunk))):
            r = members[case_id]
            r.title, r.reporter = title, phone
            if not r.texts:
                r.texts = (address, title)
            if r.fingerprint is None and tags:
                r.fingerprint = Fingerprint(text="", tags=orjson.loads(tags), created_at=r.at)


def window_links(since: datetime, until: datetime) -> list[tuple[int, int]]:
    """The duplicate detector's candidate pairs of the window that nobody dismissed."""
    statement = (select(CANDIDATES.c.case_id, CANDIDATES.c.candidate_id)
                 .join(CASES, CASES.c.id == CANDIDATES.c.case_id)
                 .where(CASES.c.created_at >= since, CASES.c.created_at <= until, CASES.c.status.in_(LIVE_STATUSES),
                        CANDIDATES.c.state != "dismissed"))
    return [(a, b) for a, b in session.connection().execute(statement)]


def hotspots(unit: UnitInfo, days: int, now: datetime, limit: int = 20, rules: Rules = DEFAULT_RULES) -> Result:
    """The ``limit`` hottest spots of ``unit`` among the cases filed in the last ``days`` days."""
    since = now - timedelta(days=days)
    links = window_links(since, now)
    reports, read = window_reports(unit, since, now, rules, frozenset(i for pair in links for i in pair))
    spots = group(reports, now, rules, limit=limit, links=links, complete=complete)
    return Result(unit, days, since, now, read, spots)


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


