"""Which documented facts hold for a case, computed from its row, its task rows and its audit events.

This is the one definition of every fact a KPI formula may count (``docs/kpis.md`` lists them with
the same words). A fact counts on one local day (Asia/Shanghai) and for one responsible unit: the
case's handling unit (承办单位, the unit that is evaluated), else the unit of its handling task,
else its grid unit. The process is data: handling and call-back steps are recognised by their
``stage`` property (``handle``, ``evaluate``), not by the ids of a particular diagram.

Each fact carries ``why``: the moments and events it was computed from, shown on the case page
and in the API so a figure can be traced back to the cases behind it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

#: audit events the facts read (the rest of a case's history does not change a fact)
EVENT_ACTIONS = ("task_created", "task_completed", "case_parked", "extension_approved")

#: every fact, with the day it counts on; ``live`` facts are counted at query time (docs/kpis.md)
FACTS: dict[str, dict[str, str]] = {
    "received": {"zh": "受理", "en": "received", "day": "created"},
    "merged": {"zh": "重复件并入主件", "en": "merged into a master", "day": "created"},
    "rejected": {"zh": "不予立案", "en": "rejected", "day": "created"},
    "response_due": {"zh": "应响应", "en": "to be signed for", "day": "created"},
    "responded": {"zh": "按时响应（签收）", "en": "signed for in time", "day": "created"},
    "due": {"zh": "应结", "en": "due", "day": "deadline"},
    "extended": {"zh": "已批准延期", "en": "deadline extended", "day": "deadline"},
    "deferred": {"zh": "挂账（不计入应结）", "en": "deferred (parked)", "day": "deadline"},
    "closed_on_time": {"zh": "按期办结", "en": "finished on time", "day": "deadline"},
    "closed_late": {"zh": "超期办结", "en": "finished late", "day": "deadline"},
    "pending": {"zh": "应结未办结", "en": "due, not finished", "day": "deadline"},
    "overdue_open": {"zh": "超期未办结（实时）", "en": "overdue and open (live)", "day": "deadline", "live": "1"},
    "closed": {"zh": "结案", "en": "closed", "day": "closed"},
    "reworked": {"zh": "返工", "en": "reworked", "day": "closed"},
    "reopened": {"zh": "重办", "en": "reopened", "day": "closed"},
    "handling_minutes": {"zh": "处置用时（工作分钟）", "en": "handling time (working minutes)", "day": "closed"},
    "called_back": {"zh": "已回访", "en": "called back", "day": "callback"},
    "reached": {"zh": "回访接通", "en": "reporter reached", "day": "callback"},
    "solved": {"zh": "问题已解决", "en": "solved", "day": "callback"},
    "satisfied": {"zh": "群众满意", "en": "satisfied", "day": "callback"},
}
STORED_FACTS = tuple(k for k, v in FACTS.items() if not v.get("live"))

HANDLE_STAGE = "handle"
CALLBACK_STAGE = "evaluate"


@dataclass(frozen=True)
class Fact:
    """One fact of one case: where and when it counts, and what it was computed from."""

    fact: str
    day: date
    at: datetime | None
    unit_path: str
    area_path: str | None
    channel: str
    category: str | None
    tier: str | None
    value: float = 0.0
    why: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def key(self) -> tuple[Any, ...]:
        """What must match for a stored row to be this fact (the evidence may be re-worded)."""
        return (self.day, self.at, self.unit_path, self.area_path, self.channel, self.category, self.tier,
                round(self.value, 3))


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def _iso(moment: datetime | None) -> str | None:
    """A local time to the minute, "2026-11-20 14:05" (evidence shown to people)."""
    return moment.astimezone(LOCAL_TZ).isoformat(" ", "minutes")[:16] if moment else None


def _lead_handling(tasks: list[Any], handling_unit_id: int | None) -> Any:
    """The task the case's deadline is judged on: its latest handling task (the newest round after
    a rework, a reopen or an escalation), the lead unit's (主办) rather than a co-handler's."""
    handling = [t for t in tasks if t.stage == HANDLE_STAGE and t.state != "cancelled"]
    if not handling:
        return None
    newest_round = max(t.created_at for t in handling)
    latest = [t for t in handling if t.created_at == newest_round]
    lead = [t for t in latest if t.org_unit_id == handling_unit_id] or latest
    return max(lead, key=lambda t: t.id)


def case_facts(case: Any, tasks: Iterable[Any], events: Iterable[Any], paths: Mapping[int, str],
               working_minutes: Callable[[datetime, datetime], int]) -> list[Fact]:
    """The facts that hold for ``case`` now.

    ``case`` and ``tasks`` are rows with the columns of ``cases`` and ``tasks``; ``events`` rows of
    ``audit_events`` (at least those of :data:`EVENT_ACTIONS`, in id order); ``paths`` the org
    units' paths by id; ``working_minutes(a, b)`` the working calendar's time between moments.
    """
    tasks = sorted(tasks, key=lambda t: t.id)
    events = list(events)
    lead = _lead_handling(tasks, case.handling_unit_id)
    unit_id = case.handling_unit_id or (lead.org_unit_id if lead is not None else None) or case.grid_unit_id
    unit_path = paths.get(unit_id) if unit_id is not None else None
    unit_path = unit_path or "/"
    area_path = paths.get(case.grid_unit_id) if case.grid_unit_id is not None else None
    out: list[Fact] = []

    def add(name: str, moment: datetime, value: float = 0.0, **why: Any) -> None:
        out.append(Fact(name, local_day(moment), moment, unit_path, area_path, case.channel, case.category_code,
                        case.tier, value, why))

    created = case.created_at
    add("received", created, received=_iso(created))
    if case.status == "merged":
        add("merged", created, merged_into=case.merged_into_id, merged_at=_iso(case.merged_at))
        return out  # a repeat counts once: its master carries the case's evaluation
    if case.status == "rejected":
        add("rejected", created, closed=_iso(case.closed_at))
        return out

    handling = [t for t in tasks if t.stage == HANDLE_STAGE and t.state != "cancelled"]
    if handling:
        first = handling[0]
        created_events = {e.task_id: e for e in events if e.action == "task_created"}
        initial = created_events.get(first.id)
        initial_due = _parse((initial.detail or {}).get("due_at")) if initial is not None else None
        # the first deadline the task had: its sign-for limit (签收) while unclaimed, else its limit
        sign_by = initial_due or first.due_at
        signed = first.claimed_at or first.completed_at
        add("response_due", created, task=first.id, sign_by=_iso(sign_by))
        if signed is not None and (sign_by is None or signed <= sign_by):
            add("responded", created, task=first.id, signed=_iso(signed), sign_by=_iso(sign_by))

    if lead is not None and lead.due_at is not None:
        deadline = lead.due_at
        parked = case.parked_at is not None or any(e.action == "case_parked" for e in events)
        extensions = [e for e in events if e.action == "extension_approved" and e.task_id == lead.id]
        base = {"task": lead.id, "deadline": _iso(deadline)}
        add("due", deadline, **base)
        if lead.extension_minutes:
            add("extended", deadline, **base, extension_minutes=lead.extension_minutes, approvals=len(extensions))
        finished = lead.completed_at if lead.state == "completed" else None
        if parked:
            add("deferred", deadline, **base, parked=_iso(case.parked_at) or "earlier")
        elif finished is None:
            add("pending", deadline, **base)
        elif finished <= deadline:
            add("closed_on_time", deadline, **base, finished=_iso(finished))
        else:
            add("closed_late", deadline, **base, finished=_iso(finished))

    if case.status == "closed" and case.closed_at is not None:
        closed = case.closed_at
        add("closed", closed, closed=_iso(closed))
        if case.rework_count:
            add("reworked", closed, closed=_iso(closed), rework_count=case.rework_count)
        if case.reopen_count:
            add("reopened", closed, closed=_iso(closed), reopen_count=case.reopen_count)
        if lead is not None and lead.completed_at is not None:
            minutes = working_minutes(created, lead.completed_at)
            add("handling_minutes", closed, float(minutes), received=_iso(created), finished=_iso(lead.completed_at),
                working_minutes=minutes)

    callbacks = {t.id for t in tasks if t.stage == CALLBACK_STAGE and t.state == "completed"}
    answers = [e for e in events if e.action == "task_completed" and e.task_id in callbacks]
    if answers:
        answer = answers[-1]  # a reopened case is called back again: the last call-back counts
        data = (answer.detail or {}).get("data") or {}
        at = answer.at
        base = {"task": answer.task_id, "called_back": _iso(at)}
        add("called_back", at, **base)
        if data.get("reached") is True:
            add("reached", at, **base)
            satisfied = data.get("satisfied") is True
            # call-backs recorded before the form asked "solved" follow "satisfied"
            solved = data.get("solved") is True if "solved" in data else satisfied
            if solved:
                add("solved", at, **base)
            if satisfied:
                add("satisfied", at, **base, score=data.get("score"))
    return out


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
