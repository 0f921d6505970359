"""Work orders: the list, the intake form for operators (standard fields + the channel's extension
form, photos and files), the case page with its timeline, and the dispatcher's duplicate decisions."""
from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage, MultiDict

from app.attachments.operations import INLINE_TYPES, add_attachment, case_attachments
from app.cases.channels import channel_form, displayed_fields, validate_extension
from app.cases.models import CASE_STATUSES, CHANNELS, TIERS, Case
from app.core.auth import Principal
from app.sla.deadlines import LIGHTS
from app.cases.operations import create_case
from app.core.db import session as db
from app.core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from app.core.ids import parse_id
from app.core.i18n import get_locale, gettext as _
from app.duplicates.operations import MERGE_ROLES, check_may_decide, keep_separate, merge_by
from app.duplicates.queries import duplicate_candidates, merged_cases
from app.engine import host
from app.forms.schema import coerce_form, field_order, initial_values, resolve, validate
from app.supervision.operations import park_case, unpark_case
from app.tasks.queries import can_claim, can_view_case, candidates, open_tasks
from app.web.forms import FieldView, form_errors, form_fields, html_values, posted_values
from app.web.helpers import (ActionState, Pager, current_principal, engine_incident_message, get_or_404,
                             localize_message, login_required, page_arg, page_size, posted, role_required, safe_next)
from app.web.labels import STAGES, duplicate_reason, file_size, label
from app.web.queries import CASE_SORTS, case_definitions, case_list, communities, display_names, task_titles
from app.web.timeline import timeline

bp = Blueprint("cases", __name__)

INTAKE_FORM = "case_intake.json"
_IDEM = re.compile(r"^[0-9a-f]{32}$")
_intake_cache: dict[str, Any] = {}


@bp.get("/cases")
@login_required
def index() -> Any:
    principal = current_principal()
    status = request.args.get("status") if request.args.get("status") in CASE_STATUSES else None
    channel = request.args.get("channel") if request.args.get("channel") in CHANNELS else None
    text = (request.args.get("q") or "").strip()[:100] or None
    light = request.args.get("light") if request.args.get("light") in LIGHTS else None
    tier = request.args.get("tier") if request.args.get("tier") in TIERS else None
    sort = request.args.get("sort") if request.args.get("sort") in CASE_SORTS else "-created"
    page, per_page = page_arg(), page_size()
    cases, total = case_list(principal, status, channel, text, page, per_page, light, tier, sort)
    pager = Pager(page, per_page, total)
    if pager.page != page:  # past the last page: show the last one
        cases, total = case_list(principal, status, channel, text, pager.page, per_page, light, tier, sort)
    return render_template("cases/list.html", cases=cases, pager=pager,
                           status=status, channel=channel, q=text or "", statuses=CASE_STATUSES, channels=CHANNELS,
                           light=light, lights=LIGHTS, tier=tier, tiers=TIERS, sort=sort)


# ---------------------------------------------------------------------------- intake

#: extension fields are posted as ``ext.<name>``: a channel's field may share a standard field's name
EXT = "ext."
#: the channels an operator enters by hand, in the picker's order (accesskeys 1, 2, ...). Open311
#: and the systems behind the API deliver their cases themselves.
OPERATOR_CHANNELS = ("hotline", "police110", "mailbox", "wechat", "weibo", "city_mgmt", "grid")
DEFAULT_CHANNEL = "hotline"
FILES_FIELD = "files"


def _intake_file() -> dict[str, Any]:
    """``forms/case_intake.json``, re-read when the file changes."""
    path = Path(current_app.config["SETTINGS"].FORMS_DIR) / INTAKE_FORM
    mtime = path.stat().st_mtime
    if _intake_cache.get("mtime") != mtime:
        _intake_cache.update(mtime=mtime, schema=json.loads(path.read_text(encoding="utf-8")))
    return _intake_cache["schema"]  # type: ignore[no-any-return]


def standard_schema() -> dict[str, Any]:
    """The standard work-order fields of ``case_intake.json``; the channel is picked apart from them."""
    schema = copy.deepcopy(_intake_file())
    schema["properties"].pop("channel", None)
    schema["required"] = [f for f in schema.get("required", []) if f != "channel"]
    schema["x-order"] = [f for f in schema.get("x-order", []) if f != "channel"]
    return schema


def intake_schema() -> dict[str, Any]:
    """The standard work-order fields plus the community (grid) the problem is in."""
    schema = standard_schema()
    units = communities()
    schema["properties"]["grid_unit"] = {
        "type": "string", "title": "所在网格", "x-title-en": "Grid (community)",
        "enum": [u.code for u in units], "x-enum-titles": [u.name for u in units],
        "x-enum-titles-en": [u.name_en or u.name for u in units],
        "description": "问题所在的社区。不选时按经纬度匹配最近的社区。",
        "x-description-en": "The community where the problem is; without one, the nearest to the coordinates is used.",
    }
    order = list(schema.get("x-order") or schema["properties"])
    if "grid_unit" not in order:
        order.insert(order.index("address") + 1 if "address" in order else len(order), "grid_unit")
    schema["x-order"] = order
    return schema


def extension_schema(channel: str) -> dict[str, Any]:
    """The channel's extension form with its fields named ``ext.<name>`` (for the form renderer)."""
    form = resolve(channel_form(channel), get_locale())
    props = form.get("properties", {})
    return {**form, "properties": {EXT + name: prop for name, prop in props.items()},
            "x-order": [EXT + name for name in field_order(form)],
            "required": [EXT + name for name in form.get("required", [])]}


def extension_title(channel: str) -> str:
    form = channel_form(channel)
    return str((get_locale() == "en" and form.get("x-title-en")) or form.get("title") or label("channel", channel))


def extension_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """``extension.<field>`` errors (of the back end) under the page's input names ``ext.<field>``."""
    return {EXT + name[len("extension."):] if name.startswith("extension.") else name: messages
            for name, messages in errors.items()}


def posted_extension(channel: str, form: Any, locale: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The channel's extension fields from a post, typed, and their errors under the inputs' names.

    Only the current channel's fields are read: those of a channel picked before are ignored."""
    sub = MultiDict([(k[len(EXT):], v) for k, v in form.items(multi=True) if k.startswith(EXT)])
    data, coerce_errors = coerce_form(channel_form(channel), sub, locale)
    errors = extension_errors(validate_extension(channel, data, locale))
    errors.update({EXT + name: messages for name, messages in coerce_errors.items()})
    return data, errors


def uploaded_files(name: str) -> list[FileStorage]:
    """The files chosen in a file input (an empty input posts one nameless part: skipped)."""
    return [f for f in request.files.getlist(name) if f and f.filename]


def attach_uploads(case: Case, uploads: list[FileStorage], principal: Principal, source: str, field_name: str) -> int:
    """Store the uploads with the case (raises ValidationFailed under ``field_name``: roll back)."""
    for upload in uploads:
        add_attachment(case, upload.stream, upload.filename, principal.user, source=source, field=field_name)
    return len(uploads)


def upload_limits() -> dict[str, int]:
    """What the browser may check before sending: bytes per file and per request."""
    return {"file": int(current_app.config["SETTINGS"].ATTACHMENT_MAX_BYTES),
            "request": int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)}


def case_payload(data: dict[str, Any], channel: str, extension: dict[str, Any]) -> dict[str, Any]:
    """``create_case``'s input from the typed standard fields and the extension."""
    return {
        "channel": channel, "title": data["title"], "description": data["description"],
        "address": data["address"], "lat": data.get("lat"), "lng": data.get("lng"),
        "category_code": data.get("category_code"), "urgency": data.get("urgency") or "normal",
        "grid_unit": data.get("grid_unit"),
        "reporter": {"name": data.get("reporter_name"), "phone": data.get("reporter_phone")},
        "extension": extension,
    }


def flash_created(case: Case, created: bool, started: host.Started | None, attached: int, what: str) -> None:
    """Tell what happened to a new case: filed, merged at once with an exact repeat, or with candidates."""
    if not created:
        flash(_("该工单已登记过：{number}", number=case.number), "info")
        return
    flash(what.format(number=case.number), "success")
    if attached:
        flash(_("已上传 {n} 个附件", n=attached), "success")
    if case.has_incident:
        flash(_("工单已保存，但流程启动出错，正在等待管理员处理（流程异常）。"), "warning")
    if started is not None and started.merged_into is not None:
        master = db.get(Case, started.merged_into)
        flash(_("与 {master} 内容相同、为同一反映人：已自动合并至该案件，重复反映次数已累加",
                master=master.number if master else f"#{started.merged_into}"), "warning")
        return
    found = len(duplicate_candidates(case.id))
    if found:
        flash(_("发现 {n} 个可能重复的案件，请派遣员在案件页核对", n=found), "warning")


def form_token(value: str | None) -> str:
    """The form's one-time token (sent twice, it files one case), or a fresh one."""
    return value if value and _IDEM.match(value) else uuid.uuid4().hex


def _channel_arg(value: str | None) -> str:
    return value if value in OPERATOR_CHANNELS else DEFAULT_CHANNEL


@dataclass
class IntakeForm:
    """The operator's form: standard fields, the channel's extension fields, the files input."""

    channel: str
    schema: dict[str, Any]
    fields: list[FieldView]
    ext_schema: dict[str, Any]
    ext_fields: list[FieldView]

    @classmethod
    def for_channel(cls, channel: str, standard: bool = True) -> IntakeForm:
        """The whole form, or (``standard=False``) only the channel's part of it."""
        schema: dict[str, Any] = intake_schema() if standard else {"type": "object", "properties": {}}
        ext_schema = extension_schema(channel)
        return cls(channel, schema, form_fields(schema), ext_schema, form_fields(ext_schema))

    def initial(self, args: Any) -> dict[str, Any]:
        """Defaults, then what the URL brings (a telephony screen-pop: ``?ext.caller_number=...``)."""
        values = {**html_values(self.fields, initial_values(self.schema, {})),
                  **html_values(self.ext_fields, initial_values(self.ext_schema, {}))}
        for f in self.fields + self.ext_fields:
            if f.kind != "checkboxes" and args.get(f.name):
                values[f.name] = args.get(f.name)
        caller = values.get(EXT + "caller_number")
        if caller and not values.get("reporter_phone"):
            values["reporter_phone"] = caller
        return values

    def posted(self, form: Any) -> dict[str, Any]:
        return {**posted_values(self.fields, form), **posted_values(self.ext_fields, form)}

    def switched(self, form: Any) -> dict[str, Any]:
        """After a channel switch: what was posted, and the new channel's defaults for the rest."""
        posted = self.posted(form)
        return {**self.initial({}), **{name: value for name, value in posted.items() if name in form}}

    @property
    def title(self) -> str:
        """The extension form's title (12345 热线扩展信息, ...)."""
        return extension_title(self.channel)


@bp.route("/cases/new", methods=["GET", "POST"])
@role_required("operator", "admin")
def new() -> Any:
    principal = current_principal()
    locale = get_locale()
    if request.method == "GET":
        intake = IntakeForm.for_channel(_channel_arg(request.args.get("channel")))
        return _render_new(intake, intake.initial(request.args), {}, None, uuid.uuid4().hex, 200)
    posted_channel = request.form.get("channel")
    intake = IntakeForm.for_channel(_channel_arg(posted_channel))
    values = intake.posted(request.form)
    idem = form_token(request.form.get("idem"))
    # an unknown channel is refused, not taken for the default: the case would be filed as a hotline call
    channel_errors = {} if posted_channel in OPERATOR_CHANNELS else {"channel": [_channel_message(posted_channel)]}
    if request.form.get("action") == "switch":  # without JavaScript: the channel changed, keep what was typed
        return _render_new(intake, intake.switched(request.form), channel_errors,
                           _("表单有误，请检查标出的字段") if channel_errors else None, idem,
                           422 if channel_errors else 200)
    uploads = uploaded_files(FILES_FIELD)
    data, coerce_errors = coerce_form(intake.schema, request.form, locale)
    extension, ext_errors = posted_extension(intake.channel, request.form, locale)
    errors = {**channel_errors, **validate(intake.schema, data, locale), **coerce_errors, **ext_errors}
    if errors:
        return _render_new(intake, values, errors, _form_message(uploads), idem, 422)
    try:
        case, created, started = create_case(case_payload(data, intake.channel, extension), principal,
                                             idempotency_key=f"web:{idem}", locale=get_locale())
        attached = attach_uploads(case, uploads, principal, "intake", FILES_FIELD) if created else 0
    except ValidationFailed as exc:
        db.rollback()  # nothing is kept: neither the case nor a file's row
        return _render_new(intake, values, extension_errors(exc.errors or {}), _form_message(uploads), idem, 422)
    except host.NoProcessDeployed:
        db.rollback()
        return _render_new(intake, values, {}, _("尚未部署案件流程，请联系管理员"), idem, 503)
    flash_created(case, created, started, attached, _("工单已登记：{number}"))
    return redirect(url_for("cases.show", case_id=case.id))


def _channel_message(posted: str | None) -> str:
    if not posted:
        return _("请选择来源渠道")
    return _("没有这个渠道：{channel}，请从列出的渠道中选择", channel=posted[:40])


def _form_message(uploads: list[FileStorage]) -> str:
    if uploads:  # a browser cannot be given the files back
        return _("表单有误，请检查标出的字段；附件未保存，请重新选择")
    return _("表单有误，请检查标出的字段")


@bp.get("/cases/new/extension")
@role_required("operator", "admin")
def new_extension() -> Any:
    """The extension part of the intake form for another channel (fetched when the operator switches)."""
    channel = request.args.get("channel")
    if channel not in OPERATOR_CHANNELS:
        raise NotFound(_("没有这个渠道"))
    intake = IntakeForm.for_channel(channel, standard=False)
    return render_template("cases/_extension.html", intake=intake, values=intake.initial({}), errors={},
                           autofocus=False)


def _render_new(intake: IntakeForm, values: dict[str, Any], errors: dict[str, list[str]], message: str | None,
                idem: str, status: int) -> Any:
    file_errors = list(errors.get(FILES_FIELD, []))
    channel_errors = list(errors.get("channel", []))
    field_errors, general = form_errors(intake.fields + intake.ext_fields,
                                        {k: v for k, v in errors.items() if k not in (FILES_FIELD, "channel")})
    names = {f.name for f in intake.fields}
    std_errors = {k: v for k, v in field_errors.items() if k in names}
    ext_errors = {k: v for k, v in field_errors.items() if k not in names}
    return render_template("cases/new.html", intake=intake, channels=OPERATOR_CHANNELS, values=values,
                           errors=std_errors, ext_errors=ext_errors, file_errors=file_errors,
                           channel_errors=channel_errors,
                           general_errors=general, message=message, idem=idem, limits=upload_limits()), status


# ---------------------------------------------------------------------------- the case page

def _load_case(case_id: int) -> Case:
    case = get_or_404(Case, case_id, _("找不到该案件"))
    if not can_view_case(current_principal(), case):
        raise Forbidden(_("此案件不在您的单位范围内"))
    return case


@bp.get("/cases/<id:case_id>")
@login_required
def show(case_id: int) -> Any:
    return render_case_page(_load_case(case_id))


def render_case_page(case: Case, action: ActionState | None = None, status: int = 200) -> Any:
    from app.web.step_photos import case_page_photos  # the step forms' photos, grouped per step
    principal = current_principal()
    definition = case_definitions([case.id]).get(case.id)
    tasks = open_tasks(case.id)
    who = candidates(tasks)
    names = display_names(u for users in who.values() for u in users)
    claimable = {t.id for t in tasks if t.claimed_by_id is None and can_claim(principal, t)}
    supervised = {t.id for t in tasks if principal.covers("supervisor", t.unit_path)}
    locale = get_locale()
    return render_template(
        "cases/show.html", case=case, tasks=tasks, task_names=task_titles(tasks), candidates=who, names=names,
        claimable=claimable, supervised=supervised, can_park=bool(supervised) and case.status == "open",
        steps=stepper(case), events=timeline(case, definition), action=action,
        extension_title=extension_title(case.channel) if case.channel in CHANNELS else None,
        extension_rows=displayed_fields(case.channel, case.extension_data, locale) if case.channel in CHANNELS else [],
        attachments=[a for a in case_attachments(case.id) if a.task_id is None], merged=merged_cases(case.id),
        **case_page_photos(case.id, definition),
        inline_types=INLINE_TYPES, file_size=file_size, duplicates=duplicate_panel(principal, case),
        limits=upload_limits()), status


# ---------------------------------------------------------------------------- duplicates (智能判重)

@dataclass
class Candidate:
    """One earlier case the detector proposes, as the panel shows it."""

    case_id: int
    number: str
    score: float
    reasons: list[str]
    details: dict[str, Any]
    title: str
    status: str
    channel: str
    address: str
    created_at: Any
    repeat_count: int
    visible: bool  # the viewer may see the candidate (else only its number, score and reasons)
    may_merge: bool  # the viewer may merge the case into it (dispatchers, supervisors; both in their units)
    master: Case | None = None  # it was merged meanwhile: merging into it goes to this case

    @property
    def percent(self) -> int:
        return round(100 * self.score)

    @property
    def reason_texts(self) -> list[str]:
        return [duplicate_reason(code, self.details) for code in self.reasons]


@dataclass
class DuplicatePanel:
    case: Case
    candidates: list[Candidate] = field(default_factory=list)
    may_decide: bool = False  # the viewer decides on this case's duplicates (not only reads them)


def duplicate_panel(principal: Principal, case: Case) -> DuplicatePanel | None:
    """The candidates of an open case for its page and its filing task; None when there are none."""
    if case.status != "open":
        return None
    rows = duplicate_candidates(case.id)
    if not rows:
        return None
    may_decide = _may_decide(principal, case)
    panel = DuplicatePanel(case, may_decide=may_decide)
    for row in rows:
        other = db.get(Case, row["case_id"])
        if other is None:
            continue
        visible = can_view_case(principal, other)
        master = db.get(Case, row["merged_into"]) if row.get("merged_into") else None
        # merge_by checks the same: the decider sees this case, the candidate and the case it follows
        may_merge = may_decide and visible and (master is None or can_view_case(principal, master))
        panel.candidates.append(Candidate(
            case_id=other.id, number=other.number, score=float(row["score"]), reasons=list(row["reasons"]),
            details=dict(row.get("details") or {}), title=row["title"], status=row["status"], channel=row["channel"],
            address=row["address"], created_at=row["created_at"], repeat_count=row.get("repeat_count") or 0,
            visible=visible, may_merge=may_merge, master=master))
    return panel


def _may_decide(principal: Principal, *cases: Case) -> bool:
    if not principal.has_role(*MERGE_ROLES):
        return False
    try:
        check_may_decide(principal, *cases)
    except Forbidden:
        return False
    return True


def _decision_refused(exc: Exception) -> str:
    """Why a merge or a dismissal was refused, in the page's language (field messages say it best)."""
    if isinstance(exc, AppError):
        details = [localize_message(m) for messages in (exc.errors or {}).values() for m in messages]
        if details:
            return ("; " if get_locale() == "en" else "；").join(details)
        return localize_message(exc.message)
    return localize_message(str(exc))


@bp.post("/cases/<id:case_id>/merge")
@login_required
def merge(case_id: int) -> Any:
    """合并: this case follows the chosen candidate from now on (one handling, the master counts the repeat)."""
    principal = current_principal()
    case = get_or_404(Case, case_id, _("找不到该案件"))
    back = safe_next(request.form.get("next")) or url_for("cases.show", case_id=case_id)
    reason = (request.form.get("reason") or "").strip()[:1000] or None
    into = parse_id(request.form.get("into", ""))
    if into is None:
        flash(_("请选择要合并到的案件"), "error")
        return redirect(back)
    number = case.number
    try:
        master = merge_by(principal, case, into, reason)
    except host.EngineIncidentError:  # the process failed while cancelling: kept for an administrator
        flash(engine_incident_message(), "warning")
        return redirect(back)
    except (AppError, host.EngineError) as exc:  # not allowed, already decided, closed meanwhile, ...
        db.rollback()
        flash(_("未合并：{reason}", reason=_decision_refused(exc)), "error")
        return redirect(back)
    flash(_("已将 {number} 合并至 {master}，由主案件统一办理（重复反映 {n} 次）", number=number,
            master=master.number, n=master.repeat_count), "success")
    if can_view_case(principal, master):
        return redirect(url_for("cases.show", case_id=master.id))
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/cases/<id:case_id>/duplicates/<id:candidate_id>/dismiss")
@login_required
def keep_apart(case_id: int, candidate_id: int) -> Any:
    """不是重复: the candidate is a different problem and is not proposed again."""
    principal = current_principal()
    case = get_or_404(Case, case_id, _("找不到该案件"))
    back = safe_next(request.form.get("next")) or url_for("cases.show", case_id=case_id)
    reason = (request.form.get("reason") or "").strip()[:1000] or None
    try:
        check_may_decide(principal, case)
        keep_separate(case, candidate_id, principal.user, reason)
    except AppError as exc:
        db.rollback()
        flash(_("未保存：{reason}", reason=_decision_refused(exc)), "error")
        return redirect(back)
    other = db.get(Case, candidate_id)
    flash(_("已确认 {other} 不是 {number} 的重复，二者分别办理", other=other.number if other else f"#{candidate_id}",
            number=case.number), "success")
    return redirect(back)


# ---------------------------------------------------------------------------- parking (挂账)

def _park_action(case_id: int, key: str, operation: Any, done: str) -> Any:
    """Park or un-park: flash and go back when done; show the form again when refused (422)."""
    principal = current_principal()
    case = _load_case(case_id)
    values = posted("reason")
    back = safe_next(request.form.get("next")) or url_for("cases.show", case_id=case.id)
    try:
        operation(case, principal, values["reason"])
    except ValidationFailed as exc:
        db.rollback()
        state = ActionState.from_error(key, values, exc, ("reason",))
        if request.args.get("origin") == "console":
            from app.web.supervision import render_console
            return render_console(state, 422)
        return render_case_page(case, state, 422)
    except Conflict as exc:
        db.rollback()
        flash(localize_message(exc.message), "error")
        return redirect(back)
    except host.EngineIncidentError:  # kept for an administrator: this request commits it
        flash(engine_incident_message(), "warning")
        return redirect(back)
    flash(done.format(number=case.number), "success")
    return redirect(back)


@bp.post("/cases/<id:case_id>/park")
@role_required("supervisor")
def park(case_id: int) -> Any:
    return _park_action(case_id, "park", park_case, _("已挂账：{number}，计时暂停"))


@bp.post("/cases/<id:case_id>/unpark")
@role_required("supervisor")
def unpark(case_id: int) -> Any:
    key = f"unpark-{case_id}" if request.args.get("origin") == "console" else "unpark"
    return _park_action(case_id, key, unpark_case, _("已取消挂账：{number}，恢复计时"))


def stepper(case: Case) -> list[dict[str, str]]:
    """The seven steps with a state each: done, current, todo (or skipped after a rejection)."""
    codes = [code for code, _zh in STAGES]
    if case.status == "closed":
        return [{"code": c, "name": n, "state": "done"} for c, n in STAGES]
    if case.status == "rejected":
        cut = codes.index("verify")
        return [{"code": c, "name": n, "state": "done" if i <= cut else "skipped"} for i, (c, n) in enumerate(STAGES)]
    current = codes.index(case.stage) if case.stage in codes else -1
    return [{"code": c, "name": n, "state": "done" if i < current else "current" if i == current else "todo"}
            for i, (c, n) in enumerate(STAGES)]

