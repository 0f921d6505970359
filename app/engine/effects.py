"""What a process may ask of the product beyond its own data: deadlines, reminders, supervision.

Scripts in BPMN cannot touch the database (they run in the sandbox). Instead they call these
helpers, and the engine host carries out what they ask in the same transaction:

* ``deadline('yellow')`` / ``deadline('due')`` — for the ``timeDate`` of a boundary timer: the
  moment the task it is attached to turns yellow or red. The host owns the deadline (working
  time, clock started at claim, extensions, parking) and re-arms the timers whenever it moves.
  Until a deadline is known, or while the case is parked, the answer is :data:`FAR_FUTURE`.
* ``remind(task_id, message)`` — 催办: notify whoever holds the named user task (or, while
  nobody has claimed it, everyone who may claim it).
* ``supervise(task_id, message)`` — 转督办: notify the supervisors over the task's unit and put the
  case on the supervisors' list of escalated cases.

The engine only collects ``remind`` and ``supervise``; what they do is the business of the feature
that owns it (督办, :mod:`app.supervision`), which registers a handler for each kind at start-up
(:func:`register_handler`, called from ``create_app``). So the engine imports no feature's
operations, and a feature can change what a reminder does without touching the engine. An effect
whose kind has no handler is refused where the script asks for it: the action becomes an
incident, never a reminder silently dropped.

The engine's timer events also read the product clock (:mod:`app.core.clock`), so tests and the
``--at`` option of ``flask scheduler sweep`` decide what "now" is for timers too.
"""
from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

from app.core import clock
from app.engine.sandbox import evaluating_task

#: The answer of ``deadline()`` when there is none (no limit yet, or the case is parked).
FAR_FUTURE = "9999-12-31T00:00:00+00:00"
FAR_FUTURE_YEAR = 9999
DEADLINE_KEY = "tg_deadline"  # internal data of a user task: {"yellow": iso, "due": iso} or None
POINTS = ("yellow", "due")


@dataclass(frozen=True)
class Effect:
    kind: str  # "remind" | "supervise"
    task_bpmn_id: str
    message: str


_effects: ContextVar[list[Effect] | None] = ContextVar("tongguan_effects", default=None)

#: The kinds of effect a process can ask for (the script helpers below).
KINDS = ("remind", "supervise")

#: ``handler(case, rows, message, now)``: carry out one effect in the action's transaction. ``rows``
#: are the open task rows of the effect's user task (attribute access: ``id``, ``name``, ``role``,
#: ``unit_path``, ``claimed_by_id``, …); ``case`` is the case, written already by the host.
EffectHandler = Callable[[Any, list[Any], str, datetime], None]
_handlers: dict[str, EffectHandler] = {}


class UnhandledEffect(RuntimeError):
    """A process asked for an effect no feature has registered a handler for."""


def register_handler(kind: str, handler: EffectHandler) -> None:
    """Make ``handler`` carry out the effect ``kind`` (once per process, at start-up; registering
    the same handler again is harmless, a second different one is refused)."""
    if kind not in KINDS:
        raise ValueError(f"unknown effect {kind!r}; a process can ask for {', '.join(KINDS)}")
    current = _handlers.get(kind)
    if current is not None and current is not handler:
        raise ValueError(f"effect {kind!r} is handled already by {current.__module__}.{current.__qualname__}")
    _handlers[kind] = handler


def handler_for(kind: str) -> EffectHandler:
    """The registered handler of ``kind``; :class:`UnhandledEffect` if there is none."""
    handler = _handlers.get(kind)
    if handler is None:
        raise UnhandledEffect(f"no handler is registered for the effect {kind}(): the product cannot carry it "
                              "out (a feature registers it at start-up, see app.engine.effects.register_handler)")
    return handler


def collect() -> tuple[list[Effect], Any]:
    """Start collecting effects for one host action; returns the list and a reset token."""
    effects: list[Effect] = []
    return effects, _effects.set(effects)


def stop_collecting(token: Any) -> None:
    _effects.reset(token)


def attached_task(task: Any) -> Any:
    """The activity a boundary event task is attached to (its sibling that is not an event)."""
    if task is None or not isinstance(task.task_spec, BoundaryEvent) or task.parent is None:
        return None
    for sibling in task.parent.children:
        if not isinstance(sibling.task_spec, BoundaryEvent):
            return sibling
    return None


def deadline(point: str = "due") -> str:
    """ISO moment at which the attached task turns ``'yellow'`` or becomes overdue (``'due'``)."""
    if point not in POINTS:
        raise ValueError(f"deadline() takes 'yellow' or 'due', not {point!r}")
    attached = attached_task(evaluating_task())
    if attached is None:
        raise ValueError("deadline() can only be used in the timer of a boundary event on a user task")
    known = attached.internal_data.get(DEADLINE_KEY)
    return known.get(point) or FAR_FUTURE if known else FAR_FUTURE


def _effect(kind: str, task_bpmn_id: Any, message: Any) -> None:
    if not isinstance(task_bpmn_id, str) or not task_bpmn_id:
        raise ValueError(f"{kind}() needs the id of a user task, e.g. {kind}('handle_case', '...')")
    if not isinstance(message, str) or not message.strip():
        raise ValueError(f"{kind}() needs a message")
    effects = _effects.get()
    if effects is None:
        raise RuntimeError(f"{kind}() called outside the engine host")
    handler_for(kind)  # refused here, in the script's task, rather than dropped after the step
    effects.append(Effect(kind, task_bpmn_id, message.strip()[:500]))


def remind(task_bpmn_id: str, message: str) -> None:
    """催办: tell the holder of the open user task ``task_bpmn_id`` (or its candidates)."""
    _effect("remind", task_bpmn_id, message)


def supervise(task_bpmn_id: str, message: str) -> None:
    """转督办: alert the supervisors over the unit of ``task_bpmn_id`` and mark the case escalated."""
    _effect("supervise", task_bpmn_id, message)


SCRIPT_HELPERS = {"deadline": deadline, "remind": remind, "supervise": supervise}


def is_far_future(moment: datetime) -> bool:
    return moment.year >= FAR_FUTURE_YEAR


class _ClockDatetime(datetime):
    """``datetime`` whose ``now()`` is the product clock: SpiffWorkflow's timers compare with it."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        moment = clock.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone(timezone.utc).replace(tzinfo=None)


_spiff_timer.datetime = _ClockDatetime  # type: ignore[attr-defined]
