"""Read-only look-ups the pages need beyond :mod:`app.tasks.queries` (counts, names, labels); the
case timeline is in :mod:`app.web.timeline`."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import joinedload

from app.cases.models import ESCALATED_SQL, LOCAL_TZ, PARKED_SQL, Case
from app.core import clock
from app.core.auth import Principal
from app.core.db import session as db
from app.core.i18n import get_locale, gettext as _
from app.engine.definitions import LoadedDefinition, TaskMeta, load_definition
from app.engine.models import Incident, WorkflowInstance
from app.orgs.directory import UnitInfo, directory
from app.orgs.models import User
from app.sla.deadlines import light_condition
from app.supervision.models import TaskRequest
from app.tasks.models import Task
from app.tasks.queries import NO_FILTERS, TaskFilters, inbox_conditions, visible_cases_condition


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


@dataclass(frozen=True)
class CaseNarrowing:
    """The case list's filters that the cockpit's figures link with: the unit (its grid or
    handling unit at or below it, :mod:`app.cockpit.scope`), local-date ranges of creation and
    closure (inclusive), a category, escalated or parked open cases."""

    unit: UnitInfo | None = None
    created_from: date | None = None
    created_to: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None
    category: str | None = None
    escalated: bool = False
    parked: bool = False

    def conditions(self) -> list[Any]:
        from app.cockpit.scope import case_in_unit
        out: list[Any] = []
        if self.unit is not None and (scope := case_in_unit(self.unit)) is not None:
            out.append(scope)
        for column, first, last in ((Case.created_at, self.created_from, self.created_to),
                                    (Case.closed_at, self.closed_from, self.closed_to)):
            if first is not None:
                out.append(column >= local_day_start(first))
            if last is not None:
                out.append(column < local_day_start(last + timedelta(days=1)))
        if self.category:
            out.append(Case.category_code == self.category)
        if self.escalated:
            out.append(text(ESCALATED_SQL))
        if self.parked:
            out.append(text(PARKED_SQL))
        return out

    def active(self) -> bool:
        return self != NO_NARROWING


NO_NARROWING = CaseNarrowing()


def local_day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


CASE_SORTS = {"-created": (Case.created_at.desc(), Case.id.desc()),
              "due": (Case.due_at.is_(None), Case.due_at, Case.id)}


def case_list(principal: Principal, status: str | None, channel: str | None, text: str | None,
              page: int, per_page: int, light: str | None = None, tier: str | None = None,
              sort: str = "-created", narrowing: CaseNarrowing = NO_NARROWING) -> tuple[list[Case], int]:
    """Cases the user may see, filtered (also by light and tier; ``none``: open without a light,
    no tier), newest or most urgent first; with the total for paging."""
    conditions = [visible_cases_condition(principal), *narrowing.conditions()]
    if status:
        conditions.append(Case.status == status)
    if channel:
        conditions.append(Case.channel == channel)
    if text:
        conditions.append(Case.title.contains(text, autoescape=True))
    if light == "none":
        from app.cockpit.queries import light_bucket
        conditions += [Case.status == "open", light_bucket(Case.__table__, clock.now()) == "none"]
    elif light:
        conditions += [Case.status == "open", light_condition(light, Case.__table__, clock.now())]
    if tier == "none":
        conditions.append(Case.tier.is_(None))
    elif tier:
        conditions.append(Case.tier == tier)
    total = db.scalar(select(func.count(Case.id)).where(*conditions)) or 0
    rows = db.scalars(select(Case).where(*conditions).order_by(*CASE_SORTS.get(sort, CASE_SORTS["-created"]))
                      .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), int(total)


def open_incidents() -> list[tuple[Incident, Case]]:
    rows = db.execute(select(Incident, Case).join(Case, Case.id == Incident.case_id)
                      .where(Incident.resolved_at.is_(None)).order_by(Incident.created_at, Incident.id)).all()
    return [(i, c) for i, c in rows]
