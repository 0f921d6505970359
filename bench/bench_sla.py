#!/usr/bin/env python
"""Timers and lights at scale (issue 3): the BPMN timer sweep over 100,000 open cases, and the
red/yellow/green lights of inbox pages and of the supervisor's console.

Measures, per database (SQLite by default; PostgreSQL with --database-url or --both):

  1. timers   100,000 open cases, 1,000 of them due. One in-process sweep(now=...) fires them all:
              seconds, ms per case, SQL statements and DB time per case. The plan of the due-case
              query (app.engine.timers.due_statement) must read ix_workflow_instances_next_timer
              and examine about as many rows as are due, not all cases: SQLite EXPLAIN QUERY PLAN,
              PostgreSQL EXPLAIN (ANALYZE, BUFFERS), for the first batch and for an idle sweep with
              nothing due, with the query's time against a forced full scan;
              where the sweep's time goes per case. On PostgreSQL the same sweep also runs as two
              `flask scheduler sweep` processes at once on a copy of the database (CREATE DATABASE
              ... TEMPLATE): wall time, and a check that each of the 1,000 cases fired exactly once
              (one task_reminded and one case_supervised audit row, one reminder notification per
              case).
  2. lights   10,000 open tasks under demo_supervisor among 100,000 cases, deadlines spread so
              that all three lights occur: p50/p95 of GET /api/v1/supervision (counts by light and
              the 50 most urgent tasks) and ?light=red, and of inbox pages
              GET /api/v1/tasks?scope=claimable&limit=50 with and without light=, for two users,
              over >= 200 requests each after warm-up, in-process through the Flask test client
              with a bearer token (no HTTP server: the product clock is fixed in this process).
              The plan of the console's count-by-light query is printed, and the median time of
              each of the console's SQL statements.                          (goal p95 <= 50 ms)

The data. Every database is new (SQLite: files in a temporary folder; PostgreSQL: scratch
databases tongguan_bench_<pid>_* created on the server of the URL and dropped at the end) and set
up through the real CLI (db upgrade, demo load, processes deploy). The product clock is fixed
(app.core.clock), so deadlines and timers are exact without sleeping:

  * template cases: real cases made with the real operations (create_case, claim_task,
    complete_task) at 2026-12-02 09:00 +08:00, stopped at each step (file_case, triage,
    handle_case unclaimed and claimed, report_back, ...; closed and rejected for the lights);
  * bulk copies of the templates' rows made with INSERT ... SELECT through a mapping table: cases,
    workflow_instances (same state text), tasks and audit_events, with new times: for the timers
    the copies' next_timer_at lies after the sweep moment (NULL where the template has no timer);
    for the lights each open copy's due_at / yellow_at are drawn around the measuring moment
    (red 20 %, yellow 20 %, green 60 %; 1 % parked);
  * the 1,000 due cases are real: created at 2026-12-01 08:30 +08:00, filed, dispatched by the
    district dispatcher to one of the 12 district departments with a limit of 1h, 2h or 4h, and
    signed for by that department's handler at 09:00, which arms the yellow reminder and the red
    supervision timers on handle_case. They are made last, so they hold the highest ids.
    The sweep runs at 2026-12-01 18:00 +08:00, after both timers of every one of them.

Run from the repository root with the project's virtualenv, e.g.::

    .venv/bin/python bench/bench_sla.py                       # SQLite
    .venv/bin/python bench/bench_sla.py --both                # SQLite, then PostgreSQL
    .venv/bin/python bench/bench_sla.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_sla.py --quick               # smoke run: 5,000 cases, 100 due, 1,000 tasks
    .venv/bin/python bench/bench_sla.py --parts lights --profile   # and where a request's time goes

It takes about 5 minutes on SQLite and 7 on PostgreSQL on 2 cores (most of it making the 1,000
real cases and copying 100,000 cases twice; the SQLite files are about 6 GB each); --quick about 1.
Results are printed as a table and written to bench/results/sla-<timestamp>.json.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import platform
import pstats
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_api as B  # noqa: E402  (shared helpers: databases, set-up, statistics, machine check)
from bench_api import BenchError, log, med, pct  # noqa: E402

ROOT = B.ROOT
RESULTS_DIR = B.RESULTS_DIR
GOALS = {"light_p95_ms": 50.0}

CST = timezone(timedelta(hours=8))
T_TEMPLATES = datetime(2026, 12, 2, 9, 0, tzinfo=CST)  # Wednesday: template cases (their timers lie after the sweep)
T_FILED = datetime(2026, 12, 1, 8, 30, tzinfo=CST)  # Tuesday: the due cases are created, filed, dispatched
T_CLAIMED = datetime(2026, 12, 1, 9, 0, tzinfo=CST)  # ... and signed for (the clock of handle_case starts)
T_SWEEP = datetime(2026, 12, 1, 18, 0, tzinfo=CST)  # after the red timer of every due case
T_LIGHTS = datetime(2026, 12, 1, 15, 0, tzinfo=CST)  # the moment the lights are measured at
T_IDLE = datetime(2026, 11, 30, 9, 0, tzinfo=CST)  # nothing is due yet: what every idle sweep costs
DUE_LIMITS = ("1h", "2h", "4h")
DEPT_TYPES = ("sz", "jt", "hw", "yl", "cg", "zj")
DISTRICT_COMMUNITIES = {"d1": ["d1-s1-c1", "d1-s1-c2", "d1-s2-c1", "d1-s2-c2"],
                        "d2": ["d2-s1-c1", "d2-s1-c2", "d2-s2-c1", "d2-s2-c2"]}

# the share of each open template kind among the copies
TIMER_MIX = {"file": 0.10, "triage": 0.10, "handle": 0.20, "handle_claimed": 0.45, "report": 0.15}
LIGHT_MIX = {"file": 0.10, "triage": 0.15, "handle": 0.20, "handle_claimed": 0.25, "report": 0.10,
             "inspect": 0.10, "callback": 0.10}
LIGHT_SHARES = {"red": 0.20, "yellow": 0.20, "green": 0.60}
PARKED_SHARE = 0.01
STOP_AT = {"file": "file_case", "triage": "triage", "handle": "handle_case", "handle_claimed": "handle_case",
           "report": "report_back", "inspect": "inspect_case", "callback": "callback_case",
           "closed": None, "rejected": None}

STEP_DATA: dict[str, dict[str, Any]] = {
    "verify_on_site": {"confirmed": True},
    "handle_case": {"handling_notes": "已处理"},
    "cohandle_case": {"cohandling_notes": "已配合处置"},
    "report_back": {"result": "resolved", "result_notes": "已处理完毕"},
    "inspect_case": {"passed": True},
    "callback_case": {"satisfied": True, "reached": True, "score": 5},
}


# ============================================================================ small helpers

def at_iso(moment: datetime) -> str:
    return moment.isoformat()


def chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


class SqlMeter:
    """Counts SQL statements and the time spent inside the driver; can keep the statements."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event
        self.engine, self.event = engine, event
        self.count, self.seconds = 0, 0.0
        self.capture: list[tuple[str, Any, float]] | None = None
        self._t0: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        self._t0.append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        dt = time.perf_counter() - self._t0.pop()
        self.count += 1
        self.seconds += dt
        if self.capture is not None:
            self.capture.append((statement, params, dt))

    def reset(self) -> tuple[int, float]:
        out = (self.count, self.seconds)
        self.count, self.seconds = 0, 0.0
        return out

    def close(self) -> None:
        self.event.remove(self.engine, "before_cursor_execute", self._before)
        self.event.remove(self.engine, "after_cursor_execute", self._after)


def make_app(db: B.Database) -> Any:
    """The real application on ``db``, without an active context (requests get their own, as served)."""
    from app import create_app
    app = create_app({"ENV": "development", "DATABASE_URL": db.url, "SECRET_KEY": B.SECRET_KEY})
    logging.getLogger().setLevel(logging.WARNING)
    return app


def clone_pg(dbs: B.Databases, src: B.Database, name: str) -> B.Database:
    """A copy of a scratch PostgreSQL database, dropped with the others."""
    db = dbs._new_pg(name, template=src.label)
    dbs.made.append(db)
    return db


def explain(conn: Any, statement: str, params: Any) -> str:
    """The plan of a statement as the driver received it (SQLite: EXPLAIN QUERY PLAN; PostgreSQL:
    EXPLAIN (ANALYZE, BUFFERS), executed in the caller's transaction)."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        return "\n".join(f"{'  ' * B._depth(rows, r)}{r[3]}" for r in rows)
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
    return "\n".join(r[0] for r in rows)


def db_size_mb(conn: Any, db: B.Database) -> float:
    from sqlalchemy import text
    if db.kind == "sqlite":
        path = Path(db.label)
        return round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)
    return round(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() / 2**20, 1)


def analyze(engine: Any, dialect: str) -> float:
    from sqlalchemy import text
    t0 = time.perf_counter()
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


# ============================================================================ real cases, driven by the real operations

@dataclass
class Drive:
    """One real case to walk through the process: where it is, where it should stop."""

    case_id: int
    grid: str
    dept: str
    limit: str
    stop: str | None  # bpmn id of the user task to stop at; None: to the end
    claim_stop: bool = False
    reject: bool = False
    kind: str = ""


class Walker:
    """Creates real cases and moves them step by step with create_case / claim_task / complete_task."""

    def __init__(self, seed: int, per_tx: int = 50) -> None:
        self.rng = random.Random(seed)
        self.per_tx = per_tx
        self._people: dict[str, Any] = {}
        self._form_fields: dict[str, set[str]] = {}

    def who(self, username: str) -> Any:
        if username not in self._people:
            self._people[username] = B.principal(username)
        return self._people[username]

    def create(self, specs: list[tuple[str, str]], prefix: str) -> list[int]:
        """Real cases for (channel, grid) pairs, ``per_tx`` to a transaction; returns their ids."""
        from app.cases.operations import create_case
        from app.core.db import session, transaction
        op = self.who("demo_operator")
        ids: list[int] = []
        for n, chunk in enumerate(chunks(specs, self.per_tx)):
            with transaction():
                for i, (channel, grid) in enumerate(chunk):
                    k = n * self.per_tx + i
                    data = dict(B.CASE_TEXT, channel=channel, external_id=f"{prefix}-{k}",
                                title=f"{B.CASE_TEXT['title']} #{prefix}-{k}", grid_unit=grid, urgency="normal",
                                lat=None, lng=None)
                    case, _created, _started = create_case(data, op)
                    ids.append(case.id)
            session.remove()
        return ids

    def _data(self, bpmn_id: str, d: Drive) -> dict[str, Any]:
        if bpmn_id == "file_case":
            if d.reject:
                return {"decision": "reject", "reject_reason": "不属于受理范围"}
            return {"decision": "file", "grid_unit": d.grid, "urgency": "normal"}
        if bpmn_id == "triage":
            return {"decision": "dispatch", "lead_unit": d.dept, "co_units": [], "handling_limit": d.limit}
        if bpmn_id not in STEP_DATA:
            raise BenchError(f"case {d.case_id}: no form data known for step {bpmn_id!r} (process changed?)")
        return dict(STEP_DATA[bpmn_id])

    def _claimer(self, task: Any, cands: list[str]) -> Any:
        if not cands:
            raise BenchError(f"task {task.id} ({task.bpmn_id} at {task.unit_path}): nobody may claim it")
        # the most local holder of the role if there is one (a department's own handler, a
        # district's dispatcher), else any; deterministic per task
        local = [c for c in cands if not c.startswith(("demo_", "dispatcher_2", "operator_2"))]
        pool = sorted(local or cands)
        return self.who(pool[task.id % len(pool)])

    def drive(self, plan: list[Drive], max_rounds: int = 15) -> None:
        """Claim and complete each case's open task until it reaches its stop (or its end)."""
        from sqlalchemy import select
        from app.core.db import session, transaction
        from app.tasks import operations as task_ops
        from app.tasks.models import Task
        from app.tasks.queries import candidates
        pending = list(plan)
        for _round in range(max_rounds):
            if not pending:
                return
            still: list[Drive] = []
            for chunk in chunks(pending, self.per_tx):
                with transaction():
                    rows = session.scalars(select(Task).where(Task.case_id.in_([d.case_id for d in chunk]),
                                                              Task.state == "open").order_by(Task.id)).all()
                    by_case: dict[int, list[Any]] = defaultdict(list)
                    for t in rows:
                        by_case[t.case_id].append(t)
                    cands = candidates(list(rows))
                    for d in chunk:
                        open_tasks = by_case.get(d.case_id, [])
                        if not open_tasks:
                            if d.stop is not None:
                                raise BenchError(f"case {d.case_id} ended before reaching {d.stop}")
                            continue
                        t = open_tasks[0]
                        if t.bpmn_id == d.stop:
                            if d.claim_stop and t.claimed_by_id is None:
                                task_ops.claim_task(t, self._claimer(t, cands[t.id]))
                            continue
                        who = self._claimer(t, cands[t.id])
                        if t.bpmn_id not in self._form_fields:
                            self._form_fields[t.bpmn_id] = set(task_ops.task_form(t).get("properties", {}))
                        if t.claimed_by_id is None:
                            task_ops.claim_task(t, who)
                        task_ops.complete_task(t, who, self._data(t.bpmn_id, d), photos=B.step_photos(t))
                        still.append(d)
                session.remove()
            pending = still
        if pending:
            raise BenchError(f"{len(pending)} case(s) did not reach their step after {max_rounds} rounds, "
                             f"e.g. case {pending[0].case_id} → {pending[0].stop}")


def department_targets() -> list[tuple[str, str]]:
    """(district department, a community of its district) pairs: 12 departments."""
    out = []
    for district, communities in DISTRICT_COMMUNITIES.items():
        for i, dtype in enumerate(DEPT_TYPES):
            out.append((f"{district}-{dtype}", communities[i % len(communities)]))
    return out


def build_templates(kinds: list[str], replicas: int, seed: int) -> dict[str, list[int]]:
    """Real cases stopped at each step of ``kinds``, spread over departments and communities."""
    from app.core import clock
    walker = Walker(seed)
    rng = random.Random(seed)
    clock.set_now(T_TEMPLATES)
    try:
        specs: list[tuple[str, str]] = []
        drives: list[Drive] = []
        targets = department_targets()
        for kind in kinds:
            n = len(targets) * replicas if kind not in ("file", "triage", "rejected") else 8 * replicas
            for i in range(n):
                dept, grid = targets[i % len(targets)]
                if kind in ("file", "triage", "rejected"):
                    grid = B.COMMUNITIES[i % len(B.COMMUNITIES)]
                    dept = f"{grid.split('-')[0]}-{DEPT_TYPES[i % len(DEPT_TYPES)]}"
                specs.append(("grid", grid))
                drives.append(Drive(0, grid, dept, rng.choice(["4h", "8h", "1d", "3d"]), STOP_AT[kind],
                                    claim_stop=kind == "handle_claimed", reject=kind == "rejected", kind=kind))
        ids = walker.create(specs, f"tpl{time.time_ns()}")
        for d, cid in zip(drives, ids):
            d.case_id = cid
        walker.drive(drives)
    finally:
        clock.set_now(None)
    out: dict[str, list[int]] = defaultdict(list)
    for d in drives:
        out[d.kind].append(d.case_id)
    return dict(out)


def make_due_cases(n: int, seed: int) -> tuple[list[int], float]:
    """``n`` real cases at handle_case, signed for at T_CLAIMED, so both timers are due at T_SWEEP."""
    from app.core import clock
    walker = Walker(seed + 1)
    targets = department_targets()
    t0 = time.perf_counter()
    try:
        clock.set_now(T_FILED)
        plan = [targets[i % len(targets)] for i in range(n)]
        ids = walker.create([("grid", grid) for _dept, grid in plan], f"due{time.time_ns()}")
        drives = [Drive(cid, grid, dept, DUE_LIMITS[i % len(DUE_LIMITS)], "handle_case", kind="due")
                  for i, (cid, (dept, grid)) in enumerate(zip(ids, plan))]
        walker.drive(drives)
        clock.set_now(T_CLAIMED)  # the departments sign for them: the limit's clock starts, timers are armed
        for d in drives:
            d.claim_stop = True
        walker.drive(drives)
    finally:
        clock.set_now(None)
    return ids, time.perf_counter() - t0


# ============================================================================ bulk copies

@dataclass
class Copy:
    tpl_id: int
    created_at: datetime
    due_at: datetime | None = None  # of the open task (and the case), if the template's task has one
    yellow_at: datetime | None = None
    started_at: datetime | None = None
    claimed_at: datetime | None = None
    paused_at: datetime | None = None
    next_timer_at: datetime | None = None  # if the template's workflow has a timer
    supervised_at: datetime | None = None


def template_info(ids: list[int]) -> dict[int, dict[str, Any]]:
    """For each template case: status, its open task, whether its workflow waits for a timer."""
    from sqlalchemy import select
    from app.cases.models import Case
    from app.core.db import session
    from app.engine.models import WorkflowInstance
    from app.tasks.models import Task
    info: dict[int, dict[str, Any]] = {}
    for c in session.execute(select(Case.id, Case.status, WorkflowInstance.next_timer_at)
                             .join(WorkflowInstance, WorkflowInstance.case_id == Case.id).where(Case.id.in_(ids))):
        info[c.id] = {"status": c.status, "timer": c.next_timer_at is not None, "task": None}
    for t in session.execute(select(Task.case_id, Task.bpmn_id, Task.role, Task.unit_path, Task.due_at,
                                    Task.started_at, Task.claimed_by_id)
                             .where(Task.case_id.in_(ids), Task.state == "open")):
        if info[t.case_id]["task"] is not None:
            raise BenchError(f"template case {t.case_id} has more than one open task")
        info[t.case_id]["task"] = t
    session.remove()
    return info


def timed_copy(rng: random.Random, tpl: int, info: dict[str, Any], at: datetime) -> Copy:
    """An open copy whose deadlines and timers lie after ``at`` (timers DB)."""
    span = timedelta(seconds=rng.uniform(2 * 3600, 5 * 86400))
    due = at + timedelta(seconds=rng.uniform(1800, 10 * 86400))
    yellow, started = due - span * 0.2, due - span
    created = min(started, at) - timedelta(seconds=rng.uniform(600, 2 * 86400))
    task = info["task"]
    return Copy(tpl, created, due, yellow, started if task is not None and task.started_at else None,
                started if task is not None and task.claimed_by_id else None, None,
                yellow if yellow > at else due)


def lit_copy(rng: random.Random, tpl: int, info: dict[str, Any], at: datetime, light: str) -> Copy:
    """An open copy in ``light`` at ``at`` (lights DB)."""
    span = timedelta(seconds=rng.uniform(3600, 3 * 86400))
    if light == "red":
        due = at - timedelta(seconds=rng.uniform(60, 3 * 86400))
    elif light == "yellow":
        due = at + timedelta(seconds=rng.uniform(60, max(120.0, span.total_seconds() * 0.2 - 60)))
    else:
        due = at + span * 0.2 + timedelta(seconds=rng.uniform(60, 3 * 86400))
    yellow, started = due - span * 0.2, due - span
    created = min(started, at) - timedelta(seconds=rng.uniform(600, 86400))
    task = info["task"]
    claimed = task is not None and task.claimed_by_id is not None
    paused = at - timedelta(seconds=rng.uniform(3600, 2 * 86400)) if rng.random() < PARKED_SHARE else None
    if paused is not None and paused < created:
        paused = None
    supervised = due if light == "red" and task is not None and task.bpmn_id == "handle_case" and claimed else None
    nxt = yellow if yellow > at else (due if due > at else None)
    return Copy(tpl, created, due, yellow, started if task is not None and task.started_at else None,
                max(started, created) if claimed else None, paused, nxt, supervised)


def closed_copy(rng: random.Random, tpl: int, at: datetime) -> Copy:
    return Copy(tpl, at - timedelta(seconds=rng.uniform(10 * 86400, 365 * 86400)))


def copy_cases(copies: list[Copy]) -> dict[str, Any]:
    """Insert the copies with INSERT ... SELECT from the templates' rows, in id order."""
    from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, text
    from app.cases.models import Case
    from app.core.db import UTCDateTime, session, transaction
    from app.tasks.models import Task
    with transaction():
        first_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
    session.remove()
    meta = MetaData()
    cols = ("created_at", "due_at", "yellow_at", "started_at", "claimed_at", "paused_at", "next_timer_at", "supervised_at")
    bench_map = Table("bench_map", meta, Column("new_id", Integer, primary_key=True), Column("tpl_id", Integer),
                      *(Column(c, UTCDateTime) for c in cols))
    rows = [{"new_id": first_id + k, "tpl_id": c.tpl_id, **{col: getattr(c, col) for col in cols}}
            for k, c in enumerate(copies)]
    case_cols = [c.name for c in Case.__table__.columns if c.name != "id"]
    copy_case = {c: f"c.{c}" for c in case_cols}
    copy_case.update(
        external_id="NULL", idempotency_key="NULL", created_at="m.created_at", updated_at="m.created_at",
        closed_at="CASE WHEN c.closed_at IS NULL THEN NULL ELSE m.created_at END",
        due_at="CASE WHEN c.due_at IS NULL THEN NULL ELSE m.due_at END",
        yellow_at="CASE WHEN c.yellow_at IS NULL THEN NULL ELSE m.yellow_at END",
        supervised_at="m.supervised_at", parked_at="m.paused_at",
        park_reason="CASE WHEN m.paused_at IS NULL THEN NULL ELSE '等待配件到货' END")
    task_cols = [c.name for c in Task.__table__.columns if c.name != "id"]
    copy_task = {c: f"t.{c}" for c in task_cols}

    def open_or_done(col: str) -> str:
        return (f"CASE WHEN t.{col} IS NULL THEN NULL WHEN t.state = 'open' THEN m.{col} ELSE m.created_at END")

    copy_task.update(case_id="m.new_id", created_at="m.created_at",
                     **{c: open_or_done(c) for c in ("due_at", "yellow_at", "started_at", "claimed_at")},
                     paused_at="CASE WHEN t.state = 'open' THEN m.paused_at ELSE NULL END",
                     completed_at="CASE WHEN t.completed_at IS NULL THEN NULL ELSE m.created_at END")
    statements = {
        "cases": f"INSERT INTO cases (id, {', '.join(case_cols)}) SELECT m.new_id, "
                 f"{', '.join(copy_case[c] for c in case_cols)} FROM bench_map m JOIN cases c ON c.id = m.tpl_id",
        "workflow_instances": "INSERT INTO workflow_instances (case_id, definition_id, state, version, next_timer_at, updated_at) "
                              "SELECT m.new_id, w.definition_id, w.state, w.version, "
                              "CASE WHEN w.next_timer_at IS NULL THEN NULL ELSE m.next_timer_at END, m.created_at "
                              "FROM bench_map m JOIN workflow_instances w ON w.case_id = m.tpl_id",
        "tasks": f"INSERT INTO tasks ({', '.join(task_cols)}) SELECT {', '.join(copy_task[c] for c in task_cols)} "
                 "FROM bench_map m JOIN tasks t ON t.case_id = m.tpl_id ORDER BY m.new_id, t.id",
        "audit_events": "INSERT INTO audit_events (at, actor_id, actor_name, case_id, task_id, action, detail) "
                        "SELECT m.created_at, a.actor_id, a.actor_name, m.new_id, a.task_id, a.action, a.detail "
                        "FROM bench_map m JOIN audit_events a ON a.case_id = m.tpl_id ORDER BY m.new_id, a.id",
    }
    engine = session.get_bind()
    counts: dict[str, Any] = {}
    t0 = time.perf_counter()
    with engine.begin() as conn:
        bench_map.create(conn)
        for part in chunks(rows, 20000):
            conn.execute(insert(bench_map), part)
        for table, sql in statements.items():
            t1 = time.perf_counter()
            counts[table] = conn.execute(text(sql)).rowcount
            log(f"  copied {counts[table]:,} {table} rows in {time.perf_counter() - t1:.1f} s")
        bench_map.drop(conn)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    counts["first_id"], counts["last_id"] = first_id, first_id + len(copies) - 1
    return counts


def plan_mix(mix: dict[str, float], total: int, templates: dict[str, list[int]], rng: random.Random) -> list[int]:
    """Template ids for ``total`` copies in the shares of ``mix``, shuffled."""
    out: list[int] = []
    kinds = list(mix)
    for i, kind in enumerate(kinds):
        n = total - len(out) if i == len(kinds) - 1 else int(round(total * mix[kind]))
        tpls = templates[kind]
        out += [tpls[j % len(tpls)] for j in range(n)]
    rng.shuffle(out)
    return out


# ============================================================================ 1: timers

def seed_timers(db: B.Database, args: argparse.Namespace) -> dict[str, Any]:
    """Templates, 99,000 open copies with later timers, then the 1,000 real due cases."""
    from sqlalchemy import func, select, text
    from app.cases.models import Case
    from app.core.db import session
    from app.engine.models import WorkflowInstance
    from app.tasks.models import Task
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    templates = build_templates(list(TIMER_MIX), args.template_replicas, args.seed)
    n_templates = sum(len(v) for v in templates.values())
    t_templates = time.perf_counter() - t0
    log(f"timers: {n_templates} real template cases in {t_templates:.1f} s")
    info = template_info([i for v in templates.values() for i in v])
    n_copies = args.cases - args.due - n_templates
    if n_copies < 0:
        raise BenchError("--cases is too small for the templates and --due")
    copies = [timed_copy(rng, tpl, info[tpl], T_SWEEP) for tpl in plan_mix(TIMER_MIX, n_copies, templates, rng)]
    log(f"timers: copying {n_copies:,} open cases")
    copied = copy_cases(copies)
    log(f"timers: making {args.due:,} real due cases (create, file, dispatch, sign for)")
    due_ids, t_due = make_due_cases(args.due, args.seed)
    log(f"timers: {len(due_ids):,} due cases in {t_due:.1f} s ({1000 * t_due / max(1, len(due_ids)):.1f} ms per case, "
        "6 operations each: create, claim + complete file_case and triage, claim handle_case)")
    engine = session.get_bind()
    t_analyze = analyze(engine, engine.dialect.name) if args.analyze else 0.0
    with engine.connect() as conn:
        totals = {
            "cases": conn.execute(select(func.count()).select_from(Case)).scalar(),
            "open_cases": conn.execute(select(func.count()).select_from(Case).where(Case.status == "open")).scalar(),
            "open_tasks": conn.execute(select(func.count()).select_from(Task).where(Task.state == "open")).scalar(),
            "with_timer": conn.execute(select(func.count()).select_from(WorkflowInstance)
                                       .where(WorkflowInstance.next_timer_at.is_not(None))).scalar(),
            "due_at_sweep": conn.execute(select(func.count()).select_from(WorkflowInstance)
                                         .where(WorkflowInstance.next_timer_at <= T_SWEEP)).scalar(),
            "workflow_state_kb_avg": round(float(conn.execute(text(
                "SELECT avg(length(state)) FROM workflow_instances")).scalar() or 0) / 1024, 1),
            "db_mb": db_size_mb(conn, db),
        }
        due_tasks = conn.execute(select(Task.bpmn_id, Task.time_limit, func.count(), func.min(Task.due_at),
                                        func.max(Task.due_at), func.count(Task.claimed_by_id))
                                 .where(Task.case_id.between(min(due_ids), max(due_ids)), Task.state == "open")
                                 .group_by(Task.bpmn_id, Task.time_limit).order_by(Task.time_limit)).all()
        totals["due_cases_open_tasks"] = [
            {"bpmn_id": b, "time_limit": lim, "tasks": n, "claimed": c,
             "due_from": lo.isoformat() if lo else None, "due_to": hi.isoformat() if hi else None}
            for b, lim, n, lo, hi, c in due_tasks]
    if totals["due_at_sweep"] != len(due_ids):
        raise BenchError(f"{totals['due_at_sweep']} cases are due at the sweep moment, expected {len(due_ids)}")
    log(f"timers: {totals['cases']:,} cases ({totals['open_cases']:,} open), {totals['with_timer']:,} with a timer, "
        f"{totals['due_at_sweep']:,} due at {at_iso(T_SWEEP)}; {totals['db_mb']} MB"
        + (f"; ANALYZE {t_analyze:.1f} s" if args.analyze else ""))
    return {"templates": {k: len(v) for k, v in templates.items()}, "template_seconds": round(t_templates, 1),
            "copies": copied, "due_case_seconds": round(t_due, 1),
            "due_case_ms_each": round(1000 * t_due / max(1, len(due_ids)), 1),
            "due_ids": [min(due_ids), max(due_ids)], "analyze_seconds": round(t_analyze, 1), "totals": totals,
            "_due_ids": due_ids}


def pg_rows_examined(plan: str, table: str = "workflow_instances") -> int | None:
    """Rows a PostgreSQL plan read from ``table``: returned rows plus rows removed by filters."""
    lines = plan.splitlines()
    total, found = 0, False
    for i, line in enumerate(lines):
        if re.search(rf"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)\b.* on {table}\b", line):
            m = re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)", line)
            if not m:
                continue
            n = int(m.group(1)) * int(m.group(2))
            for detail in lines[i + 1:]:
                if "->" in detail:
                    break
                m2 = re.search(r"Rows Removed by (?:Filter|Index Recheck): (\d+)", detail)
                if m2:
                    n += int(m2.group(1))
            total, found = total + n, True
    return total if found else None


def due_query(app: Any, args: argparse.Namespace, n_due: int) -> dict[str, Any]:
    """The due-case query as the sweep sends it (first batch, and an idle sweep with nothing due):
    plans, times, rows examined; and a forced full scan for comparison."""
    from app.core.db import session
    from app.engine.timers import due_statement
    out: dict[str, Any] = {"batch": args.batch, "due": n_due}
    engine = app.extensions["db_engine"]
    dialect = engine.dialect.name
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)

    def as_sent(statement: Any, params: dict[str, Any]) -> tuple[str, Any]:
        meter = SqlMeter(engine)
        meter.capture = []
        try:
            with app.app_context():
                session.execute(statement, params).all()
                session.rollback()
                session.remove()
        finally:
            meter.close()
        sql, dbapi_params, _dt = meter.capture[-1]
        return sql, dbapi_params

    queries = {
        "app": as_sent(due_statement(dialect), {"k_now": T_SWEEP, "k_t": epoch, "k_after": 0, "k_limit": args.batch}),
        "app_idle": as_sent(due_statement(dialect), {"k_now": T_IDLE, "k_t": epoch, "k_after": 0, "k_limit": args.batch}),
    }
    out["sql"] = queries["app"][0]
    with engine.connect() as conn:

        def timed(sql: str, params: Any, setup: list[str], n: int, budget: float = 8.0) -> float:
            """Median ms of up to n runs (at least 3), stopping after ``budget`` seconds."""
            times: list[float] = []
            started = time.perf_counter()
            while len(times) < n and (len(times) < 3 or time.perf_counter() - started < budget):
                for x in setup:
                    conn.exec_driver_sql(x)
                t0 = time.perf_counter()
                conn.exec_driver_sql(sql, params).all()
                times.append(time.perf_counter() - t0)
                conn.rollback()
            return round(med(times) * 1000, 3)

        for key, (sql, params) in queries.items():
            entry: dict[str, Any] = {"plan": explain(conn, sql, params)}
            conn.rollback()
            entry["uses_index"] = "ix_workflow_instances_next_timer" in entry["plan"]
            if dialect == "postgresql":
                entry["rows_examined"] = pg_rows_examined(entry["plan"])
            else:
                entry["vm_steps"] = sqlite_vm_steps(conn, sql, params)
                conn.rollback()
            entry["ms_median"] = timed(sql, params, [], args.query_repeats)
            out[key] = entry
        sql, params = queries["app"]
        if dialect == "postgresql":
            forced = ["SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off",
                      "SET LOCAL enable_indexonlyscan = off"]
            out["full_scan_ms_median"] = timed(sql, params, forced, max(3, args.query_repeats // 10))
        else:
            scan = sql.replace("FROM workflow_instances", "FROM workflow_instances NOT INDEXED", 1)
            out["full_scan_ms_median"] = timed(scan, params, [], max(3, args.query_repeats // 10))
            out["full_scan_vm_steps"] = sqlite_vm_steps(conn, scan, params)
            conn.rollback()
    out["plan"] = out["app"]["plan"]
    out["plan_uses_index"] = out["app"]["uses_index"]
    out["ms_median"] = out["app"]["ms_median"]
    return out


def sqlite_vm_steps(conn: Any, sql: str, params: Any) -> int:
    """SQLite virtual machine instructions run by a query (a proxy for rows visited)."""
    raw = conn.connection.dbapi_connection
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    raw.set_progress_handler(tick, 100)
    try:
        conn.exec_driver_sql(sql, params).all()
    finally:
        raw.set_progress_handler(None, 0)
    return steps[0] * 100


def fired_once(engine: Any, due_ids: list[int]) -> dict[str, Any]:
    """Per due case: task_reminded and case_supervised audit rows, reminder notifications."""
    from sqlalchemy import func, select, text
    from app.engine.models import WorkflowInstance
    due = set(due_ids)
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for name, sql in (
                ("task_reminded", "SELECT case_id, count(*) FROM audit_events WHERE action = 'task_reminded' GROUP BY case_id"),
                ("case_supervised", "SELECT case_id, count(*) FROM audit_events WHERE action = 'case_supervised' GROUP BY case_id"),
                ("reminder_notifications", "SELECT case_id, count(*) FROM notifications WHERE kind = 'reminder' GROUP BY case_id")):
            per_case = dict(conn.execute(text(sql)).all())
            counts = Counter(per_case.get(c, 0) for c in due)
            out[name] = {"cases_with_exactly_1": counts.get(1, 0), "cases_with_0": counts.get(0, 0),
                         "cases_with_more": sum(v for k, v in counts.items() if k > 1),
                         "other_cases": sum(1 for c in per_case if c not in due)}
        out["overdue_notifications"] = conn.execute(text("SELECT count(*) FROM notifications WHERE kind = 'overdue'")).scalar()
        out["still_due"] = conn.execute(select(func.count()).select_from(WorkflowInstance)
                                        .where(WorkflowInstance.next_timer_at <= T_SWEEP)).scalar()
    out["exactly_once"] = all(out[k]["cases_with_exactly_1"] == len(due) and out[k]["other_cases"] == 0
                              for k in ("task_reminded", "case_supervised", "reminder_notifications"))
    return out


class Stopwatches:
    """Times calls of some module-level functions (patched for the duration, restored after).
    Nested calls are counted in each: the parts overlap (e.g. _run contains one dumps)."""

    def __init__(self, targets: list[tuple[Any, str]]) -> None:
        self.targets = targets
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> "Stopwatches":
        for module, name in self.targets:
            original = getattr(module, name)
            self._saved.append((module, name, original))

            def timed(*a: Any, _f: Any = original, _n: str = name, **kw: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return _f(*a, **kw)
                finally:
                    self.seconds[_n] += time.perf_counter() - t0
                    self.calls[_n] += 1

            setattr(module, name, timed)
        return self

    def __exit__(self, *exc: Any) -> None:
        for module, name, original in reversed(self._saved):
            setattr(module, name, original)


SWEEP_PARTS = {
    "_load": "lock the workflow row, read and deserialize the state (loads)",
    "dumps": "serialize the state (fire_timers: once before, to detect 'unchanged'; _run: once after)",
    "_run": "engine: refresh_timers + do_engine_steps + project ready tasks + one dumps",
    "_sync_tasks": "task rows (close / insert)",
    "_apply_effects": "reminder and supervision: notifications + audit",
    "write_pending": "audit insert",
}


def sweep_inprocess(app: Any, args: argparse.Namespace, due_ids: list[int]) -> dict[str, Any]:
    from app.engine import host, repair, stepping, store
    from app.engine.timers import sweep
    engine = app.extensions["db_engine"]
    meter = SqlMeter(engine)
    prof = cProfile.Profile() if args.profile else None
    # the host's rooms call each other by their own module's names: patch the name in each module
    watches = Stopwatches([(module, name) for name in SWEEP_PARTS
                           for module in (host, stepping, store, repair) if hasattr(module, name)])
    with app.app_context():
        t0 = time.perf_counter()
        with watches:
            if prof:
                prof.enable()
            result = sweep(T_SWEEP, args.batch, keep_ids=True)
            if prof:
                prof.disable()
        wall = time.perf_counter() - t0
        statements, db_s = meter.reset()
        t1 = time.perf_counter()
        idle = sweep(T_SWEEP, args.batch)
        idle_s = time.perf_counter() - t1
    meter.close()
    n = max(1, result.fired)
    out = {"fired": result.fired, "unchanged": result.unchanged, "incidents": result.incidents,
           "conflicts": result.conflicts, "batches": result.batches, "seconds": round(wall, 2),
           "ms_per_case": round(1000 * wall / n, 2), "statements_per_case": round(statements / n, 1),
           "db_ms_per_case": round(1000 * db_s / n, 2), "other_ms_per_case": round(1000 * (wall - db_s) / n, 2),
           "fired_ids_match": sorted(result.case_ids) == sorted(due_ids),
           "idle_sweep_ms": round(idle_s * 1000, 2), "idle_fired": idle.fired, "profiled": bool(prof),
           "parts_ms_per_case": {name: round(1000 * sec / n, 2) for name, sec in watches.seconds.items()},
           "parts_calls": dict(watches.calls), "parts_legend": SWEEP_PARTS}
    if prof:
        out["profile"] = profile_text(prof, 25)
    out["check"] = fired_once(engine, due_ids)
    return out


def sweep_two_processes(db: B.Database, args: argparse.Namespace, due_ids: list[int]) -> dict[str, Any]:
    """Two `flask scheduler sweep --at ... --batch N` processes at once on the copy ``db``."""
    from sqlalchemy import create_engine
    env = B.app_env(db.url)

    def command(moment: datetime) -> list[str]:
        return [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "sweep", "--at", at_iso(moment),
                "--batch", str(args.concurrent_batch)]

    # the fixed cost of one such process (interpreter, app start, an empty sweep): nothing is due yet
    t0 = time.perf_counter()
    r = subprocess.run(command(T_FILED - timedelta(hours=1)), cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    startup = time.perf_counter() - t0
    if r.returncode != 0:
        raise BenchError(f"flask scheduler sweep failed: {r.stderr[-3000:]}")
    t0 = time.perf_counter()
    procs = [subprocess.Popen(command(T_SWEEP), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=1800) for p in procs]
    wall = time.perf_counter() - t0
    runs = []
    for p, (out, err) in zip(procs, outs):
        if p.returncode != 0:
            raise BenchError(f"a scheduler process failed (exit {p.returncode}): {err[-3000:]}")
        m = re.search(r"fired (\d+) case\(s\), (\d+) unchanged, (\d+) incident\(s\), (\d+) conflict\(s\) "
                      r"in (\d+) batch\(es\), ([\d.]+) s", out)
        if not m:
            raise BenchError(f"unexpected output of flask scheduler sweep: {out[-500:]!r}")
        runs.append({"fired": int(m.group(1)), "unchanged": int(m.group(2)), "incidents": int(m.group(3)),
                     "conflicts": int(m.group(4)), "batches": int(m.group(5)), "sweep_seconds": float(m.group(6))})
    engine = create_engine(db.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        check = fired_once(engine, due_ids)
    finally:
        engine.dispose()
    sweep_s = max(r["sweep_seconds"] for r in runs)
    return {"processes": runs, "wall_seconds": round(wall, 2), "one_process_startup_seconds": round(startup, 2),
            "sweep_seconds_max": round(sweep_s, 2), "ms_per_case": round(1000 * sweep_s / max(1, len(due_ids)), 2),
            "fired_total": sum(r["fired"] for r in runs), "batch": args.concurrent_batch, "check": check}


def bench_timers(dbs: B.Databases, args: argparse.Namespace) -> dict[str, Any]:
    db = dbs.new("timers")
    log(f"timers: setting up {db.label} (db upgrade, demo load, processes deploy)")
    B.setup_database(db)
    with B.app_context(db):
        seeding = seed_timers(db, args)
    due_ids = seeding.pop("_due_ids")
    out: dict[str, Any] = {"seeding": seeding, "sweep_at": at_iso(T_SWEEP)}
    clone = None
    if db.kind == "postgresql" and args.concurrent:
        t0 = time.perf_counter()
        clone = clone_pg(dbs, db, "timers2")
        out["clone_seconds"] = round(time.perf_counter() - t0, 1)
        log(f"timers: copied the database for the two-process sweep in {out['clone_seconds']} s")
    app = make_app(db)
    try:
        out["due_query"] = due_query(app, args, len(due_ids))
        q = out["due_query"]
        log(f"timers: due query {q['ms_median']:.2f} ms (forced full scan {q['full_scan_ms_median']:.0f} ms), "
            f"index used: {q['plan_uses_index']}")
        log(f"timers: sweep at {at_iso(T_SWEEP)}, batch {args.batch}" + (" (under cProfile)" if args.profile else ""))
        s = out["sweep"] = sweep_inprocess(app, args, due_ids)
        log(f"timers: one sweep fired {s['fired']} cases in {s['seconds']:.2f} s = {s['ms_per_case']:.1f} ms per case "
            f"({s['statements_per_case']} statements, {s['db_ms_per_case']:.1f} ms in the DB per case); "
            f"exactly once: {s['check']['exactly_once']}; idle sweep {s['idle_sweep_ms']:.1f} ms")
    finally:
        app.extensions["db_engine"].dispose()
    if clone is not None:
        log(f"timers: two `flask scheduler sweep` processes at once on {clone.label}, batch {args.concurrent_batch}")
        c = out["two_processes"] = sweep_two_processes(clone, args, due_ids)
        log(f"timers: two processes: wall {c['wall_seconds']:.2f} s (one process alone starts and exits in "
            f"{c['one_process_startup_seconds']:.2f} s), sweeps {[r['sweep_seconds'] for r in c['processes']]} s, "
            f"fired {[r['fired'] for r in c['processes']]}, conflicts {[r['conflicts'] for r in c['processes']]}; "
            f"exactly once: {c['check']['exactly_once']}")
    return out


# ============================================================================ 2: lights

def seed_lights(db: B.Database, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, select
    from app.cases.models import Case
    from app.core.db import session
    from app.tasks.models import Task
    rng = random.Random(args.seed + 7)
    t0 = time.perf_counter()
    kinds = list(LIGHT_MIX) + ["closed", "rejected"]
    templates = build_templates(kinds, args.template_replicas, args.seed + 7)
    n_templates = sum(len(v) for v in templates.values())
    t_templates = time.perf_counter() - t0
    log(f"lights: {n_templates} real template cases in {t_templates:.1f} s")
    info = template_info([i for v in templates.values() for i in v])
    open_templates = sum(len(templates[k]) for k in LIGHT_MIX)
    n_open = args.open_tasks - open_templates
    n_closed = args.lights_cases - n_templates - n_open
    if n_open < 0 or n_closed < 0:
        raise BenchError("--open-tasks / --lights-cases too small for the templates")
    lights = list(LIGHT_SHARES)
    weights = [LIGHT_SHARES[x] for x in lights]
    copies = []
    for tpl in plan_mix(LIGHT_MIX, n_open, templates, rng):
        copies.append(lit_copy(rng, tpl, info[tpl], T_LIGHTS, rng.choices(lights, weights)[0]))
    closed = templates["closed"]
    rejected = templates["rejected"]
    for i in range(n_closed):
        tpl = rejected[i % len(rejected)] if i % 20 == 0 else closed[i % len(closed)]
        copies.append(closed_copy(rng, tpl, T_LIGHTS))
    rng.shuffle(copies)
    log(f"lights: copying {len(copies):,} cases ({n_open:,} open)")
    copied = copy_cases(copies)
    engine = session.get_bind()
    t_analyze = analyze(engine, engine.dialect.name) if args.analyze else 0.0
    from app.sla.deadlines import LIGHTS, light_condition
    tasks = Task.__table__
    with engine.connect() as conn:
        by_light = {name: conn.execute(select(func.count()).select_from(tasks).where(
            tasks.c.state == "open", tasks.c.due_at.is_not(None),
            light_condition(name, tasks, T_LIGHTS.astimezone(timezone.utc)))).scalar()
            for name in LIGHTS}
        totals = {
            "cases": conn.execute(select(func.count()).select_from(Case)).scalar(),
            "open_cases": conn.execute(select(func.count()).select_from(Case).where(Case.status == "open")).scalar(),
            "tasks": conn.execute(select(func.count()).select_from(Task)).scalar(),
            "open_tasks": conn.execute(select(func.count()).select_from(Task).where(Task.state == "open")).scalar(),
            "open_without_deadline": conn.execute(select(func.count()).select_from(Task).where(
                Task.state == "open", Task.due_at.is_(None))).scalar(),
            "open_by_light": by_light,
            "open_by_step": dict(conn.execute(select(Task.bpmn_id, func.count()).where(Task.state == "open")
                                              .group_by(Task.bpmn_id)).all()),
            "db_mb": db_size_mb(conn, db),
        }
    log(f"lights: {totals['cases']:,} cases, {totals['open_tasks']:,} open tasks ({totals['tasks']:,} tasks), "
        f"lights at {at_iso(T_LIGHTS)}: {by_light}, {totals['db_mb']} MB")
    return {"templates": {k: len(v) for k, v in templates.items()}, "template_seconds": round(t_templates, 1),
            "copies": copied, "analyze_seconds": round(t_analyze, 1), "totals": totals}


LIGHT_VARIANTS = [
    ("console", "demo_supervisor", "/api/v1/supervision"),
    ("console light=red", "demo_supervisor", "/api/v1/supervision?light=red"),
    ("inbox dispatcher", "demo_dispatcher", "/api/v1/tasks?scope=claimable&limit=50"),
    ("inbox dispatcher light=red", "demo_dispatcher", "/api/v1/tasks?scope=claimable&limit=50&light=red"),
    ("inbox handler", "demo_handler", "/api/v1/tasks?scope=claimable&limit=50"),
    ("inbox handler light=yellow", "demo_handler", "/api/v1/tasks?scope=claimable&limit=50&light=yellow"),
]


def measure_lights(app: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Requests of every variant in turn (round robin, so machine noise hits all alike)."""
    from app.core import clock
    client = app.test_client()
    tokens: dict[str, str] = {}
    for _name, user, _path in LIGHT_VARIANTS:
        if user not in tokens:
            r = client.post("/api/v1/auth/token", json={"username": user, "password": "demo"})
            if r.status_code != 200:
                raise BenchError(f"cannot log in as {user}: {r.status_code} {r.get_data(as_text=True)[:300]}")
            tokens[user] = r.get_json()["token"]
    engine = app.extensions["db_engine"]
    meter = SqlMeter(engine)
    out: dict[str, Any] = {}
    clock.set_now(T_LIGHTS)
    try:
        # one probe per variant: its answer, and the statements it sends (for the plans)
        for name, user, path in LIGHT_VARIANTS:
            meter.capture = []
            r = client.get(path, headers={"Authorization": f"Bearer {tokens[user]}"})
            statements, meter.capture = meter.capture, None
            if r.status_code != 200:
                raise BenchError(f"{name}: HTTP {r.status_code} {r.get_data(as_text=True)[:300]}")
            body = r.get_json()
            rows = body["tasks"]
            out[name] = {"path": path, "user": user, "rows": len(rows), "bytes": len(r.get_data()),
                         "page_lights": dict(Counter(t["light"] for t in rows)),
                         "statements_detail": [(s, p, round(dt * 1000, 3)) for s, p, dt in statements]}
            if "lights" in body:
                out[name]["console_counts"] = body["lights"]
        lat: dict[str, list[float]] = {n: [] for n, _u, _p in LIGHT_VARIANTS}
        sql_ms: dict[str, list[float]] = {n: [] for n, _u, _p in LIGHT_VARIANTS}
        nstat: dict[str, list[int]] = {n: [] for n, _u, _p in LIGHT_VARIANTS}
        bad: Counter[str] = Counter()
        parts: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n, _u, _p in LIGHT_VARIANTS}
        for i in range(args.warmup + args.requests):
            for name, user, path in LIGHT_VARIANTS:
                headers = {"Authorization": f"Bearer {tokens[user]}"}
                meter.reset()
                meter.capture = []
                t0 = time.perf_counter()
                r = client.get(path, headers=headers)
                r.get_data()
                dt = time.perf_counter() - t0
                count, db_s = meter.reset()
                captured, meter.capture = meter.capture, None
                if r.status_code != 200:
                    bad[name] += 1
                if i >= args.warmup:
                    lat[name].append(dt)
                    sql_ms[name].append(db_s * 1000)
                    nstat[name].append(count)
                    per_label: dict[str, float] = defaultdict(float)
                    for stmt, _p, sdt in captured:
                        per_label[sql_label(stmt)] += sdt * 1000
                    for label, ms in per_label.items():
                        parts[name][label].append(ms)
        for name, _u, _p in LIGHT_VARIANTS:
            v = lat[name]
            out[name].update({"n": len(v), "p50_ms": round(pct(v, 50) * 1000, 2), "p95_ms": round(pct(v, 95) * 1000, 2),
                              "p99_ms": round(pct(v, 99) * 1000, 2), "mean_ms": round(sum(v) / len(v) * 1000, 2),
                              "sql_ms_median": round(med(sql_ms[name]), 2), "statements": int(med(nstat[name])) if nstat[name] else 0,
                              "non_200": bad[name],
                              # median ms per kind of statement (a kind missing from some requests,
                              # such as the principal's reload, is the median over the requests that had it)
                              "sql_breakdown_ms": {label: round(med(v), 2) for label, v in
                                                   sorted(parts[name].items(), key=lambda kv: -med(kv[1]))},
                              "python_ms_median": round(med([(a * 1000 - b) for a, b in zip(lat[name], sql_ms[name])]), 2)})
        if args.profile:
            worst = max((n for n, _u, _p in LIGHT_VARIANTS), key=lambda n: out[n]["p95_ms"])
            _n, user, path = next(v for v in LIGHT_VARIANTS if v[0] == worst)
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(100):
                client.get(path, headers={"Authorization": f"Bearer {tokens[user]}"}).get_data()
            prof.disable()
            out["_profile"] = {"variant": worst, "text": profile_text(prof, 25)}
    finally:
        clock.set_now(None)
        meter.close()
    return out


def sql_label(statement: str) -> str:
    """What a statement of the console or the inbox is for (by its text)."""
    s = " ".join(statement.split())
    rules = [
        (lambda: "count(CASE WHEN" in s, "count open tasks by light"),
        (lambda: "count(*)" in s and "FROM cases" in s and "parked_at IS NOT NULL" in s, "count parked cases"),
        (lambda: "count(*)" in s and "FROM cases" in s and "escalation_count" in s, "count escalated cases"),
        (lambda: "FROM task_requests" in s and "GROUP BY" in s, "count pending requests by kind"),
        (lambda: "FROM task_requests" in s, "list pending requests"),
        (lambda: "FROM tasks JOIN cases" in s and "cases.return_count >" in s, "returned cases waiting (list, counted with len)"),
        (lambda: "FROM tasks JOIN cases" in s, "list of the 50 most urgent tasks (+ case, unit, holder)"),
        (lambda: "FROM cases" in s and "ORDER BY" in s, "list of escalated cases"),
        (lambda: "FROM tasks LEFT OUTER JOIN users" in s, "inbox page (tasks + holder)"),
        (lambda: "FROM users" in s or "FROM role_assignments" in s, "principal (token cache refresh)"),
        (lambda: "FROM org_units" in s, "org directory (cache refresh)"),
    ]
    for test, label in rules:
        if test():
            return label
    return s[:70]


def light_plans(app: Any, measured: dict[str, Any]) -> dict[str, Any]:
    """EXPLAIN of the console's count-by-light query and of its task list, as sent."""
    engine = app.extensions["db_engine"]
    plans: dict[str, Any] = {}

    def find(variant: str, test: Callable[[str], bool]) -> tuple[str, Any] | None:
        for s, p, _dt in measured[variant]["statements_detail"]:
            if test(s):
                return s, p
        return None

    wanted = {
        "console_count": ("console", lambda s: "count(CASE WHEN" in s and "FROM tasks" in s),
        "console_list_red": ("console light=red", lambda s: "FROM tasks JOIN cases" in s and "ORDER BY" in s),
        "inbox_red": ("inbox dispatcher light=red", lambda s: "FROM tasks" in s and "LIMIT" in s),
    }
    with engine.connect() as conn:
        for key, (variant, test) in wanted.items():
            found = find(variant, test)
            if found is None:
                plans[key] = {"plan": "(statement not found)", "sql": ""}
                continue
            s, p = found
            plans[key] = {"sql": s, "plan": explain(conn, s, p)}
            conn.rollback()
        # every statement of the console (the principal's and the directory's reloads aside)
        plans["console_statements"] = {}
        for s, p, _dt in measured["console"]["statements_detail"]:
            label = sql_label(s)
            if label.startswith(("principal", "org directory")):
                continue
            plans["console_statements"][label] = {"sql": s, "plan": explain(conn, s, p)}
            conn.rollback()
    for key in ("console_count", "console_list_red", "inbox_red"):
        plans[key]["uses_open_unit_due"] = "ix_tasks_open_unit_due" in plans[key]["plan"]
        plans[key]["uses_index"] = any(x in plans[key]["plan"] for x in ("Index Scan", "Index Only Scan", "USING INDEX", "USING COVERING INDEX"))
    return plans


def bench_lights(dbs: B.Databases, args: argparse.Namespace) -> dict[str, Any]:
    db = dbs.new("lights")
    log(f"lights: setting up {db.label} (db upgrade, demo load, processes deploy)")
    B.setup_database(db)
    with B.app_context(db):
        seeding = seed_lights(db, args)
    app = make_app(db)
    try:
        log(f"lights: {len(LIGHT_VARIANTS)} variants × ({args.warmup} warm-up + {args.requests}) requests, "
            "round robin, in-process (Flask test client)")
        measured = measure_lights(app, args)
        plans = light_plans(app, measured)
    finally:
        app.extensions["db_engine"].dispose()
    for name, _u, _p in LIGHT_VARIANTS:
        m = measured[name]
        log(f"lights: {name:28s} p50 {m['p50_ms']:6.2f} ms  p95 {m['p95_ms']:6.2f} ms  "
            f"SQL {m['sql_ms_median']:5.2f} ms in {m['statements']} statements, {m['rows']} rows {m['page_lights']}")
    for m in measured.values():
        if isinstance(m, dict) and "statements_detail" in m:
            m["statements_detail"] = [{"sql": re.sub(r"\s+", " ", s)[:300], "ms": dt} for s, _p, dt in m["statements_detail"]]
    profile = measured.pop("_profile", None)
    out = {"seeding": seeding, "at": at_iso(T_LIGHTS), "requests": measured, "plans": plans,
           "p95_ms_max": max(measured[n]["p95_ms"] for n, _u, _p in LIGHT_VARIANTS)}
    if profile:
        out["profile"] = profile
    return out


def profile_text(prof: cProfile.Profile, n: int) -> str:
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("cumulative").print_stats(n)
    return buf.getvalue()


# ============================================================================ one database

def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    dbs = B.Databases(kind, args.pg_server if kind == "postgresql" else None, args.keep_db)
    result: dict[str, Any] = {"database": kind}
    try:
        if "timers" in args.parts:
            result["timers"] = bench_timers(dbs, args)
        if "lights" in args.parts:
            result["lights"] = bench_lights(dbs, args)
    finally:
        dbs.cleanup()
    return result


# ============================================================================ report

def print_report(report: dict[str, Any]) -> None:
    runs = report["runs"]
    kinds = list(runs)
    m = report["meta"]
    print()
    print(f"Tongguan timers and lights benchmark  {m['date']}  {m['cpus']} cores  commit {m['git_commit'][:10]}"
          f"{' (+ uncommitted changes)' if m['git_uncommitted'] else ''}")
    rows: list[tuple[str, list[str], str]] = []

    def add(label: str, getter: Callable[[dict[str, Any]], Any], goal: str = "", spec: str = ".1f") -> None:
        vals = []
        for k in kinds:
            try:
                vals.append(B.fmt(getter(runs[k]), spec))
            except (KeyError, TypeError, IndexError):
                vals.append("-")
        rows.append((label, vals, goal))

    add("machine: 2-loop factor before/after (1=idle)",
        lambda r: f"{r['machine_before']['factor']:.2f} / {r['machine_after']['factor']:.2f}")
    T = "timers"
    add("1 timers: cases / open / with timer / due",
        lambda r: "{cases:,} / {open_cases:,} / {with_timer:,} / {due_at_sweep:,}".format(**r[T]["seeding"]["totals"]))
    add("  real due cases made: s (ms per case)",
        lambda r: f"{r[T]['seeding']['due_case_seconds']:.0f} ({r[T]['seeding']['due_case_ms_each']:.0f})")
    add("  due query uses ix_workflow_instances_next_timer", lambda r: r[T]["due_query"]["app"]["uses_index"], "yes")

    def examined(q: dict[str, Any]) -> str:
        return f"{q['rows_examined']:,} rows" if "rows_examined" in q else f"{q['vm_steps']:,} VM steps"

    add("  due query, first batch: ms / examined",
        lambda r: f"{r[T]['due_query']['app']['ms_median']:.2f} / {examined(r[T]['due_query']['app'])}", "≈ due rows")
    add("  due query, idle (nothing due): ms / examined",
        lambda r: f"{r[T]['due_query']['app_idle']['ms_median']:.2f} / {examined(r[T]['due_query']['app_idle'])}", "≈ 0")
    add("  forced full scan: ms", lambda r: r[T]["due_query"]["full_scan_ms_median"], spec=".2f")
    add("  one sweep(): fired / seconds",
        lambda r: f"{r[T]['sweep']['fired']:,} / {r[T]['sweep']['seconds']:.2f}")
    add("  per case: ms (DB ms, statements)",
        lambda r: f"{r[T]['sweep']['ms_per_case']:.1f} ({r[T]['sweep']['db_ms_per_case']:.1f}, "
                  f"{r[T]['sweep']['statements_per_case']:.0f})")
    add("  each due case fired exactly once", lambda r: r[T]["sweep"]["check"]["exactly_once"], "yes")
    add("  idle sweep (nothing due) ms", lambda r: r[T]["sweep"]["idle_sweep_ms"], spec=".1f")
    add("  2 processes: wall s (1 process start+exit s)",
        lambda r: f"{r[T]['two_processes']['wall_seconds']:.2f} ({r[T]['two_processes']['one_process_startup_seconds']:.2f})")
    add("  2 processes: sweep s each, fired each",
        lambda r: " / ".join(f"{p['sweep_seconds']:.2f}" for p in r[T]["two_processes"]["processes"]) + ", "
        + " + ".join(str(p["fired"]) for p in r[T]["two_processes"]["processes"]))
    add("  2 processes: ms per case (slowest sweep / due)", lambda r: r[T]["two_processes"]["ms_per_case"])
    add("  2 processes: each fired exactly once", lambda r: r[T]["two_processes"]["check"]["exactly_once"], "yes")
    L = "lights"
    add("2 lights: cases / open tasks",
        lambda r: f"{r[L]['seeding']['totals']['cases']:,} / {r[L]['seeding']['totals']['open_tasks']:,}")
    add("  open tasks red / yellow / green",
        lambda r: "{red:,} / {yellow:,} / {green:,}".format(**r[L]["seeding"]["totals"]["open_by_light"]))
    for name, _u, _p in LIGHT_VARIANTS:
        add(f"  {name}: p50 / p95 ms",
            lambda r, n=name: f"{r[L]['requests'][n]['p50_ms']:.1f} / {r[L]['requests'][n]['p95_ms']:.1f}", "p95 <= 50")
    add("  console: SQL ms (median) in statements",
        lambda r: f"{r[L]['requests']['console']['sql_ms_median']:.1f} in {r[L]['requests']['console']['statements']}")
    add("  console count: reads an index of open tasks",
        lambda r: r[L]["plans"]["console_count"]["uses_index"] and "Seq Scan" not in r[L]["plans"]["console_count"]["plan"])

    w0 = max(len(r[0]) for r in rows) + 2
    widths = [max(len(k), *(len(r[1][i]) for r in rows)) + 2 for i, k in enumerate(kinds)]
    print("".ljust(w0) + "".join(k.rjust(w) for k, w in zip(kinds, widths)) + "   goal")
    print("-" * (w0 + sum(widths) + 14))
    for label, vals, goal in rows:
        if all(v == "-" for v in vals):
            continue
        print(label.ljust(w0) + "".join(v.rjust(w) for v, w in zip(vals, widths)) + (f"   {goal}" if goal else ""))
    for k in kinds:
        r = runs[k]
        if "timers" in r:
            q = r["timers"]["due_query"]
            print(f"\ndue-case query plan ({k}, batch {q['batch']}, {q['due']:,} due):")
            print("  " + q["plan"].replace("\n", "\n  "))
            print(f"\ndue-case query plan with nothing due, the idle sweep every 30 s ({k}):")
            print("  " + q["app_idle"]["plan"].replace("\n", "\n  "))
        if "lights" in r:
            p = r["lights"]["plans"]["console_count"]
            print(f"\nconsole count-by-light query plan ({k}, demo_supervisor):")
            print("  " + p["plan"].replace("\n", "\n  "))
        if "lights" in r:
            for variant in ("console", "inbox dispatcher"):
                m = r["lights"]["requests"][variant]
                print(f"\nwhere '{variant}' spends its time ({k}): median {m['p50_ms']:.1f} ms per request, of which SQL "
                      f"{m['sql_ms_median']:.1f} ms in {m['statements']} statements (median ms each):")
                for label, ms in m["sql_breakdown_ms"].items():
                    print(f"  {ms:8.2f}  {label}")
                print(f"  {m['python_ms_median']:8.2f}  everything else (Flask, auth, ORM, task_dict and lights, JSON)")
            top = next(iter(r["lights"]["requests"]["console"]["sql_breakdown_ms"]))
            st = r["lights"]["plans"].get("console_statements", {}).get(top)
            if st:
                print(f"\nplan of the console's costliest statement, '{top}' ({k}):")
                print("  " + st["plan"].replace("\n", "\n  "))
        if "timers" in r:
            sw = r["timers"]["sweep"]
            print(f"\nwhere the sweep spends its time ({k}): {sw['ms_per_case']:.1f} ms per fired case, of which SQL "
                  f"{sw['db_ms_per_case']:.1f} ms in {sw['statements_per_case']:.0f} statements; parts (overlapping):")
            for name, ms in sorted(sw["parts_ms_per_case"].items(), key=lambda kv: -kv[1]):
                print(f"  {ms:8.2f}  {name}: {SWEEP_PARTS.get(name, '')}")
        prof = r.get("lights", {}).get("profile")
        if prof:
            print(f"\ncProfile of 100 requests '{prof['variant']}' ({k}):\n{prof['text']}")
        sp = r.get("timers", {}).get("sweep", {}).get("profile")
        if sp:
            print(f"\ncProfile of the sweep ({k}):\n{sp}")
    print()


# ============================================================================ main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", help="run on PostgreSQL: scratch databases are created on this URL's server "
                   "(the named database is only used to create and drop them)")
    p.add_argument("--both", action="store_true", help=f"run SQLite, then PostgreSQL (--database-url or {B.DEFAULT_PG})")
    p.add_argument("--parts", default="timers,lights", help="comma-separated subset of: timers, lights")
    p.add_argument("--cases", type=int, default=100_000, help="open cases in the timers database (default 100000)")
    p.add_argument("--due", type=int, default=1_000, help="of which due at the sweep moment (default 1000)")
    p.add_argument("--batch", type=int, default=200, help="cases per sweep transaction (default 200, as TONGGUAN_SCHEDULER_BATCH)")
    p.add_argument("--concurrent-batch", type=int, default=None,
                   help="--batch of each of the two `flask scheduler sweep` processes on PostgreSQL (default: a tenth "
                        "of --due, at most --batch, so that the two interleave over about ten batches)")
    p.add_argument("--no-concurrent", dest="concurrent", action="store_false",
                   help="skip the two-process sweep on PostgreSQL")
    p.add_argument("--query-repeats", type=int, default=200, help="timed runs of the due-case query (default 200)")
    p.add_argument("--lights-cases", type=int, default=100_000, help="cases in the lights database (default 100000)")
    p.add_argument("--open-tasks", type=int, default=10_000, help="open tasks among them (default 10000)")
    p.add_argument("--requests", type=int, default=200, help="measured requests per light variant (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="warm-up requests per variant (default 10)")
    p.add_argument("--template-replicas", type=int, default=1, help="real template cases per kind and department/community")
    p.add_argument("--no-analyze", dest="analyze", action="store_false",
                   help="skip ANALYZE (SQLite) / VACUUM ANALYZE (PostgreSQL) after seeding")
    p.add_argument("--profile", action="store_true",
                   help="cProfile the sweep and 100 requests of the slowest light variant (the sweep's time then "
                        "includes the profiler's overhead)")
    p.add_argument("--seed", type=int, default=20261201, help="random seed for the seeded data")
    p.add_argument("--keep-db", action="store_true", help="keep the databases (and SQLite files) afterwards")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 5,000 cases / 100 due, 10,000 cases / 1,000 open tasks, 50 requests per variant")
    p.add_argument("--output", help="JSON file to write (default bench/results/sla-<timestamp>.json)")
    args = p.parse_args(argv)
    if args.quick:
        args.cases, args.due, args.lights_cases, args.open_tasks = 5_000, 100, 10_000, 1_000
        args.requests, args.warmup, args.query_repeats = 50, 5, 50
    args.concurrent_batch = args.concurrent_batch or max(1, min(args.batch, args.due // 10))
    args.parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    unknown = args.parts - {"timers", "lights"}
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.due >= args.cases:
        p.error("--due must be smaller than --cases")
    if args.open_tasks >= args.lights_cases:
        p.error("--open-tasks must be smaller than --lights-cases")
    args.kinds = ["sqlite", "postgresql"] if args.both else (["postgresql"] if args.database_url else ["sqlite"])
    args.pg_server = args.database_url or B.DEFAULT_PG
    if "postgresql" in args.kinds and not args.pg_server.startswith(("postgresql://", "postgresql+psycopg://")):
        p.error("--database-url must be a postgresql:// URL (SQLite is the default and needs no URL)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    import signal
    signal.signal(signal.SIGTERM, on_term)
    started = datetime.now(timezone.utc)
    report: dict[str, Any] = {
        "meta": {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(), "cpu_model": B.cpu_model(),
                 "python": platform.python_version(), "platform": platform.platform(), "git_commit": B.git_commit(),
                 "git_uncommitted": B.git_dirty(), "client": "in-process Flask test client",
                 "args": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
                 "goals": GOALS, "moments": {"due_cases_signed_for": at_iso(T_CLAIMED), "sweep": at_iso(T_SWEEP),
                                             "lights": at_iso(T_LIGHTS), "templates": at_iso(T_TEMPLATES)}},
        "runs": {},
    }
    exit_code = 0
    try:
        for kind in args.kinds:
            log(f"===== {kind} =====")
            before = B.cpu_check()
            log(f"machine: loadavg {before['loadavg']}, two busy loops at once take {before['factor']}x one alone")
            report["runs"][kind] = run_database(kind, args)
            report["runs"][kind]["machine_before"] = before
            report["runs"][kind]["machine_after"] = B.cpu_check()
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        exit_code = 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        exit_code = 130
    finally:
        out = B.finish_report(report, started, Path(args.output) if args.output else
                              RESULTS_DIR / f"sla-{started:%Y%m%d-%H%M%S}.json", print_report)
        if out is not None:
            print(f"results written to {out}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
