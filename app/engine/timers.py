"""Firing BPMN timer events that are due: the job behind ``flask scheduler``.

Each case keeps its earliest timer in ``workflow_instances.next_timer_at`` (indexed), so a sweep
reads only the due rows, never all cases. Due cases are handled in batches, one transaction per
batch; on PostgreSQL the batch's rows are locked with ``FOR UPDATE SKIP LOCKED``, so several
scheduler processes (on one or several machines) share the work and fire each timer once. On
SQLite the database has one writer at a time, and the version check of every workflow update
turns a second scheduler's stale copy into a skipped conflict instead of a second firing.

A sweep catches up after downtime: everything due up to now fires, oldest timer first.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Integer, bindparam, select, tuple_

from app.cases.models import Case
from app.core import clock
from app.core.db import session, transaction
from app.engine import host
from app.engine.models import WorkflowInstance

log = logging.getLogger(__name__)

INSTANCES, CASES = WorkflowInstance.__table__, Case.__table__
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Due (SpiffWorkflow fires a timer once its moment has passed) and not blocked by an incident (an
# administrator must act first), in (next_timer_at, case_id) order after the last case handled:
# the index ix_workflow_instances_next_timer on that pair gives the order, so a batch reads about
# as many index entries as it returns, however many cases exist.
_DUE = (select(INSTANCES.c.case_id, INSTANCES.c.next_timer_at)
        .join(CASES, CASES.c.id == INSTANCES.c.case_id)
        .where(INSTANCES.c.next_timer_at < bindparam("k_now", type_=INSTANCES.c.next_timer_at.type),
               tuple_(INSTANCES.c.next_timer_at, INSTANCES.c.case_id)
               > tuple_(bindparam("k_t", type_=INSTANCES.c.next_timer_at.type), bindparam("k_after", type_=Integer)),
               CASES.c.has_incident.is_(False))
        .order_by(INSTANCES.c.next_timer_at, INSTANCES.c.case_id).limit(bindparam("k_limit")))
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True, of=INSTANCES)


@dataclass
class SweepResult:
    fired: int = 0  # cases whose process moved
    unchanged: int = 0
    incidents: int = 0
    conflicts: int = 0  # changed meanwhile by someone else (another scheduler, a request)
    batches: int = 0
    seconds: float = 0.0
    case_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (f"fired {self.fired} case(s), {self.unchanged} unchanged, {self.incidents} incident(s), "
                f"{self.conflicts} conflict(s) in {self.batches} batch(es), {self.seconds:.2f} s")


def due_statement(dialect: str):  # type: ignore[no-untyped-def]
    """The query that finds due cases (locking and skipping on PostgreSQL)."""
    return _DUE_LOCKED if dialect == "postgresql" else _DUE


def sweep(now: datetime | None = None, batch: int = 100, keep_ids: bool = False) -> SweepResult:
    """Fire every timer due at ``now`` (default: the clock; given, the clock stands at ``now``
    for the sweep, timers included). Commits once per batch."""
    if now is not None:
        with clock.frozen(now):
            return sweep(None, batch, keep_ids)
    started = time.perf_counter()
    result = SweepResult()
    at = clock.now()
    after: tuple[datetime, int] = (EPOCH, 0)
    while True:
        with transaction():
            statement = due_statement(session.get_bind().dialect.name)
            rows = session.execute(statement, {"k_now": at, "k_t": after[0], "k_after": after[1], "k_limit": batch}).all()
            if not rows:
                break
            result.batches += 1
            for case_id, _moment in rows:
                _fire(case_id, result)
                if keep_ids:
                    result.case_ids.append(case_id)
            after = (rows[-1].next_timer_at, rows[-1].case_id)
        session.remove()
    result.seconds = time.perf_counter() - started
    if result.fired or result.incidents or result.conflicts:
        log.info("timer sweep: %s", result.summary())
    return result


def _fire(case_id: int, result: SweepResult) -> None:
    case = session.get(Case, case_id)
    if case is None or case.has_incident:
        return
    try:
        moved = host.fire_timers(case)
    except host.EngineIncidentError:
        result.incidents += 1  # written with the incident; the case waits for an administrator
        return
    except (host.CaseConflict, host.CaseHasIncident):
        result.conflicts += 1
        return
    if moved:
        result.fired += 1
    else:
        result.unchanged += 1
