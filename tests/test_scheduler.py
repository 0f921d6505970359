"""The embedded scheduler starts once per process, never in the debug reloader's watcher, and
its job sweeps due timers (the sweep itself is tested in tests/engine/test_timers.py)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app import scheduler


@pytest.fixture()
def embedded_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setattr(app.config["SETTINGS"], "SCHEDULER_EMBEDDED", True)
    yield app
    scheduler.stop_embedded()


def test_starts_once_per_process(embedded_app: Flask) -> None:
    first = scheduler.start_embedded(embedded_app)
    assert first is not None and first.running
    assert scheduler.start_embedded(embedded_app) is first
    assert sorted(job.id for job in first.get_jobs()) == sorted([scheduler.JOB_ID, scheduler.PURGE_JOB_ID,
                                                                   scheduler.CHECK_JOB_ID, scheduler.SESSION_PURGE_JOB_ID,
                                                                   scheduler.REPORT_JOB_ID, scheduler.HOTSPOT_JOB_ID])


def test_the_kpi_report_is_stored_on_the_first_of_each_month(embedded_app: Flask) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    job = scheduler.start_embedded(embedded_app).get_job(scheduler.REPORT_JOB_ID)
    after = datetime(2026, 12, 3, 4, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert job.trigger.get_next_fire_time(None, after) == datetime(2027, 1, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_case_check_runs_daily_at_half_past_three(embedded_app: Flask) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    job = scheduler.start_embedded(embedded_app).get_job(scheduler.CHECK_JOB_ID)
    after = datetime(2026, 12, 2, 4, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert job.trigger.get_next_fire_time(None, after) == datetime(2026, 12, 3, 3, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_not_in_the_reloader_watcher(embedded_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded_app, "debug", True)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert scheduler.start_embedded(embedded_app) is None  # the watcher process only restarts the child
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    assert scheduler.start_embedded(embedded_app) is not None  # the child serving requests runs it


def test_off_unless_configured(app: Flask) -> None:
    assert app.config["SETTINGS"].SCHEDULER_EMBEDDED is False
    assert scheduler.start_embedded(app) is None


def test_the_job_survives_a_failing_sweep(app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import app.engine.timers as timers

    def broken(**_kw: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(timers, "sweep", broken)
    scheduler.sweep_job(app)  # logs, does not raise
    assert "timer sweep failed" in caplog.text


def test_the_purge_job_takes_old_closed_cases_out_of_the_duplicate_index(
        app: Flask, make_case: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from app.cases.models import Case
    from app.core.db import transaction, utcnow
    from app.duplicates.models import DuplicateKey
    case = make_case()
    with app.app_context(), transaction() as s:
        row = s.get(Case, case["id"])
        row.status, row.closed_at = "closed", utcnow() - timedelta(days=app.config["SETTINGS"].DEDUP_WINDOW_DAYS + 1)
    scheduler.purge_job(app)
    with app.app_context(), transaction() as s:
        assert s.scalar(select(func.count()).select_from(DuplicateKey).where(DuplicateKey.case_id == case["id"])) == 0
