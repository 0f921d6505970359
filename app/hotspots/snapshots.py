"""The hot spots as served: the last list computed for a unit, window and length, while it is fresh.

:func:`current` answers from ``hotspot_snapshots`` when its list is younger than
``HOTSPOT_MAX_AGE`` seconds, else computes the list (:func:`app.hotspots.queries.hotspots`) and
stores it for every worker. The scheduler's :func:`refresh` recomputes, before they age out, the
lists someone asked for in the last day, so a leader's panel is answered from a stored list; lists
nobody asked for in a week are dropped. ``HOTSPOT_MAX_AGE = 0`` computes every time and stores
nothing. Every answer says when its list was computed (``computed_at``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from app.core.db import session, transaction
from app.hotspots.models import HotspotSnapshot
from app.hotspots.queries import hotspots, spot_dict
from app.orgs.directory import UnitInfo, directory

log = logging.getLogger(__name__)
T = HotspotSnapshot.__table__
RECENT = timedelta(days=1)  # a list asked for this recently is kept fresh by the scheduler
FORGOTTEN = timedelta(days=7)  # a list nobody asked for so long is dropped
TOUCH_EVERY = timedelta(hours=1)  # how often a read of a stored list records that it was asked for
_TIMES = ("first_at", "last_at")


@dataclass
class Listing:
    """A unit's hot spots over a window, as the API, the page and the exports show them."""

    unit: UnitInfo
    days: int
    since: datetime
    until: datetime
    cases: int  # cases of the window read
    spots: list[dict[str, Any]]  # queries.spot_dict, ranked
    computed_at: datetime

    def payload(self) -> str:
        return orjson.dumps({"days": self.days, "since": self.since.isoformat(), "until": self.until.isoformat(),
                             "cases": self.cases, "spots": self.spots}).decode()

    @classmethod
    def from_row(cls, unit: UnitInfo, row: Any) -> Listing:
        data = orjson.loads(row.payload)
        for spot in data["spots"]:
            for key in _TIMES:
                spot[key] = datetime.fromisoformat(spot[key]) if spot.get(key) else None
        return cls(unit, data["days"], datetime.fromisoformat(data["since"]), datetime.fromisoformat(data["until"]),
                   data["cases"], data["spots"], row.computed_at)


def compute(unit: UnitInfo, days: int, limit: int, now: datetime) -> Listing:
    result = hotspots(unit, days, now, limit=limit)
    spots = [spot_dict(s, rank) for rank, s in enumerate(result.spots, start=1)]
    return Listing(unit, days, result.since, result.until, result.cases, spots, now)


def max_age() -> int:
    return int(current_app.config["SETTINGS"].HOTSPOT_MAX_AGE)


def current(unit: UnitInfo, days: int, limit: int, now: datetime) -> Listing:
    """The hot spots of ``unit`` over the last ``days`` days: the stored list while it is fresh."""
    age = max_age()
    if age <= 0:
        return compute(unit, days, limit, now)
    row = session.get(HotspotSnapshot, (unit.id, days, limit))
    # a list computed "later" than now (a clock set back: demo, tests) is not served
    if row is not None and now - timedelta(seconds=age) <= row.computed_at <= now:
        if row.requested_at < now - TOUCH_EVERY:
            row.requested_at = now
        return Listing.from_row(unit, row)
    listing = compute(unit, days, limit, now)
    store(listing, limit, requested_at=now)
    return listing


def store(listing: Listing, limit: int, requested_at: datetime | None = None) -> None:
    """Write the list over the unit's stored one (two workers computing it at once: the later wins)."""
    values = {"unit_id": listing.unit.id, "days": listing.days, "top": limit, "computed_at": listing.computed_at,
              "payload": listing.payload()}
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(T)
    update = {"computed_at": ins.excluded.computed_at, "payload": ins.excluded.payload}
    if requested_at is not None:
        update["requested_at"] = ins.excluded.requested_at
    session.execute(ins.values(**values, requested_at=requested_at or listing.computed_at)
                    .on_conflict_do_update(index_elements=["unit_id", "days", "top"], set_=update))


def refresh(now: datetime) -> tuple[int, int]:
    """Recompute the lists asked for in the last day that are past half their age; drop the ones
    nobody asked for in a week. Each list in its own transaction. Returns (refreshed, dropped)."""
    age = max_age()
    if age <= 0:
        return 0, 0
    with transaction() as s:
        dropped = s.execute(delete(T).where(T.c.requested_at < now - FORGOTTEN)).rowcount or 0
        due = s.execute(select(T.c.unit_id, T.c.days, T.c.top).where(
            T.c.requested_at >= now - RECENT, T.c.computed_at < now - timedelta(seconds=age / 2))).all()
    units = directory().by_id
    refreshed = 0
    for unit_id, days, top in due:
        unit = units.get(unit_id)
        if unit is None:
            continue
        try:
            with transaction():
                store(compute(unit, days, top, now), top)
            refreshed += 1
        except Exception:  # noqa: BLE001 - one list failing must not stop the others
            log.exception("hot spots of %s over %s days not refreshed", unit.code, days)
    return refreshed, dropped
