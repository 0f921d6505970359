"""What the engine host refuses or reports: the exceptions of the narrow door.

Re-exported by :mod:`app.engine.host`, where callers name them (``host.CaseConflict``).
"""
from __future__ import annotations

from app.engine.models import Incident


class EngineError(Exception):
    """Base for refusals by the engine host."""


class CaseConflict(EngineError):
    """The case changed under the caller (another request won); nothing was changed."""


class TaskNotReady(EngineError):
    """The task is no longer waiting for completion."""


class CaseHasIncident(EngineError):
    """The case waits for an administrator to retry or dismiss an engine incident."""


class EngineIncidentError(EngineError):
    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        super().__init__(f"engine incident #{incident.id}: {incident.error}")


class NoProcessDeployed(EngineError):
    pass


class EventNotExpected(EngineError):
    """The process does not wait for this event at this task (e.g. no escalation from this step)."""


class DuplicateDelivery(EngineError):
    """The new case collided with a unique channel message id or idempotency key at the write."""


class NoWayForward(EngineError):
    """An open case whose process waits for nothing the product can give it: no user task, no
    timer, and no incident. Opened as an incident by the host; a repair that leaves the case so
    is refused with this error."""

    def __init__(self, stalled: list[str]) -> None:
        self.stalled = stalled
        self.task = None
        where = " › ".join(stalled) or "—"
        super().__init__(f"流程无法继续：案件没有待办任务、计时器或事件告警（停在 {where}）/ no way forward: the open case "
                         f"has no user task, no waiting timer and no incident (stalled at {where})")
