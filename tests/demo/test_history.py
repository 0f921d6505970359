"""The demo history (app/demo/history.py) on a small scale: two weeks of the demo city, a few cases
a day, played into a database of its own (the rule: never into one with other cases), twice with
the same seed to see that it is the same history."""
from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text

from app import create_app

PG_URL = os.environ.get("TEST_DATABASE_URL")
END = datetime(2026, 11, 20, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Friday evening
DAYS, PER_DAY, SEED = 14, 3, 7


def _private_url(name: str, tmp: Path) -> str:
    """A database of its own: a schema of the test database on PostgreSQL, a file on SQLite."""
    if not PG_URL:
        return f"sqlite:///{tmp / name}.sqlite"
    engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {name}"))
    engine.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{name}"


def _drop_private(name: str) -> None:
    if PG_URL:
        engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        engine.dispose()


def _demo_app(name: str, tmp: Path, env: str = "testing") -> Flask:
    from app.orgs.directory import invalidate
    invalidate()  # the org directory is cached per process; this app has its own tree
    app = create_app({"ENV": env, "DATABASE_URL": _private_url(name, tmp), "SECRET_KEY": "h" * 40,
                      "ATTACHMENT_DIR": tmp / f"{name}-files"})
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["catalog", "load"], ["demo", "load"], ["processes", "deploy"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    return app


@pytest.fixture(scope="module")
def history_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Flask]]:
    """Apps on private demo databases, each with the same small history generated once."""
    from app.core import clock
    from app.demo.history import generate
    from app.orgs.directory import invalidate
    made: dict[str, Flask] = {}
    tmp = tmp_path_factory.mktemp("history")

    def get(name: str) -> Flask:
        if name not in made:
            app = made[name] = _demo_app(name, tmp)
            with app.app_context():
                clock.set_now(datetime(2030, 1, 1, tzinfo=timezone.utc))  # whatever it was, it comes back
                try:
                    summary = generate(per_day=PER_DAY, seed=SEED, days=DAYS, end=END)
                    assert clock.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)
                finally:
                    clock.set_now(None)
                assert summary is not None and summary.cases > 20
                app.config["summary"] = summary
        invalidate()
        return made[name]

    yield get
    for name, app in made.items():
        app.extensions["db_engine"].dispose()
        _drop_private(name)
    invalidate()


def _rows(app: Flask, statement: Any) -> list[Any]:
    from app.core.db import session
    from app.orgs.directory import invalidate
    invalidate()
    with app.app_context():
        try:
            return list(session.execute(statement).all())
        finally:
            session.remove()
            invalidate()


def test_every_kind_of_case_is_there(history_apps: Callable[[str], Flask]) -> None:
    from app.cases.models import Case
    from app.core.audit import AuditEvent
    from app.tasks.models import Task
    app = history_apps("demo_history_a")
    cases = _rows(app, select(Case.id, Case.status, Case.channel, Case.rework_count, Case.reopen_count,
                              Case.escalation_count, Case.return_count, Case.parked_at, Case.due_at, Case.merged_into_id,
                              Case.lat, Case.lng, Case.address, Case.reporter_phone, Case.has_incident))
    assert not any(c.has_incident for c in cases), "no step of the history failed in the engine"
    assert app.config["summary"].facts["engine incidents"] == 0
    statuses = {c.status for c in cases}
    assert {"open", "closed", "rejected", "merged"} <= statuses
    closed = [c for c in cases if c.status == "closed"]
    assert any(c.rework_count for c in closed), "a case reworked after a failed inspection"
    assert any(c.reopen_count for c in closed), "a case reopened after an unsatisfied call-back"
    assert any(c.escalation_count for c in cases), "an escalated case"
    assert any(c.return_count for c in cases), "a case returned by a wrongly chosen unit"
    assert any(c.merged_into_id for c in cases if c.status == "merged")
    end = END.astimezone(timezone.utc)
    assert any(c.status == "open" and c.parked_at is None and c.due_at is not None and c.due_at <= end for c in cases), \
        "an open case overdue at the end"
    handled = _rows(app, select(Task.case_id, Task.completed_at, Task.due_at).join(Case, Case.id == Task.case_id)
                    .where(Case.status == "closed", Task.bpmn_id == "handle_case", Task.state == "completed"))
    late = {t.case_id for t in handled if t.completed_at > t.due_at}
    assert late and len(late) < len(closed) / 2, "most closed on time, some late"
    actions = {a for (a,) in _rows(app, select(AuditEvent.action).distinct())}
    assert {"case_parked", "extension_approved", "return_approved", "task_urged", "case_merged",
            "task_escalated"} <= actions
    assert "case_unparked" in actions or any(c.parked_at for c in cases if c.status == "open")
    # the call-backs answer every question of the form, so the three rates have figures behind them
    from app.kpis.models import CaseFact
    facts = {f for (f,) in _rows(app, select(CaseFact.fact).distinct())}
    assert {"called_back", "reached", "solved", "satisfied", "closed_on_time", "closed_late", "reworked"} <= facts
    # the channels' mix and the places: in the city, phone numbers from the demo range only
    channels = [c.channel for c in cases]
    assert channels.count("hotline") == max(channels.count(ch) for ch in set(channels))
    assert all(c.lat and 31.1 < c.lat < 31.3 and 121.3 < c.lng < 121.6 for c in cases)
    assert all(c.address.startswith("示范市") for c in cases)
    assert all(c.reporter_phone is None or c.reporter_phone.startswith("1380000") for c in cases)


def test_times_are_inside_the_period_and_in_order(history_apps: Callable[[str], Flask]) -> None:
    from app.core.audit import AuditEvent
    app = history_apps("demo_history_a")
    summary = app.config["summary"]
    events = _rows(app, select(AuditEvent.id, AuditEvent.case_id, AuditEvent.at).where(AuditEvent.case_id.is_not(None))
                   .order_by(AuditEvent.id))
    assert events
    by_case: dict[int, list[datetime]] = defaultdict(list)
    for e in events:
        assert summary.start <= e.at <= summary.end, e
        by_case[e.case_id].append(e.at)
    for case_id, times in by_case.items():
        assert times == sorted(times), f"case {case_id}: audit events out of time order"
    local = [t.astimezone(ZoneInfo("Asia/Shanghai")) for t in (ts[0] for ts in by_case.values())]
    assert sum(8 <= t.hour < 20 for t in local) > len(local) / 2, "most reports come in by day"


def test_deadlines_follow_the_working_calendar(history_apps: Callable[[str], Flask]) -> None:
    """Each task's due time is its limit in working time from when its clock started (the tasks of
    cases that were parked, and extended tasks, moved on since: left out)."""
    from app.cases.models import Case
    from app.core.audit import AuditEvent
    from app.sla.service import current_calendar
    from app.tasks.models import Task
    app = history_apps("demo_history_a")
    tasks = _rows(app, select(Task.started_at, Task.created_at, Task.due_at, Task.time_limit, Task.sign_limit)
                  .join(Case, Case.id == Task.case_id)
                  .where(Task.time_limit.is_not(None), Task.due_at.is_not(None), Task.extension_minutes == 0,
                         ~Task.case_id.in_(select(AuditEvent.case_id).where(AuditEvent.action == "case_parked"))))
    assert len(tasks) > 50
    with app.app_context():
        calendar = current_calendar()
        checked = 0
        for t in tasks:
            start = t.started_at or t.created_at
            if t.sign_limit and t.started_at is None:
                continue  # not signed for yet: its due time is the sign-for limit's
            assert t.due_at == calendar.add(start, t.time_limit), t
            checked += 1
    assert checked > 50


def test_the_same_seed_makes_the_same_history(history_apps: Callable[[str], Flask]) -> None:
    from app.cases.models import Case
    from app.core.audit import AuditEvent
    columns = (Case.channel, Case.title, Case.description, Case.address, Case.status, Case.created_at, Case.closed_at,
               Case.reporter_name, Case.category_code, Case.tier)
    one = _rows(history_apps("demo_history_a"), select(*columns).order_by(Case.id))
    two = _rows(history_apps("demo_history_b"), select(*columns).order_by(Case.id))
    assert one == two
    trail = select(AuditEvent.action, AuditEvent.at, AuditEvent.actor_name).where(
        AuditEvent.case_id.is_not(None)).order_by(AuditEvent.id)
    assert _rows(history_apps("demo_history_a"), trail) == _rows(history_apps("demo_history_b"), trail)


def test_a_second_run_changes_nothing(history_apps: Callable[[str], Flask]) -> None:
    from app.cases.models import Case
    app = history_apps("demo_history_a")
    before = _rows(app, select(func.count(Case.id)))[0][0]
    result = app.test_cli_runner().invoke(args=["demo", "history", "--months", "1"])
    assert result.exit_code == 0 and "already present" in result.output, result.output
    assert _rows(app, select(func.count(Case.id)))[0][0] == before


def test_refused_in_production(history_apps: Callable[[str], Flask]) -> None:
    app = history_apps("demo_history_a")
    settings = app.config["SETTINGS"]
    settings.ENV = "production"
    try:
        for extra in ([], ["--if-empty"]):
            result = app.test_cli_runner().invoke(args=["demo", "history", *extra])
            assert result.exit_code == 1 and "never production" in result.output, result.output
    finally:
        settings.ENV = "testing"


def test_refused_where_there_are_other_cases(app: Flask, make_case: Callable[..., dict[str, Any]]) -> None:
    """The suite's database has cases of its own (made by the tests, as a real city's would be)."""
    make_case()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "history", "--months", "1"])
    assert result.exit_code == 1 and "did not make" in result.output, result.output
    result = runner.invoke(args=["demo", "history", "--months", "1", "--if-empty"])
    assert result.exit_code == 0 and "skipped" in result.output, result.output


def test_a_history_ends_in_the_past(history_apps: Callable[[str], Flask]) -> None:
    app = history_apps("demo_history_a")
    result = app.test_cli_runner().invoke(args=["demo", "history", "--until", "2999-01-01T00:00"])
    assert result.exit_code == 1 and "has not come yet" in result.output, result.output
