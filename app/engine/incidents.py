"""Engine incidents: an action that failed (kept at the case's last good state until an
administrator retries or dismisses it) or a case found stopped (repaired). Opened and resolved in
the caller's transaction, each with its audit event."""
from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select

from app.cases.models import Case
from app.core.audit import record
from app.core.db import session, utcnow
from app.engine import sandbox
from app.engine.errors import EngineError, NoWayForward
from app.engine.models import Incident
from app.engine.store import _set_incident_flag

log = logging.getLogger(__name__)


#: Incidents of a case that stopped (not of an action that failed): they are repaired, not retried.
STOPPED = ("no_way_forward", "inconsistent")


def incident_kind(incident: Incident) -> str:
    """``'stopped'`` for a case found with no way forward or out of step with its tasks, else
    ``'failed'`` (an action that raised: retry it once the cause is fixed)."""
    try:
        kind = json.loads(incident.action).get("type")
    except (ValueError, AttributeError):
        kind = None
    return "stopped" if kind in STOPPED else "failed"


def _open_incident(case_id: int, action: dict[str, Any], exc: Exception, actor: Any) -> Incident:
    element = None
    task = getattr(exc, "task", None)
    if task is not None:
        element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    elif isinstance(exc, NoWayForward) and exc.stalled:
        element = exc.stalled[-1]  # the innermost activity it stopped in
    message = str(exc) if isinstance(exc, NoWayForward) else f"{type(exc).__name__}: {exc}"
    error_type = getattr(exc, "error_type", None)
    if error_type and error_type != "unknown":
        message = f"{error_type} in {message}"
    limit = sandbox.limit_exceeded(exc)
    if limit is not None:  # a budget breach: its own message, which names the element
        element = element or limit.element
        message = str(limit) if limit.element or not element else f"{limit} in task {element}"
    log.warning("engine incident in case %s at %s: %s", case_id, element, message)
    incident = Incident(case_id=case_id, action=json.dumps(action, ensure_ascii=False, default=str),
                        error=message[:4000], element=element)
    session.add(incident)
    session.flush()
    record("incident_opened", actor=actor, case_id=case_id, incident=incident.id, element=element, error=message[:500])
    return incident


def _resolve(incident: Incident, actor: Any, resolution: str) -> None:
    if incident.resolved_at is not None:
        raise EngineError(f"incident {incident.id} is already {incident.resolution}")
    incident.resolved_at, incident.resolved_by_id, incident.resolution = utcnow(), getattr(actor, "id", None), resolution
    session.flush()
    record(f"incident_{resolution}", actor=actor, case_id=incident.case_id, incident=incident.id)


def _resolve_open_incidents(case: Case, actor: Any, resolution: str) -> list[int]:
    incidents = session.scalars(select(Incident).where(Incident.case_id == case.id, Incident.resolved_at.is_(None))
                                .order_by(Incident.id)).all()
    for incident in incidents:
        _resolve(incident, actor, resolution)
    _set_incident_flag(case, False)
    return [i.id for i in incidents]
