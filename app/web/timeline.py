"""The case timeline (办理记录): every audit event of a case in words, and the data earlier steps
submitted (shown on later task pages of the same case).

Each kind of event recorded with a case (``record(...)`` across ``app/``) has its own renderer
below, which names units, people, cases and form fields as users know them: never an internal
code, a username or a Python value. The names are looked up once per page (one query each for
people, tasks and cases), not once per event. ``tests/web/test_timeline.py`` checks that every
kind recorded anywhere in ``app/`` has a renderer here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core.db import session as db
from app.core.i18n import get_locale, gettext as _
from app.engine.definitions import LoadedDefinition
from app.orgs.models import User
from app.tasks.models import Task
from app.web.forms import display_value
from app.web.helpers import format_dt, limit_text
from app.web.labels import category_label, duplicate_reason, file_size, label
from app.web.queries import task_meta, task_title, unit_name_by_code

Items = list[tuple[str, str]]


@dataclass
class TimelineEntry:
    id: int
    at: datetime
    actor: str
    action: str
    action_label: str
    task: str | None
    items: Items = field(default_factory=list)


@dataclass
class Names:
    """What the renderers name, looked up once for all the events of a page."""
    definition: LoadedDefinition | None
    users_by_id: dict[int, str] = field(default_factory=dict)
    users_by_name: dict[str, str] = field(default_factory=dict)
    tasks: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (name, bpmn_id)
    cases: dict[int, str] = field(default_factory=dict)  # id → work-order number

    def user(self, username: Any) -> str:
        return self.users_by_name.get(username, _("（已删除的用户）")) if username else "—"

    def case(self, case_id: Any) -> str:
        return self.cases.get(case_id, "—") if isinstance(case_id, int) else "—"

    def task(self, task_id: Any) -> str:
        name, bpmn_id = self.tasks.get(task_id, ("", ""))
        return task_title(name, self.definition, bpmn_id) if name else "—"


def _sep() -> str:
    return ", " if get_locale() == "en" else "、"


def _numbered(ids: Any) -> str:
    return _sep().join(f"#{i}" for i in ids) if isinstance(ids, list) and ids else "—"


def _form_of(definition: LoadedDefinition | None, bpmn_id: str | None) -> dict[str, Any]:
    meta = task_meta(definition, bpmn_id)
    return definition.forms.get(meta.form, {}) if definition is not None and meta is not None else {}


def _field_title(form: dict[str, Any], key: str) -> str:
    prop = form.get("properties", {}).get(key, {})
    en = get_locale() == "en"
    return str((prop.get("x-title-en") if en else None) or prop.get("title") or _("其他字段"))


def form_items(form: dict[str, Any], data: dict[str, Any]) -> Items:
    """Submitted form data under the fields' titles, in the form's order, values in words."""
    props = form.get("properties", {})
    order = list(form.get("x-order", [])) + [k for k in data if k not in form.get("x-order", [])]
    items = []
    for key in order:
        if key not in data or key not in props:  # a value the form does not ask for is process-internal
            continue
        shown = display_value(props[key], data[key])
        if shown is not None:
            items.append((_field_title(form, key), shown))
    return items


# ---------------------------------------------------------------------------- one renderer per kind

def _reason(d: dict[str, Any]) -> Items:
    return [(_("理由"), str(d["reason"]))] if d.get("reason") else []


def _request(d: dict[str, Any]) -> Items:
    return [(_("申请编号"), f"#{d['request']}")] if d.get("request") is not None else []


def _case_created(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = []
    if d.get("channel"):
        items.append((_("来源渠道"), label("channel", d["channel"])))
    if d.get("category_code"):
        items.append((_("案件类别"), category_label(d["category_code"])))
    if d.get("grid_unit"):
        items.append((_("所在网格"), unit_name_by_code(d["grid_unit"])))
    return items


def _task_created(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = []
    if d.get("role"):
        items.append((_("角色"), label("role", d["role"])))
    if d.get("unit"):
        items.append((_("单位"), unit_name_by_code(d["unit"])))
    if d.get("due_at"):
        items.append((_("办理时限"), format_dt(d["due_at"])))
    return items


def _task_completed(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return form_items(form, d.get("data") or {})


def _proposal_overridden(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    props = form.get("properties", {})
    items = []
    for o in d.get("overrides") or []:
        if not isinstance(o, dict):
            continue
        prop = props.get(o.get("field"), {})
        proposed = display_value(prop, o.get("proposed")) or "—"
        chosen = display_value(prop, o.get("chosen")) or "—"
        items.append((_field_title(form, str(o.get("field"))),
                      _("规则建议 {proposed}，改选 {chosen}", proposed=proposed, chosen=chosen)))
    return items


def _incident_opened(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("异常编号"), f"#{d['incident']}")] if d.get("incident") is not None else []
    if d.get("element"):
        element = str(d["element"])
        meta = task_meta(n.definition, element)
        items.append((_("流程环节"), task_title(meta.name, n.definition, element) if meta is not None else element))
    if d.get("found_by"):
        items.append((_("发现方式"), _("一致性检查")))
    if d.get("error"):
        items.append((_("错误"), str(d["error"])))
    return items


def _incident_resolved(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return [(_("异常编号"), f"#{d['incident']}")] if d.get("incident") is not None else []


def _case_repaired(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("已解决的异常"), _numbered(d.get("incidents")))] if d.get("incidents") else []
    if d.get("joined"):
        items.append((_("接续的子流程"), str(d["joined"])))
    return items


def _case_migrated(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("流程版本"), _("第 {a} 版 → 第 {b} 版", a=d.get("from_version"), b=d.get("to_version")))]
    if d.get("changed"):
        items.append((_("有改动的当前环节"), _sep().join(str(c) for c in d["changed"])))
    return items


def _tasks_reprojected(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return [(_("已解决的异常"), _numbered(d.get("incidents")))] if d.get("incidents") else []


def _timers_fired(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    names = [_(str(t)) for t in d.get("timers") or []]
    return [(_("定时器"), _sep().join(names))] if names else []


def _message(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return [(_("内容"), str(d["message"]))] if d.get("message") else []


def _case_supervised(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = _message(d, n, form)
    tasks = [n.task(t) for t in d.get("tasks") or []]
    if tasks:
        items.append((_("涉及任务"), _sep().join(tasks)))
    return items


def _task_reassigned(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = _reason(d)
    before = d.get("before") if isinstance(d.get("before"), dict) else {}
    if d.get("unit"):
        if before.get("unit"):
            items.append((_("原单位"), unit_name_by_code(before["unit"])))
        items.append((_("改派单位"), unit_name_by_code(d["unit"])))
    if d.get("user"):
        if before.get("user"):
            items.append((_("原签收人"), n.user(before["user"])))
        items.append((_("改派给"), n.user(d["user"])))
    return items


def _task_urged(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = _reason(d)
    if d.get("urge_count") is not None:
        items.append((_("催办次数"), str(d["urge_count"])))
    if d.get("notified") is not None:
        items.append((_("通知人数"), str(d["notified"])))
    return items


def _task_escalated(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = _reason(d)
    if d.get("tier"):
        items.append((_("原层级"), label("tier", d["tier"])))
    if d.get("to_tier"):
        items.append((_("上报至"), label("tier", d["to_tier"])))
    return items


def _reasoned(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return _reason(d)


def _request_raised(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = _request(d)
    if d.get("amount"):
        items.append((_("延期时长"), limit_text(str(d["amount"]))))
    return items + _reason(d)


def _request_decided(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = _request(d) + _reason(d)
    if d.get("due_at"):
        items.append((_("新的办理时限"), format_dt(d["due_at"])))
    return items


def _attachment_added(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("文件"), str(d.get("filename") or "—")), (_("大小"), file_size(d.get("size")))]
    if d.get("source"):
        items.append((_("方式"), label("attachment_source", d["source"])))
    if d.get("tag"):  # a step's photo (处置前 / 处置后)
        items.append((_("照片类型"), label("photo_tag", d["tag"])))
    return items


def _auto_merge() -> tuple[str, str]:
    return (_("合并方式"), _("自动合并：同一反映人的相同内容"))


def _case_merged(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("主案件"), str(d.get("into_number") or n.case(d.get("into"))))]
    if d.get("auto"):
        items.append(_auto_merge())
    return items + (_reason(d) if not d.get("auto") else [])


def _duplicate_merged_in(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("重复案件"), str(d.get("duplicate_number") or n.case(d.get("duplicate"))))]
    if d.get("channel"):
        items.append((_("来源渠道"), label("channel", d["channel"])))
    if d.get("reporter"):
        items.append((_("反映人"), str(d["reporter"])))
    if d.get("repeat_count") is not None:
        items.append((_("重复反映次数"), str(d["repeat_count"])))
    if d.get("auto"):
        items.append(_auto_merge())
    return items


def _duplicates_found(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    shown = []
    for c in d.get("candidates") or []:
        if not isinstance(c, dict) or not isinstance(c.get("case_id"), int):
            continue
        reasons = _sep().join(duplicate_reason(r) for r in c.get("reasons") or [])
        text = _("{number}（{pct}%）", number=n.case(c["case_id"]), pct=round(100 * float(c.get("score") or 0)))
        shown.append(f"{text} {reasons}" if reasons else text)
    return [(_("疑似重复"), "\n".join(shown) or "—")]


def _duplicate_dismissed(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return [(_("不是重复的案件"), n.case(d.get("candidate")))] + _reason(d)


def _priority_raised(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("紧急程度"), label("urgency", d.get("urgency")))]
    if d.get("repeat_count") is not None:
        items.append((_("重复反映次数"), str(d["repeat_count"])))
    return items


def _reporter_informed(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    items = [(_("主案件"), n.case(d.get("master")))]
    if d.get("outcome"):
        items.append((_("主案件状态"), label("status", d["outcome"])))
    if d.get("channel"):
        items.append((_("来源渠道"), label("channel", d["channel"])))
    return items


def _notice_delivered(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return [(_("来源渠道"), label("channel", d["channel"]))] if d.get("channel") else []


def _nothing(d: dict[str, Any], n: Names, form: dict[str, Any]) -> Items:
    return []


Renderer = Callable[[dict[str, Any], Names, dict[str, Any]], Items]

#: every kind of audit event recorded with a case, and how it reads
RENDERERS: dict[str, Renderer] = {
    "case_created": _case_created,
    "task_created": _task_created,
    "task_claimed": _nothing,
    "task_unclaimed": _nothing,
    "task_completed": _task_completed,
    "task_cancelled": _nothing,
    "proposal_overridden": _proposal_overridden,
    "incident_opened": _incident_opened,
    "incident_retried": _incident_resolved,
    "incident_dismissed": _incident_resolved,
    "incident_repaired": _incident_resolved,
    "case_repaired": _case_repaired,
    "tasks_reprojected": _tasks_reprojected,
    "case_migrated": _case_migrated,
    "timers_fired": _timers_fired,
    "task_reminded": _message,
    "case_supervised": _case_supervised,
    "task_reassigned": _task_reassigned,
    "task_urged": _task_urged,
    "task_escalated": _task_escalated,
    "task_returned": _reasoned,
    "extension_requested": _request_raised,
    "return_requested": _request_raised,
    "extension_approved": _request_decided,
    "extension_refused": _request_decided,
    "return_approved": _request_decided,
    "return_refused": _request_decided,
    "case_parked": _reasoned,
    "case_unparked": _reasoned,
    "attachment_added": _attachment_added,
    "duplicates_found": _duplicates_found,
    "case_merged": _case_merged,
    "duplicate_merged_in": _duplicate_merged_in,
    "duplicate_dismissed": _duplicate_dismissed,
    "priority_raised": _priority_raised,
    "reporter_informed": _reporter_informed,
    "reporter_notice_delivered": _notice_delivered,
}


# ---------------------------------------------------------------------------- the timeline

def _names(case: Case, events: list[AuditEvent], definition: LoadedDefinition | None) -> Names:
    """Everyone, every task and every other case the events name: one query each."""
    user_ids = {e.actor_id for e in events if e.actor_id is not None}
    usernames: set[str] = set()
    case_ids: set[int] = set()
    for e in events:
        d = e.detail or {}
        if e.action == "task_reassigned":
            usernames.update(u for u in (d.get("user"), (d.get("before") or {}).get("user")) if isinstance(u, str))
        case_ids.update(v for v in (d.get("into"), d.get("duplicate"), d.get("candidate"), d.get("master"))
                        if isinstance(v, int))
        case_ids.update(c["case_id"] for c in d.get("candidates") or []
                        if isinstance(c, dict) and isinstance(c.get("case_id"), int))
    names = Names(definition)
    if user_ids or usernames:
        rows = db.execute(select(User.id, User.username, User.display_name)
                          .where(User.id.in_(user_ids) | User.username.in_(usernames))).all()
        names.users_by_id = {i: shown for i, _u, shown in rows}
        names.users_by_name = {u: shown for _i, u, shown in rows}
    names.tasks = {i: (name, bpmn_id) for i, name, bpmn_id in
                   db.execute(select(Task.id, Task.name, Task.bpmn_id).where(Task.case_id == case.id)).all()}
    if case_ids:
        names.cases = {c.id: c.number for c in db.scalars(select(Case).where(Case.id.in_(case_ids)))}
    return names


def _items(ev: AuditEvent, names: Names, bpmn_id: str | None) -> Items:
    render = RENDERERS.get(ev.action)
    if render is None:  # a kind without a renderer shows its label only (the test keeps this list complete)
        return []
    return render(ev.detail or {}, names, _form_of(names.definition, bpmn_id))


def _action_label(action: str) -> str:
    text = label("action", action)
    return text if text != action else _("其他记录")


def entries(case: Case, events: list[AuditEvent], definition: LoadedDefinition | None) -> list[TimelineEntry]:
    """``events`` of ``case`` as the timeline shows them."""
    names = _names(case, events, definition)
    out = []
    for ev in events:
        detail = ev.detail or {}
        actor = names.users_by_id.get(ev.actor_id) if ev.actor_id is not None else None
        task_name, task_bpmn = names.tasks.get(ev.task_id, ("", "")) if ev.task_id is not None else ("", "")
        bpmn_id = detail.get("bpmn_id") or task_bpmn or None
        name = detail.get("task") or task_name
        out.append(TimelineEntry(ev.id, ev.at, actor or _("系统"), ev.action, _action_label(ev.action),
                                 task_title(name, definition, bpmn_id) if name else None,
                                 _items(ev, names, bpmn_id)))
    return out


def timeline(case: Case, definition: LoadedDefinition | None) -> list[TimelineEntry]:
    """Every audit event of the case, oldest first, in words."""
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)))
    return entries(case, events, definition)


def submitted_steps(case: Case, definition: LoadedDefinition | None,
                    before_task: int | None = None) -> list[TimelineEntry]:
    """The data each completed step of the case submitted, oldest first, with who and when
    (the 核实立案 page shows the grid worker's 核实情况): ``task_completed`` events other than
    ``before_task``'s own, with at least one field filled in."""
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                      AuditEvent.action == "task_completed")
                             .order_by(AuditEvent.id)))
    events = [e for e in events if e.task_id != before_task]
    return [e for e in entries(case, events, definition) if e.items]

