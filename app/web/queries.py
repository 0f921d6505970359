"""Read-only look-ups the pages need beyond :mod:`app.tasks.queries` (counts, timeline, labels)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core import clock
from app.core.auth import Principal
from app.core.db import session as db
from app.core.i18n import _l, get_locale, gettext as _
from app.engine.definitions import LoadedDefinition, TaskMeta, load_definition
from app.engine.models import Incident, WorkflowInstance
from app.orgs.directory import UnitInfo, directory
from app.orgs.models import User
from app.sla.deadlines import light_condition
from app.supervision.models import TaskRequest
from app.tasks.models import Task
from app.tasks.queries import NO_FILTERS, TaskFilters, inbox_conditions, visible_cases_condition
from app.web.forms import display_value
from app.web.helpers import format_dt, limit_text
from app.web.labels import category_label, label


def inbox_count(principal: Principal, scope: str, filters: TaskFilters = NO_FILTERS) -> int:
    return int(db.scalar(select(func.count(Task.id)).where(*inbox_conditions(principal, scope, filters))) or 0)


def pending_task_requests(task_id: int) -> list[TaskRequest]:
    """Extension and return requests of a task still waiting for a supervisor."""
    return list(db.scalars(select(TaskRequest).where(TaskRequest.task_id == task_id, TaskRequest.state == "pending")
                           .options(joinedload(TaskRequest.requested_by)).order_by(TaskRequest.id)))


def tasks_and_cases(task_ids: Iterable[int]) -> tuple[dict[int, Task], dict[int, Case]]:
    """Tasks by id (with their unit) and their cases, two queries: rows of requests show both."""
    ids = set(task_ids)
    if not ids:
        return {}, {}
    tasks = {t.id: t for t in db.scalars(select(Task).where(Task.id.in_(ids)).options(joinedload(Task.org_unit)))}
    case_ids = {t.case_id for t in tasks.values()}
    cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
    return tasks, cases


def case_definitions(case_ids: Iterable[int]) -> dict[int, LoadedDefinition]:
    """The process version each case runs on (one query; parsed versions come from the cache)."""
    ids = set(case_ids)
    if not ids:
        return {}
    rows = db.execute(select(WorkflowInstance.case_id, WorkflowInstance.definition_id)
                      .where(WorkflowInstance.case_id.in_(ids))).all()
    out = {}
    for case_id, definition_id in rows:
        try:
            out[case_id] = load_definition(definition_id)
        except LookupError:
            continue
    return out


def task_meta(definition: LoadedDefinition | None, bpmn_id: str | None) -> TaskMeta | None:
    return definition.tasks.get(bpmn_id or "") if definition is not None else None


def task_title(name: str | None, definition: LoadedDefinition | None, bpmn_id: str | None) -> str:
    """A task's name from the diagram; in English the title of its form, which carries one."""
    if get_locale() == "en":
        meta = task_meta(definition, bpmn_id)
        form = definition.forms.get(meta.form, {}) if definition is not None and meta is not None else {}
        if form.get("x-title-en"):
            return str(form["x-title-en"])
    return _(name) if name else "—"


def task_titles(tasks: Iterable[Task]) -> dict[int, str]:
    tasks = list(tasks)
    definitions = case_definitions(t.case_id for t in tasks) if get_locale() == "en" else {}
    return {t.id: task_title(t.name, definitions.get(t.case_id), t.bpmn_id) for t in tasks}


def task_documentation(task: Task, definition: LoadedDefinition | None) -> str | None:
    """What the diagram tells the person doing the task; in English the form's description."""
    meta = task_meta(definition, task.bpmn_id)
    form = definition.forms.get(task.form, {}) if definition is not None else {}
    if get_locale() == "en" and form.get("x-description-en"):
        return str(form["x-description-en"])
    return (meta.documentation if meta is not None else None) or form.get("description")


def unit_name(unit: UnitInfo | Any | None) -> str:
    if unit is None:
        return "—"
    name_en = getattr(unit, "name_en", None)
    return (name_en or unit.name) if get_locale() == "en" else unit.name


def unit_name_by_code(code: str | None) -> str:
    if not code:
        return "—"
    unit = directory().by_code.get(code)
    return unit_name(unit) if unit is not None else code


def communities() -> list[UnitInfo]:
    return sorted((u for u in directory().by_code.values() if u.kind == "community"), key=lambda u: u.path)


def display_names(usernames: Iterable[str]) -> dict[str, str]:
    names = set(usernames)
    if not names:
        return {}
    return dict(db.execute(select(User.username, User.display_name).where(User.username.in_(names))).all())


CASE_SORTS = {"-created": (Case.created_at.desc(), Case.id.desc()),
              "due": (Case.due_at.is_(None), Case.due_at, Case.id)}


def case_list(principal: Principal, status: str | None, channel: str | None, text: str | None,
              page: int, per_page: int, light: str | None = None, tier: str | None = None,
              sort: str = "-created") -> tuple[list[Case], int]:
    """Cases the user may see, filtered (also by light and tier), newest or most urgent first;
    with the total for paging."""
    conditions = [visible_cases_condition(principal)]
    if status:
        conditions.append(Case.status == status)
    if channel:
        conditions.append(Case.channel == channel)
    if text:
        conditions.append(Case.title.contains(text, autoescape=True))
    if light:
        conditions += [Case.status == "open", light_condition(light, Case.__table__, clock.now())]
    if tier:
        conditions.append(Case.tier == tier)
    total = db.scalar(select(func.count(Case.id)).where(*conditions)) or 0
    rows = db.scalars(select(Case).where(*conditions).order_by(*CASE_SORTS.get(sort, CASE_SORTS["-created"]))
                      .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), int(total)


def open_incidents() -> list[tuple[Incident, Case]]:
    rows = db.execute(select(Incident, Case).join(Case, Case.id == Incident.case_id)
                      .where(Incident.resolved_at.is_(None)).order_by(Incident.created_at, Incident.id)).all()
    return [(i, c) for i, c in rows]


# ---------------------------------------------------------------------------- the case timeline

@dataclass
class TimelineEntry:
    id: int
    at: datetime
    actor: str
    action: str
    action_label: str
    task: str | None
    items: list[tuple[str, str]] = field(default_factory=list)


_HIDDEN_DETAIL = {"task", "bpmn_id", "data", "unit", "title", "before", "tasks", "at"}
# the 督办 details (app.supervision.operations) under readable titles
_DETAIL_TITLES = {"reason": _l("理由"), "amount": _l("延期时长"), "due_at": _l("新的办理时限"), "tier": _l("层级"), "user": _l("改派给"),
                  "urge_count": _l("催办次数"), "notified": _l("通知人数"), "message": _l("内容"), "request": _l("申请编号"),
                  "timers": _l("定时器")}


def timeline(case: Case, definition: LoadedDefinition | None) -> list[TimelineEntry]:
    """Every audit event of the case, oldest first, with form data under the fields' titles."""
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)))
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(actor_ids))).all()) if actor_ids else {}
    bpmn_ids = dict(db.execute(select(Task.id, Task.bpmn_id).where(Task.case_id == case.id)).all())
    entries = []
    for ev in events:
        detail = ev.detail or {}
        actor = names.get(ev.actor_id) or ev.actor_name or _("系统")
        bpmn_id = detail.get("bpmn_id") or (bpmn_ids.get(ev.task_id) if ev.task_id is not None else None)
        task = task_title(detail.get("task"), definition, bpmn_id) if detail.get("task") else None
        entries.append(TimelineEntry(ev.id, ev.at, actor, ev.action, label("action", ev.action), task,
                                     _detail_items(ev.action, detail, definition, bpmn_id)))
    return entries


def _detail_items(action: str, detail: dict[str, Any], definition: LoadedDefinition | None,
                  bpmn_id: str | None) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    if action == "task_completed":
        meta = task_meta(definition, bpmn_id)
        form = definition.forms.get(meta.form, {}) if definition is not None and meta is not None else {}
        props = form.get("properties", {})
        en = get_locale() == "en"
        data = detail.get("data") or {}
        order = list(form.get("x-order", [])) + [k for k in data if k not in form.get("x-order", [])]
        for key in order:
            if key not in data:
                continue
            prop = props.get(key, {})
            shown = display_value(prop, data[key])
            if shown is not None:
                title = (prop.get("x-title-en") if en else None) or prop.get("title") or key
                items.append((str(title), shown))
        return items
    if action == "case_created":
        if detail.get("channel"):
            items.append((_("来源渠道"), label("channel", detail["channel"])))
        if detail.get("category_code"):
            items.append((_("案件类别"), category_label(detail["category_code"])))
        if detail.get("grid_unit"):
            items.append((_("所在网格"), unit_name_by_code(detail["grid_unit"])))
        return items
    if action == "task_created":
        if detail.get("role"):
            items.append((_("角色"), label("role", detail["role"])))
        if detail.get("unit"):
            items.append((_("单位"), unit_name_by_code(detail["unit"])))
        if detail.get("due_at"):
            items.append((_("办理时限"), format_dt(detail["due_at"])))
        return items
    if action == "incident_opened":
        if detail.get("element"):
            items.append((_("流程环节"), str(detail["element"])))
        if detail.get("error"):
            items.append((_("错误"), str(detail["error"])))
        return items
    if action == "task_reassigned" and detail.get("unit"):
        items.append((_("改派单位"), unit_name_by_code(detail["unit"])))
    for key, value in detail.items():
        if key in _HIDDEN_DETAIL or value is None or value == "":
            continue
        items.append((str(_DETAIL_TITLES[key]) if key in _DETAIL_TITLES else key, _detail_value(key, value)))
    return items


def _detail_value(key: str, value: Any) -> str:
    if key == "due_at":
        return format_dt(value)
    if key == "amount" and isinstance(value, str):
        return limit_text(value)
    if key == "tier" and isinstance(value, str):
        return label("tier", value)
    if key == "request":
        return f"#{value}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)
