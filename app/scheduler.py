"""The timer scheduler: an APScheduler job that sweeps due BPMN timers every few seconds, hourly
ones that keep the duplicate detector's index to live cases and drop ended login sessions, and a
daily consistency check of running cases (``flask cases check``) at CHECK_AT local time, and the
monthly KPI evaluation reports on the 1st of each month (``flask kpis report``, REPORT_AT).

Run it as its own process next to gunicorn (``flask scheduler run``); several may run, on
several machines, because the sweep locks what it works on in the database
(:mod:`app.engine.timers`). For development, ``TONGGUAN_SCHEDULER_EMBEDDED=1`` starts it inside
the web process instead — once: not in the debug reloader's watcher process, and not twice in one
process.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

log = logging.getLogger(__name__)
JOB_ID = "tongguan-timer-sweep"
PURGE_JOB_ID = "tongguan-duplicate-purge"
CHECK_JOB_ID = "tongguan-case-check"
CHECK_AT = {"hour": 3, "minute": 30}  # Asia/Shanghai: the quietest hour of an operations centre
SESSION_PURGE_JOB_ID = "tongguan-session-purge"
REPORT_JOB_ID = "tongguan-kpi-monthly-report"
HOTSPOT_JOB_ID = "tongguan-hotspot-refresh"
REPORT_AT = {"day": 1, "hour": 2, "minute": 0}  # Asia/Shanghai: the month's evaluation report (考核报告)
_embedded: BackgroundScheduler | None = None
_embedded_lock = threading.Lock()


def sweep_job(app: Flask) -> None:
    """One sweep inside an app context; errors are logged, the next run tries again."""
    from app.engine.timers import sweep
    with app.app_context():
        try:
            sweep(batch=app.config["SETTINGS"].SCHEDULER_BATCH)
        except Exception:  # noqa: BLE001 - a failed sweep must not stop the scheduler
            log.exception("timer sweep failed; retrying at the next interval")


def purge_job(app: Flask) -> None:
    """Hourly: cases closed longer ago than the duplicate window leave the detector's index."""
    from app.core.db import transaction, utcnow
    from app.duplicates.store import purge
    with app.app_context():
        try:
            window = app.config["SETTINGS"].DEDUP_WINDOW_DAYS
            while True:
                with transaction():
                    if purge(utcnow(), window) < 1000:
                        break
        except Exception:  # noqa: BLE001 - a failed purge must not stop the scheduler
            log.exception("duplicate-index purge failed; retrying at the next run")


def check_job(app: Flask) -> None:
    """Daily: find cases whose workflow and tasks disagree and open an incident for each (several
    schedulers may run it: a case with an open incident is not flagged twice)."""
    from app.engine.consistency import check_cases
    with app.app_context():
        try:
            result = check_cases()
            (log.warning if result.findings else log.info)("case check: %s", result.summary())
        except Exception:  # noqa: BLE001 - a failed check must not stop the scheduler
            log.exception("case consistency check failed; retrying tomorrow")


def session_purge_job(app: Flask) -> None:
    """Hourly: sessions and API tokens that ended a week ago, and stale login-failure counters, go;
    so do the process designers' expired test runs (app.designer.testrun)."""
    from app.core.db import transaction
    from app.designer.testrun import clean_up
    from app.security.sessions import purge_ended
    with app.app_context():
        try:
            with transaction():
                purge_ended()
        except Exception:  # noqa: BLE001 - a failed purge must not stop the scheduler
            log.exception("session purge failed; retrying at the next run")
        try:
            with transaction():
                clean_up()
        except Exception:  # noqa: BLE001 - a failed purge must not stop the scheduler
            log.exception("test-run purge failed; retrying at the next run")


def report_job(app: Flask) -> None:
    """On the 1st of each month: store last month's evaluation report of the city and every district
    (app.kpis.reports). Several schedulers may run it: a report already stored is replaced."""
    from app.core.db import transaction
    from app.kpis.reports import last_month, store_month
    with app.app_context():
        try:
            with transaction():
                count = store_month(last_month())
            log.info("stored %d monthly KPI reports", count)
        except Exception:  # noqa: BLE001 - a failed report must not stop the scheduler
            log.exception("monthly KPI report failed; run it with 'flask kpis report'")

def hotspot_job(app: Flask) -> None:
    """Every minute: recompute the hot spot lists leaders asked for in the last day before they
    age out, so the cockpit's panel is answered from a stored list (app.hotspots.snapshots)."""
    from app.core import clock
    from app.hotspots.snapshots import refresh
    with app.app_context():
        try:
            refreshed, dropped = refresh(clock.now())
            if refreshed or dropped:
                log.info("hot spots: %d lists refreshed, %d dropped", refreshed, dropped)
        except Exception:  # noqa: BLE001 - a failed refresh must not stop the scheduler
            log.exception("hot spot refresh failed; the lists are computed on request meanwhile")


def _add_job(scheduler: Any, app: Flask, interval: int) -> None:
    from datetime import datetime, timezone
    # one run at a time; runs missed while busy or down collapse into one catch-up run
    scheduler.add_job(sweep_job, "interval", args=[app], seconds=interval, id=JOB_ID, max_instances=1,
                      coalesce=True, misfire_grace_time=None, next_run_time=datetime.now(timezone.utc))
    scheduler.add_job(purge_job, "interval", args=[app], hours=1, id=PURGE_JOB_ID, max_instances=1, coalesce=True,
                      misfire_grace_time=None)
    scheduler.add_job(check_job, "cron", args=[app], id=CHECK_JOB_ID, timezone="Asia/Shanghai", max_instances=1,
                      coalesce=True, misfire_grace_time=None, **CHECK_AT)
    scheduler.add_job(report_job, "cron", args=[app], id=REPORT_JOB_ID, timezone="Asia/Shanghai", max_instances=1,
                      coalesce=True, misfire_grace_time=None, **REPORT_AT)
    scheduler.add_job(session_purge_job, "interval", args=[app], hours=1, id=SESSION_PURGE_JOB_ID, max_instances=1,
                      coalesce=True, misfire_grace_time=None)
    scheduler.add_job(hotspot_job, "interval", args=[app], minutes=1, id=HOTSPOT_JOB_ID, max_instances=1,
                      coalesce=True, misfire_grace_time=None)


def run_forever(app: Flask, interval: int | None = None) -> None:
    """Block and sweep every ``interval`` seconds (``flask scheduler run``)."""
    seconds = interval or app.config["SETTINGS"].SCHEDULER_INTERVAL
    scheduler = BlockingScheduler(timezone="UTC")
    _add_job(scheduler, app, seconds)
    log.info("timer scheduler: sweeping every %d s", seconds)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def start_embedded(app: Flask) -> BackgroundScheduler | None:
    """Start the scheduler in this web process if configured; never twice, never in the reloader's
    watcher (Werkzeug runs the app in a child with WERKZEUG_RUN_MAIN=true)."""
    global _embedded
    if not app.config["SETTINGS"].SCHEDULER_EMBEDDED:
        return None
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None
    with _embedded_lock:
        if _embedded is None:
            _embedded = BackgroundScheduler(timezone="UTC", daemon=True)
            _add_job(_embedded, app, app.config["SETTINGS"].SCHEDULER_INTERVAL)
            _embedded.start()
            log.info("timer scheduler embedded in the web process")
    return _embedded


def stop_embedded() -> None:
    """Stop the embedded scheduler if this process runs one (shutdown, tests)."""
    global _embedded
    with _embedded_lock:
        if _embedded is not None:
            _embedded.shutdown(wait=True)
            _embedded = None
