"""Keeps ``case_facts`` and ``kpi_rollups`` exact, in the same transaction as the change.

One central hook, not calls sprinkled over the operations: every change of a case or its tasks
either goes through the ORM (a new or changed ``Case``/``Task`` object) or appends an audit event
naming the case (intake, task completion, claims, extensions, park, merge, timers, migration,
repair…: the audit trail is the product's rule for every change of state). The session collects
those case ids as they pass; just before the commit it flushes, recomputes the facts of each
changed case once from its row, its task rows and its audit events
(:func:`app.kpis.facts.case_facts`), diffs them against the stored rows, writes the difference
and adds it to the roll-ups. A rolled-back transaction rolls all of it back.

Roll-up rows are upserted in one fixed order (fact, day, unit), so two transactions
that touch the same rows on PostgreSQL wait for each other instead of deadlocking.
"""
from __future__ import annotations

import functools
import json
from collections import defaultdict, namedtuple
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.core.audit import CREATED_CASES, WRITTEN_CASES, AuditEvent, write_pending
from app.core.db import SessionFactory
from app.kpis.facts import CALLBACK_STAGE, EVENT_ACTIONS, HANDLE_STAGE, Fact, case_facts
from app.kpis.models import CaseFact, KpiRollup
from app.orgs.models import OrgUnit
from app.tasks.models import Task

CHANGED = "tongguan_kpi_changed_cases"
DISABLED = "tongguan_kpi_disabled"  # bulk loaders that rebuild afterwards (``flask kpis rebuild``)
FACTS_T = CaseFact.__table__
ROLLUPS_T = KpiRollup.__table__
CASES_T = Case.__table__
TASKS_T = Task.__table__
EVENTS_T = AuditEvent.__table__
TASK_COLUMNS = (TASKS_T.c.id, TASKS_T.c.case_id, TASKS_T.c.stage, TASKS_T.c.state, TASKS_T.c.org_unit_id,
                TASKS_T.c.created_at, TASKS_T.c.due_at, TASKS_T.c.claimed_at, TASKS_T.c.completed_at,
                TASKS_T.c.extension_minutes)
CASE_COLUMNS = tuple(CASES_T.c[name] for name in (
    "id", "status", "channel", "category_code", "tier", "grid_unit_id", "handling_unit_id", "created_at", "closed_at",
    "parked_at", "merged_into_id", "merged_at", "rework_count", "reopen_count"))
EVENT_COLUMNS = (EVENTS_T.c.id, EVENTS_T.c.case_id, EVENTS_T.c.task_id, EVENTS_T.c.action, EVENTS_T.c.at,
                 EVENTS_T.c.detail)
FACT_COLUMNS = ("day", "at", "unit_path", "area_path", "channel", "category", "tier", "value")
NEW = "tongguan_kpi_new_cases"  # cases inserted by this transaction: they have no stored facts to read
# built once: a statement made afresh on every commit costs more than running it
_IDS = bindparam("ids", expanding=True)
# a case and its tasks in one statement (a row a task; a case without tasks once, its task columns NULL)
READ_CASES_TASKS = (select(*CASE_COLUMNS, *(c.label(f"task_{c.name}") for c in TASK_COLUMNS))
                    .select_from(CASES_T.outerjoin(TASKS_T, TASKS_T.c.case_id == CASES_T.c.id))
                    .where(CASES_T.c.id.in_(_IDS)))
CaseRow = namedtuple("CaseRow", [c.name for c in CASE_COLUMNS])  # type: ignore[misc]
TaskRow = namedtuple("TaskRow", [c.name for c in TASK_COLUMNS])  # type: ignore[misc]
READ_EVENTS = (select(*EVENT_COLUMNS).where(EVENTS_T.c.case_id.in_(_IDS), EVENTS_T.c.action.in_(EVENT_ACTIONS))
               .order_by(EVENTS_T.c.id))
READ_FACTS = select(FACTS_T).where(FACTS_T.c.case_id.in_(_IDS))
DROP_FACT = delete(FACTS_T).where(FACTS_T.c.case_id == bindparam("c"), FACTS_T.c.fact == bindparam("f"))
INSERT_FACTS = insert(FACTS_T)


def changed(s: Session, case_ids: Iterable[int | None]) -> None:
    """Mark cases whose facts must be recomputed before this transaction commits."""
    bucket = s.info.setdefault(CHANGED, set())
    bucket.update(i for i in case_ids if i is not None)


# ---------------------------------------------------------------------------- the session hook

@event.listens_for(SessionFactory, "after_flush")
def _collect_after_flush(s: Session, _ctx: Any) -> None:
    """ORM changes of cases and tasks (Core statements are seen through their audit events)."""
    if s.info.get(DISABLED):
        return
    ids: list[int | None] = []
    for obj in (*s.new, *s.dirty, *s.deleted):
        if isinstance(obj, Case):
            ids.append(obj.id)
        elif isinstance(obj, Task):
            ids.append(obj.case_id)
    changed(s, ids)
    s.info.setdefault(NEW, set()).update(obj.id for obj in s.new if isinstance(obj, Case))


def _before_commit(s: Session) -> None:
    if s.info.get(DISABLED):
        return
    s.flush()  # ORM changes are in the database before the facts read them
    write_pending(s)  # and so are the pending audit events (their case ids are collected on writing)
    ids = s.info.pop(CHANGED, set()) | s.info.pop(WRITTEN_CASES, set())
    if ids:
        recompute(s, sorted(ids), fresh=s.info.pop(NEW, set()) | s.info.pop(CREATED_CASES, set()))


# before the audit trail's own before_commit listener (which has nothing left to write then)
event.listen(SessionFactory, "before_commit", _before_commit, insert=True)


@event.listens_for(SessionFactory, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(CHANGED, None)
    s.info.pop(NEW, None)


@event.listens_for(SessionFactory, "after_commit")
def _after_commit(s: Session) -> None:
    s.info.pop(CHANGED, None)
    s.info.pop(WRITTEN_CASES, None)
    s.info.pop(CREATED_CASES, None)
    s.info.pop(NEW, None)


# ---------------------------------------------------------------------------- recompute and apply

def unit_paths(s: Session) -> dict[int, str]:
    """Unit paths by id, read from the database (a rebuild: the directory cache may be older)."""
    return {row.id: row.path for row in s.execute(select(OrgUnit.id, OrgUnit.path))}


_paths_of: tuple[Any, dict[int, str]] | None = None


def _cached_paths() -> dict[int, str]:
    """Unit paths by id from the org directory's cache, rebuilt when the directory is."""
    global _paths_of
    from app.orgs.directory import directory
    current = directory()
    if _paths_of is None or _paths_of[0] is not current:
        _paths_of = (current, {u.id: u.path for u in current.by_id.values()})
    return _paths_of[1]


def _calendar_minutes() -> Any:
    from app.sla.service import current_calendar
    return current_calendar().working_minutes_between


def compute(s: Session, case_ids: list[int], paths: dict[int, str] | None = None,
            minutes: Any = None) -> dict[int, list[Fact]]:
    """The facts of these cases as they are now, read in one or two queries."""
    paths = paths if paths is not None else _cached_paths()
    minutes = minutes or _calendar_minutes()
    conn = s.connection()  # Core statements on the session's connection: no ORM execution layer to pass
    cases: dict[int, Any] = {}
    tasks: dict[int, list[Any]] = defaultdict(list)
    n = len(CASE_COLUMNS)
    for row in conn.execute(READ_CASES_TASKS, {"ids": case_ids}):
        if row[0] not in cases:
            cases[row[0]] = CaseRow(*row[:n])
        if row[n] is not None:
            tasks[row[0]].append(TaskRow(*row[n:]))
    events: dict[int, list[Any]] = defaultdict(list)
    # the events only matter once a case has reached handling or a call-back (not at intake)
    staged = sorted({cid for cid, ts in tasks.items() if any(t.stage in (HANDLE_STAGE, CALLBACK_STAGE) for t in ts)})
    if staged:
        for e in conn.execute(READ_EVENTS, {"ids": staged}):
            events[e.case_id].append(e)
    used = {u for c in cases.values() for u in (c.handling_unit_id, c.grid_unit_id) if u is not None} | \
        {t.org_unit_id for ts in tasks.values() for t in ts}
    if not used <= paths.keys():  # a unit newer than the directory's cache
        paths = unit_paths(s)
    return {c.id: case_facts(c, tasks[c.id], events[c.id], paths, minutes) for c in cases.values()}


def recompute(s: Session, case_ids: list[int], fresh: set[int] | frozenset[int] = frozenset()) -> int:
    """Bring the stored facts and roll-ups of these cases up to date; returns how many rows changed.
    ``fresh``: cases this transaction inserted, whose stored facts need no reading (there are none)."""
    total = 0
    for start in range(0, len(case_ids), 500):
        batch = case_ids[start:start + 500]
        total += apply(s, batch, compute(s, batch), fresh)
    return total


def forget(s: Session, case_ids: list[int]) -> int:
    """Remove the facts of these cases and take them out of the roll-ups, before the cases are
    deleted (the product never deletes a case; tests and clean-ups of hand-made rows do)."""
    return apply(s, case_ids, {})


def _row(case_id: int, f: Fact) -> dict[str, Any]:
    return {"case_id": case_id, "fact": f.fact, "day": f.day, "at": f.at, "unit_path": f.unit_path,
            "area_path": f.area_path, "channel": f.channel, "category": f.category, "tier": f.tier,
            "value": f.value, "why": json.dumps(f.why, ensure_ascii=False, default=str)}


def apply(s: Session, case_ids: list[int], facts: dict[int, list[Fact]],
          fresh: set[int] | frozenset[int] = frozenset()) -> int:
    """Diff ``facts`` against the stored rows of ``case_ids`` and write the difference (the stored
    rows of ``fresh`` cases are not read: a case inserted by this transaction has none)."""
    stored: dict[tuple[int, str], Any] = {}
    conn = s.connection()
    old = [i for i in case_ids if i not in fresh]
    if old:
        for r in conn.execute(READ_FACTS, {"ids": old}):
            stored[(r.case_id, r.fact)] = r
    wanted = {(cid, f.fact): f for cid, fs in facts.items() for f in fs}
    deltas: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0])
    removed: list[tuple[int, str]] = []
    added: list[dict[str, Any]] = []
    for key, row in stored.items():
        f = wanted.get(key)
        old = (row.day, row.at, row.unit_path, row.area_path, row.channel, row.category, row.tier,
               round(row.value or 0.0, 3))
        if f is not None and f.key() == old and _same_why(row.why, f):
            continue
        removed.append(key)
        d = deltas[(row.fact, row.day, row.unit_path)]
        d[0] -= 1
        d[1] -= row.value or 0.0
    for key, f in wanted.items():
        row = stored.get(key)
        if row is not None and key not in removed:
            continue
        added.append(_row(key[0], f))
        d = deltas[(f.fact, f.day, f.unit_path)]
        d[0] += 1
        d[1] += f.value
    if removed:
        conn.execute(DROP_FACT, [{"c": c, "f": f} for c, f in removed])
    if added:
        conn.execute(INSERT_FACTS, added)
    add_to_rollups(s, deltas)
    return len(removed) + len(added)


def _same_why(stored: str | None, f: Fact) -> bool:
    return stored == json.dumps(f.why, ensure_ascii=False, default=str)


def add_to_rollups(s: Session, deltas: dict[tuple[Any, ...], list[float]]) -> None:
    """Add (count, sum) deltas to the roll-up rows, in key order (no deadlock between writers)."""
    rows = [{"fact": k[0], "day": k[1], "unit_path": k[2], "count": int(v[0]), "total": v[1]}
            for k, v in sorted(deltas.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))
            if v[0] != 0 or abs(v[1]) > 1e-9]
    if not rows:
        return
    conn = s.connection()
    # executemany, in the sorted order: each row is its own upsert (one multi-row VALUES upsert
    # could not be relied on to lock in this order)
    conn.execute(_upsert(conn.dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT (fact, day, unit) DO UPDATE count + n, total + x: built once a dialect."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ROLLUPS_T)
    return ins.on_conflict_do_update(
        index_elements=["fact", "day", "unit_path"],
        set_={"count": ROLLUPS_T.c.count + ins.excluded.count, "total": ROLLUPS_T.c.total + ins.excluded.total})
