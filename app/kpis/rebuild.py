"""Recompute every case's facts and the roll-ups from the case history (``flask kpis rebuild``).

For a database upgraded to the KPI tables, and for benchmarks that load cases straight into the
tables. Cases are read in id batches; their facts are written in bulk (PostgreSQL's COPY); the
roll-ups are summed from the facts at the end in one ``INSERT … SELECT``. Run it while nothing
else writes cases (after an upgrade, before the service starts): a case changed during the
rebuild may be counted before or after its change. :func:`differences` checks that the stored
facts and roll-ups equal a recompute from scratch, without writing.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, text

from app.core.db import session
from app.kpis.facts import Fact
from app.kpis.models import CaseFact, KpiRollup
from app.kpis.recorder import CASES_T, FACTS_T, ROLLUPS_T, _calendar_minutes, _row, compute, unit_paths


@dataclass
class Rebuilt:
    cases: int
    facts: int
    rollups: int
    seconds: float


def _write_facts(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(FACTS_T), rows)
        return
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY case_facts ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def rebuild(batch: int = 5000, progress: Callable[[int, int], None] | None = None) -> Rebuilt:
    """Drop every stored fact and roll-up and compute them again; commits once per batch."""
    t0 = time.perf_counter()
    session.execute(delete(ROLLUPS_T))
    session.execute(delete(FACTS_T))
    session.commit()
    paths = unit_paths(session())
    minutes = _calendar_minutes()
    total = session.scalar(select(func.count()).select_from(CASES_T)) or 0
    last, done, facts = 0, 0, 0
    while True:
        ids = list(session.scalars(select(CASES_T.c.id).where(CASES_T.c.id > last).order_by(CASES_T.c.id).limit(batch)))
        if not ids:
            break
        rows = [_row(cid, f) for cid, fs in compute(session(), ids, paths, minutes).items() for f in fs]
        _write_facts(rows)
        session.commit()
        last, done, facts = ids[-1], done + len(ids), facts + len(rows)
        if progress:
            progress(done, total)
    session.execute(insert(ROLLUPS_T).from_select(
        ["fact", "day", "unit_path", "count", "total"],
        select(FACTS_T.c.fact, FACTS_T.c.day, FACTS_T.c.unit_path, func.count(),
               func.coalesce(func.sum(FACTS_T.c.value), 0.0))
        .group_by(FACTS_T.c.fact, FACTS_T.c.day, FACTS_T.c.unit_path)))
    rollups = session.scalar(select(func.count()).select_from(ROLLUPS_T)) or 0
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE case_facts"))
        session.execute(text("ANALYZE kpi_rollups"))
        session.commit()
    return Rebuilt(done, facts, rollups, time.perf_counter() - t0)


def differences(batch: int = 2000, limit: int = 20) -> list[str]:
    """What the stored facts and roll-ups get wrong against a recompute from scratch (empty: exact)."""
    problems: list[str] = []
    paths = unit_paths(session())
    minutes = _calendar_minutes()
    expected_rollups: Counter[tuple[Any, ...]] = Counter()
    expected_totals: Counter[tuple[Any, ...]] = Counter()
    last = 0
    while len(problems) < limit:
        ids = list(session.scalars(select(CASES_T.c.id).where(CASES_T.c.id > last).order_by(CASES_T.c.id).limit(batch)))
        if not ids:
            break
        last = ids[-1]
        wanted: dict[tuple[int, str], Fact] = {(cid, f.fact): f for cid, fs in
                                                compute(session(), ids, paths, minutes).items() for f in fs}
        stored = {(r.case_id, r.fact): r for r in session.execute(select(FACTS_T).where(FACTS_T.c.case_id.in_(ids)))}
        for key in sorted(set(wanted) | set(stored)):
            f, r = wanted.get(key), stored.get(key)
            if f is None:
                problems.append(f"case {key[0]}: stored fact {key[1]} no longer holds")
            elif r is None:
                problems.append(f"case {key[0]}: fact {key[1]} is missing")
            elif f.key() != (r.day, r.at, r.unit_path, r.area_path, r.channel, r.category, r.tier,
                             round(r.value or 0.0, 3)) or json.dumps(f.why, ensure_ascii=False, default=str) != r.why:
                problems.append(f"case {key[0]}: fact {key[1]} stored as {r.day} {r.unit_path}, expected {f.day} {f.unit_path}")
        for f in wanted.values():
            expected_rollups[(f.fact, f.day, f.unit_path)] += 1
            expected_totals[(f.fact, f.day, f.unit_path)] += f.value
    if problems:
        return problems[:limit]
    for r in session.execute(select(KpiRollup.fact, KpiRollup.day, KpiRollup.unit_path, KpiRollup.count,
                                    KpiRollup.total)):
        key = (r.fact, r.day, r.unit_path)
        want, want_total = expected_rollups.pop(key, 0), expected_totals.pop(key, 0.0)
        if r.count != want or abs((r.total or 0.0) - want_total) > 1e-6:
            problems.append(f"roll-up {key}: stored {r.count} / {r.total}, expected {want} / {want_total}")
    for key, want in expected_rollups.items():
        if want:
            problems.append(f"roll-up {key}: missing, expected {want}")
    return problems[:limit]


__all__ = ["Rebuilt", "rebuild", "differences", "CaseFact"]
