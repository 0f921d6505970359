"""Recompute the cockpit's roll-up from the cases, and rebuild it.

The triggers on ``cases`` keep ``cockpit_daily_counts`` exact as cases change; :func:`recompute`
counts the same rows again from the cases themselves, independently of the triggers, in Python
over one pass of the cases (the org tree from the in-memory directory). ``flask cockpit rebuild``
replaces the table with it (after moving org units, or to check: ``flask cockpit check``).
"""
from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import delete, insert, select

from app.cases.models import LOCAL_TZ, Case
from app.cockpit.models import CockpitDailyCount
from app.core.db import session
from app.orgs.directory import directory

Key = tuple[int, str, date, str]
CASES, COUNTS = Case.__table__, CockpitDailyCount.__table__


def _ancestors() -> tuple[dict[int, set[int]], set[int]]:
    """Each unit's id → the ids of itself and the units above it; and the roots' ids."""
    units = directory().by_code.values()
    by_path = {u.path: u.id for u in units}
    out: dict[int, set[int]] = {}
    for u in units:
        parts = [p for p in u.path.split("/") if p]
        out[u.id] = {by_path[p] for p in ("/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1))
                     if p in by_path}
    return out, {u.id for u in units if u.parent_code is None}


def recompute() -> Counter[Key]:
    """The roll-up as the cases stand now: (unit id, measure, local day, key) → cases."""
    above, roots = _ancestors()
    counts: Counter[Key] = Counter()
    query = select(CASES.c.created_at, CASES.c.channel, CASES.c.category_code, CASES.c.grid_unit_id,
                   CASES.c.handling_unit_id, CASES.c.status, CASES.c.closed_at)
    for created, channel, category, grid, handling, status, closed in session.execute(
            query.execution_options(yield_per=20_000)):
        units = set(roots)
        for unit_id in (grid, handling):
            if unit_id is not None:
                units |= above.get(unit_id, set())
        day = created.astimezone(LOCAL_TZ).date()
        closed_day = closed.astimezone(LOCAL_TZ).date() if status == "closed" and closed is not None else None
        for unit_id in units:
            counts[(unit_id, "channel", day, channel)] += 1
            counts[(unit_id, "category", day, category or "")] += 1
            if closed_day is not None:
                counts[(unit_id, "closed", closed_day, "")] += 1
    return counts


def stored() -> Counter[Key]:
    """The roll-up as the table holds it (rows at 0 left out)."""
    rows = session.execute(select(COUNTS.c.unit_id, COUNTS.c.measure, COUNTS.c.day, COUNTS.c.key, COUNTS.c.n)
                           .where(COUNTS.c.n != 0))
    return Counter({(u, m, d, k): n for u, m, d, k, n in rows})


def differences(limit: int = 20) -> list[tuple[Key, int, int]]:
    """Rows where the table and a recompute disagree: (key, stored, recomputed), at most ``limit``."""
    have, want = stored(), recompute()
    out = [(k, have.get(k, 0), want.get(k, 0)) for k in sorted(set(have) | set(want)) if have.get(k, 0) != want.get(k, 0)]
    return out[:limit]


def rebuild() -> int:
    """Replace the roll-up with a recompute (inside the caller's transaction); returns the rows written."""
    counts = recompute()
    session.execute(delete(COUNTS))
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # COPY: an executemany would be a round trip a row
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy("COPY cockpit_daily_counts (unit_id, measure, day, key, n) FROM STDIN") as copy:
            for (u, m, d, k), n in counts.items():
                copy.write_row((u, m, d, k, n))
    else:
        rows = [{"unit_id": u, "measure": m, "day": d, "key": k, "n": n} for (u, m, d, k), n in counts.items()]
        for start in range(0, len(rows), 50_000):
            connection.execute(insert(COUNTS), rows[start:start + 50_000])
    return len(counts)
