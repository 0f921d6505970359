"""A big city for the benchmarks: a fresh database with the demo city and N cases of history.

Used by the cockpit, KPI and map benchmarks (``bench_cockpit.py``, ``bench_kpis.py``, ...), which
need a year of a large city (1,000,000 cases) that the product could not play through its own
operations in reasonable time. The rows are written straight into the tables, in the shape the
product writes them:

- ``cases``: a year of arrivals (more on weekdays and in office hours), channels in a hotline-heavy
  mix, categories of the loaded GB/T 47678.5 directory, places around the communities of the demo
  city, handling units (district and city departments, streets), tiers; cases older than their
  limit are closed, most of them on time; a few reworked, reopened, escalated, supervised, parked,
  merged into a master; the newest are open.
- ``tasks``: the open handling task of every open case (unit path, deadline, yellow time, claimed
  or not), and for every closed case its completed handling task and its completed call-back.
- ``audit_events``: ``case_created`` for every case and ``task_completed`` of every call-back with
  the form's data (``reached``, ``solved``, ``satisfied``, ``score``), as the product records them.

Deadlines are calendar approximations of the working-time limits (the benchmarks measure queries,
not the calendar). A module, not a command: ``fresh_app(url)`` then ``load(app, n)``.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask
from sqlalchemy import JSON, insert, select, text

from app.catalog.models import CatalogCategory
from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core.db import session
from app.orgs.models import OrgUnit, User
from app.tasks.models import Task
from bench.scratch import scratch_app

CHANNEL_MIX = (("hotline", 52), ("grid", 18), ("city_mgmt", 10), ("wechat", 8), ("police110", 4),
               ("mailbox", 3), ("weibo", 2), ("open311", 2), ("api", 1))
LIMIT_DAYS = ((1, 15), (3, 30), (7, 45), (15, 10))  # (calendar days, weight) ≈ 4 h … 15 working days
BATCH = 5000


def fresh_app(url: str | None = None) -> tuple[Flask, str]:
    """A migrated database with the catalogue, the demo city and the deployed processes
    (``bench/scratch.py``: SQLite in a new temporary folder, or a PostgreSQL scratch database whose
    public schema is DROPPED and recreated)."""
    return scratch_app(url, "bench_city_", (("db", "upgrade"), ("catalog", "load"), ("demo", "load"),
                                             ("processes", "deploy")))


@dataclass
class Loaded:
    cases: int
    tasks: int
    events: int
    seconds: float
    start: datetime
    end: datetime


def _weighted(rnd: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rnd.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _arrival(rnd: random.Random, start: datetime, days: int) -> datetime:
    """A moment in [start, start + days): weekdays twice as busy, most calls 8:00–20:00 local."""
    while True:
        day = start + timedelta(days=rnd.randrange(days))
        local_weekday = (day + timedelta(hours=8)).weekday()
        if local_weekday < 5 or rnd.random() < 0.5:
            break
    local_hour = rnd.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 14, 10, 12, 14, 14, 12, 10,
                                                 8, 6, 4, 3, 2, 1])[0]
    return day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        hours=local_hour - 8, minutes=rnd.randrange(60), seconds=rnd.randrange(60))


def _write(table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows: PostgreSQL's COPY (executemany is a round trip a row there), else one INSERT."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in json_columns else row[c] for c in columns])


def load(app: Flask, n: int, *, seed: int = 7, days: int = 365, end: datetime | None = None,
         progress: bool = True) -> Loaded:
    """Write ``n`` cases of the last ``days`` days (ending ``end``, default now) with their tasks
    and audit events; returns what was written and how long it took."""
    rnd = random.Random(seed)
    end = (end or datetime.now(timezone.utc)).replace(microsecond=0)
    start = end - timedelta(days=days)
    t0 = time.perf_counter()
    with app.app_context():
        units = list(session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.kind, OrgUnit.path, OrgUnit.lat,
                                            OrgUnit.lng, OrgUnit.parent_id)))
        by_id = {u.id: u for u in units}
        communities = [u for u in units if u.kind == "community"]
        departments = [u for u in units if u.kind == "department"]
        streets = {u.id: u for u in units if u.kind == "street"}
        categories = list(session.scalars(select(CatalogCategory.key)))
        assert categories, "load the catalogue first (flask catalog load)"
        hot = rnd.sample(categories, 20)  # a city's problems are not uniform: 20 categories take half
        operator = session.scalar(select(User.id).where(User.username == "demo_operator"))
        dispatcher = session.scalar(select(User.id).where(User.username == "demo_dispatcher"))
        next_case = (session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
        next_task = (session.scalar(select(Task.id).order_by(Task.id.desc()).limit(1)) or 0) + 1
        n_tasks = n_events = 0
        for batch_start in range(0, n, BATCH):
            cases, tasks, events = [], [], []
            for _ in range(batch_start, min(batch_start + BATCH, n)):
                cid = next_case
                next_case += 1
                grid = rnd.choice(communities)
                street = streets[grid.parent_id]
                district = by_id[street.parent_id]
                roll = rnd.random()
                if roll < 0.55:  # a district department
                    handling = rnd.choice([d for d in departments if d.parent_id == district.id])
                    tier = "district"
                elif roll < 0.75:
                    handling, tier = street, "street"
                elif roll < 0.9:
                    handling = rnd.choice([d for d in departments if d.parent_id != district.id
                                           and by_id[d.parent_id].kind == "city"])
                    tier = "city"
                else:
                    handling, tier = grid, "community"
                created = _arrival(rnd, start, days)
                limit = timedelta(days=_weighted(rnd, LIMIT_DAYS))
                due = created + limit
                yellow = due - limit / 5
                channel = _weighted(rnd, CHANNEL_MIX)
                category = rnd.choice(hot) if rnd.random() < 0.5 else rnd.choice(categories)
                late = rnd.random() < 0.08
                closed_at = due + timedelta(hours=rnd.uniform(1, 72)) if late else \
                    created + (due - created) * rnd.uniform(0.1, 0.95)
                status = "closed" if closed_at < end else "open"
                merged_into = None
                if status == "closed" and cid > 100 and rnd.random() < 0.03:
                    status, merged_into = "merged", cid - rnd.randint(1, 50)
                parked = status == "open" and rnd.random() < 0.03
                escalated = rnd.random() < 0.04
                cases.append({
                    "id": cid, "channel": channel, "title": f"问题 {cid}", "description": "bench", "address": "bench",
                    "lat": (grid.lat or 31.2) + rnd.gauss(0, 0.006), "lng": (grid.lng or 121.45) + rnd.gauss(0, 0.006),
                    "category_code": category, "urgency": "urgent" if rnd.random() < 0.05 else "normal",
                    "status": status, "stage": "handle" if status == "open" else "done", "tier": tier,
                    "grid_unit_id": grid.id, "handling_unit_id": handling.id,
                    "rework_count": 1 if rnd.random() < 0.05 else 0, "reopen_count": 1 if rnd.random() < 0.02 else 0,
                    "has_incident": False, "escalation_count": 1 if escalated else 0,
                    "return_count": 1 if rnd.random() < 0.04 else 0,
                    "due_at": due if status == "open" else None, "yellow_at": yellow if status == "open" else None,
                    "supervised_at": created + limit / 2 if escalated and rnd.random() < 0.5 else None,
                    "parked_at": created + limit / 3 if parked else None, "park_reason": "待资金安排" if parked else None,
                    "created_by_id": operator, "created_at": created, "updated_at": min(closed_at, end),
                    "closed_at": closed_at if status != "open" else None, "merged_into_id": merged_into,
                    "merged_at": closed_at if merged_into else None, "repeat_count": 0})
                events.append({"at": created, "actor_id": operator, "actor_name": "demo_operator", "case_id": cid,
                               "task_id": None, "action": "case_created", "detail": {"channel": channel}})
                common = {"case_id": cid, "spiff_id": f"bench-{cid}", "org_unit_id": handling.id,
                          "unit_path": handling.path, "created_at": created + timedelta(minutes=30)}
                handle = {**common, "id": next_task, "bpmn_id": "handle_case", "name": "任务处理 (主办)",
                          "stage": "handle", "role": "handler", "form": "handle_case.json", "time_limit": "7d",
                          "started_at": created + timedelta(minutes=40), "due_at": due, "yellow_at": yellow,
                          "paused_at": created + limit / 3 if parked else None, "extension_minutes": 0, "urge_count": 0}
                next_task += 1
                if status == "open":
                    claimed = rnd.random() < 0.7
                    tasks.append({**handle, "state": "open", "claimed_by_id": None, "claimed_at": None,
                                  "completed_at": None, "completed_by_id": None,
                                  **({"claimed_at": created + timedelta(minutes=40)} if claimed else {})})
                    continue
                tasks.append({**handle, "state": "completed", "claimed_by_id": None, "claimed_at": handle["started_at"],
                              "completed_at": closed_at - timedelta(hours=1), "completed_by_id": None})
                if merged_into:
                    continue
                reached = rnd.random() < 0.9
                satisfied = reached and rnd.random() < (0.6 if late else 0.93)
                solved = reached and (satisfied or rnd.random() < 0.4)
                callback_id = next_task
                next_task += 1
                done = closed_at + timedelta(hours=rnd.uniform(2, 20))
                tasks.append({**common, "id": callback_id, "bpmn_id": "callback_case", "name": "考核评价 (回访)",
                              "stage": "evaluate", "role": "dispatcher", "form": "callback_case.json",
                              "time_limit": "1d", "started_at": closed_at, "due_at": closed_at + timedelta(days=1),
                              "yellow_at": None, "paused_at": None, "extension_minutes": 0, "urge_count": 0,
                              "state": "completed" if done < end else "open", "claimed_by_id": None,
                              "claimed_at": None, "completed_at": done if done < end else None,
                              "completed_by_id": dispatcher if done < end else None, "created_at": closed_at})
                if done < end:
                    events.append({"at": done, "actor_id": dispatcher, "actor_name": "demo_dispatcher", "case_id": cid,
                                   "task_id": callback_id, "action": "task_completed",
                                   "detail": {"task": "考核评价 (回访)", "bpmn_id": "callback_case",
                                              "data": {"reached": reached, "solved": solved, "satisfied": satisfied,
                                                       "score": (rnd.randint(4, 5) if satisfied else rnd.randint(1, 3))}}})
            for table, rows in ((Case.__table__, cases), (Task.__table__, tasks), (AuditEvent.__table__, events)):
                _write(table, rows)
            session.commit()
            n_tasks += len(tasks)
            n_events += len(events)
            if progress and (batch_start // BATCH) % 20 == 19:
                print(f"  … {batch_start + BATCH:,} cases ({time.perf_counter() - t0:.0f} s)", flush=True)
        if session.get_bind().dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in ("cases", "tasks"):
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
    return Loaded(n, n_tasks, n_events, time.perf_counter() - t0, start, end)

