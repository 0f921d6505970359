"""/api/v1: thin views. Validate input, check permission, call an operation, dump the result."""
from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import undefer

from app.api import schemas
from app.api.serialize import attachment_dict, attachment_dicts, case_dict, notice_dict, notification_dict, request_dict, task_dict
from app.cases import operations as case_ops
from app.attachments.models import Attachment
from app.attachments.operations import add_attachment, case_attachments
from app.attachments.views import send_attachment
from app.cases.channels import channel_form
from app.cases.models import CHANNELS, Case
from app.duplicates import operations as duplicate_ops
from app.duplicates.models import ReporterNotice
from app.duplicates.queries import duplicate_candidates
from app.core.auth import api_principal, bearer_token
from app.core.db import commit_before_answer, session
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.notifications import operations as notification_ops
from app.notifications import queries as notification_queries
from app.orgs.directory import directory
from app.orgs.models import User
from app.security.login import log_in, revoke_token as revoke_presented_token, revoke_user_sessions
from app.sla.deadlines import LIGHTS
from app.supervision import operations as supervision_ops
from app.supervision import queries as supervision_queries
from app.supervision.models import TaskRequest
from app.tasks import operations as task_ops
from app.tasks.models import Task
from app.tasks.queries import TaskFilters, can_claim, can_view_case, candidates, inbox_rows

TIERS = ("community", "street", "district", "city")

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Answers are plain dicts written by orjson (app.core.jsonio); their shapes are the marshmallow
# schemas in app.api.schemas, which the OpenAPI document is built from and tests/api check.


@functools.cache
def _schema(cls: type[Schema]) -> Schema:
    """One instance per schema class: building one deep-copies its fields, loading changes nothing."""
    return cls()


def _body(schema_class: type[Schema]) -> dict[str, Any]:
    schema = _schema(schema_class)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationFailed("request body must be a JSON object", errors={"_body": ["expected a JSON object"]})
    try:
        return schema.load(payload)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationFailed("invalid input", errors=_flatten(exc.messages)) from None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, name))
            else:
                out[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
    else:
        out[prefix or "_body"] = [str(messages)]
    return out


def _locale() -> str:
    return "en" if request.accept_languages.best_match(["zh", "en"]) == "en" else "zh"


def _get_case(case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def _get_task(task_id: int) -> Task:
    task = session.get(Task, task_id, options=[undefer(Task.definition_id)])  # its form's version, same statement
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def _check_task_visible(task: Task) -> None:
    principal = api_principal()
    if task.claimed_by_id == principal.id or can_claim(principal, task):
        return
    case = _get_case(task.case_id)
    if not can_view_case(principal, case):
        raise Forbidden("this task is outside your roles and units")


@bp.post("/auth/token")
def create_token() -> Any:
    """Username and password for a bearer token: throttled like the login page (429 + Retry-After)."""
    data = _body(schemas.TokenRequestSchema)
    login = log_in(data["username"], data["password"], "api")
    return {"token": login.secret, "expires_at": login.auth_session.expires_at.isoformat(), "token_type": "Bearer"}, 200, \
        {"Cache-Control": "no-store"}


@bp.post("/auth/revoke")
def revoke_token() -> Any:
    """End the presented token; with ``{"user": NAME}`` an administrator ends all of NAME's
    sessions and tokens instead."""
    principal = api_principal()
    data = _body(schemas.RevokeRequestSchema) if request.get_data(cache=True) else {}
    username = data.get("user")
    if username is None:
        revoke_presented_token(g.auth_session_id, bearer_token() or "", principal.user)
        return {"revoked": 1, "user": principal.username}
    if not principal.has_role("admin"):
        raise Forbidden("only administrators revoke another user's sessions")
    target = session.scalar(select(User).where(User.username == username))
    if target is None:
        raise NotFound(f"no user {username}")
    count = revoke_user_sessions(target, principal.user, "revoked by admin")
    return {"revoked": count, "user": target.username}


@bp.post("/cases")
def create_case() -> Any:
    principal = api_principal()
    data = _body(schemas.CaseCreateSchema)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 120):
        raise ValidationFailed("invalid Idempotency-Key", errors={"Idempotency-Key": ["1 to 120 characters"]})
    case, created, started = case_ops.create_case(data, principal, key, locale=_locale())
    commit_before_answer()
    if started is None:
        return jsonify(case_dict(case)), 200
    if started.merged_into is not None:  # an exact repeat, merged at once: show it as it is now
        return jsonify(case_dict(_get_case(case.id))), 201
    found = duplicate_candidates(case.id) if started.duplicates else []
    return jsonify(case_dict(case, started.tasks, started.events, candidates_found=found)), 201


def _visible_case(case_id: int) -> Case:
    case = _get_case(case_id)
    if not can_view_case(api_principal(), case):
        raise Forbidden("this case is outside your roles and units")
    return case


@bp.post("/cases/<id:case_id>/merge")
def merge_case(case_id: int) -> Any:
    """Merge a duplicate into its master case (dispatchers)."""
    data = _body(schemas.MergeSchema)
    case = _get_case(case_id)
    duplicate_ops.merge_by(api_principal(), case, data["into"], data.get("reason"))
    commit_before_answer()
    return case_dict(_get_case(case_id))


@bp.post("/cases/<id:case_id>/duplicates/<id:candidate_id>/dismiss")
def keep_separate(case_id: int, candidate_id: int) -> Any:
    """The candidate is a different problem: keep both cases (dispatchers)."""
    data = _body(schemas.KeepSeparateSchema)
    case = _get_case(case_id)
    duplicate_ops.check_may_decide(api_principal(), case)
    duplicate_ops.keep_separate(case, candidate_id, api_principal().user, data.get("reason"))
    commit_before_answer()
    return case_dict(case)


@bp.get("/reporter-notices")
def reporter_notices() -> Any:
    """The outbox of channel adapters: notices owed to reporters of merged cases (operators, admins)."""
    principal = api_principal()
    if not principal.has_role("operator", "admin"):
        raise Forbidden("only operators and channel adapters read the reporter outbox")
    args = _query(schemas.NoticeQuerySchema())
    statement = select(ReporterNotice).order_by(ReporterNotice.id).limit(args["limit"])
    if args.get("channel"):
        statement = statement.where(ReporterNotice.channel == args["channel"])
    if args["pending"]:
        statement = statement.where(ReporterNotice.delivered_at.is_(None))
    if args.get("after"):
        statement = statement.where(ReporterNotice.id > args["after"])
    return {"items": [notice_dict(n) for n in session.scalars(statement)]}


@bp.post("/reporter-notices/<id:notice_id>/delivered")
def notice_delivered(notice_id: int) -> Any:
    principal = api_principal()
    if not principal.has_role("operator", "admin"):
        raise Forbidden("only operators and channel adapters mark notices delivered")
    notice = session.get(ReporterNotice, notice_id)
    if notice is None:
        raise NotFound(f"notice {notice_id} not found")
    duplicate_ops.mark_delivered(notice, principal.user)
    commit_before_answer()
    return notice_dict(notice)


def _query(schema: Schema) -> dict[str, Any]:
    try:
        return schema.load(request.args.to_dict())  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationFailed("invalid query", errors=_flatten(exc.messages)) from None


@bp.get("/channels")
def list_channels() -> Any:
    """Every channel with its extension form."""
    api_principal()
    return {"items": [{"channel": c, "form": channel_form(c)} for c in CHANNELS]}


@bp.get("/cases/<id:case_id>/attachments")
def list_attachments(case_id: int) -> Any:
    case = _visible_case(case_id)
    return {"items": attachment_dicts(case_attachments(case.id))}


@bp.post("/cases/<id:case_id>/attachments")
def upload_attachment(case_id: int) -> Any:
    """Attach a photo or file (multipart/form-data, field ``file``)."""
    case = _visible_case(case_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("no file", errors={"file": ["请选择文件（multipart 字段 file） / send the file as multipart field 'file'"]})
    attachment = add_attachment(case, upload.stream, upload.filename, api_principal().user)
    commit_before_answer()
    return jsonify(attachment_dict(attachment)), 201


@bp.get("/attachments/<id:attachment_id>")
def download_attachment(attachment_id: int) -> Any:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} not found")
    _visible_case(attachment.case_id)
    return send_attachment(attachment)


@bp.get("/cases/<id:case_id>")
def get_case(case_id: int) -> Any:
    principal = api_principal()
    case = _get_case(case_id)
    if not can_view_case(principal, case):
        raise Forbidden("this case is outside your roles and units")
    return case_dict(case)


@bp.get("/tasks")
def list_tasks() -> Any:
    principal = api_principal()
    args = _query(_schema(schemas.TaskQuerySchema))
    limit, offset = args["limit"] or current_app.config["SETTINGS"].PAGE_SIZE, args["offset"]
    tasks = inbox_rows(principal, args["scope"], args["sort"], limit, offset, task_filters())
    cands = candidates(tasks) if request.args.get("candidates") == "1" else {}
    return {"tasks": [task_dict(t, cands.get(t.id)) for t in tasks], "limit": limit, "offset": offset}


def task_filters() -> TaskFilters:
    """``light=``, ``tier=`` and ``unit=`` of a task list, checked (422 names the bad one)."""
    errors: dict[str, list[str]] = {}
    light, tier, unit = (request.args.get(k) or None for k in ("light", "tier", "unit"))
    if light is not None and light not in LIGHTS:
        errors["light"] = [f"must be one of {', '.join(LIGHTS)}"]
    if tier is not None and tier not in TIERS:
        errors["tier"] = [f"must be one of {', '.join(TIERS)}"]
    unit_path = None
    if unit is not None:
        info = directory().by_code.get(unit)
        if info is None:
            errors["unit"] = [f"no org unit {unit!r}"]
        else:
            unit_path = info.path
    if errors:
        raise ValidationFailed("invalid query", errors=errors)
    return TaskFilters(light=light, tier=tier, unit_path=unit_path)


@bp.get("/tasks/<id:task_id>")
def get_task(task_id: int) -> Any:
    task = _get_task(task_id)
    _check_task_visible(task)
    out = task_dict(task, candidates([task]).get(task.id))
    out["form"] = task_ops.task_form(task, _locale())
    out["case_title"] = _get_case(task.case_id).title
    out["proposal"] = task_ops.proposal(task, out["form"])
    return out


@bp.post("/tasks/<id:task_id>/claim")
def claim(task_id: int) -> Any:
    task = _get_task(task_id)
    task = task_ops.claim_task(task, api_principal())
    return task_dict(task)


@bp.post("/tasks/<id:task_id>/unclaim")
def unclaim(task_id: int) -> Any:
    task = _get_task(task_id)
    principal = api_principal()
    _check_task_visible(task)
    return task_dict(task_ops.unclaim_task(task, principal))


@bp.post("/tasks/<id:task_id>/complete")
def complete(task_id: int) -> Any:
    task = _get_task(task_id)
    principal = api_principal()
    _check_task_visible(task)
    data = _body(schemas.CompleteSchema)["data"]
    case = task_ops.complete_task(task, principal, data, _locale())
    commit_before_answer()
    body = case_dict(case)
    if case.has_incident:
        return jsonify({"status": "incident", "message": "the process failed on this step; an administrator was notified and can retry it", "case": body}), 202
    return body


# ---------------------------------------------------------------------------- supervision (督办)

@bp.post("/tasks/<id:task_id>/reassign")
def reassign(task_id: int) -> Any:
    task = _get_task(task_id)
    principal = api_principal()
    data = _body(schemas.ReassignSchema)
    user = None
    if data.get("user"):
        user = session.scalar(select(User).where(User.username == data["user"]))
        if user is None:
            raise ValidationFailed("invalid input", errors={"user": [f"no user {data['user']!r}"]})
    task = supervision_ops.reassign_task(task, principal, data["reason"], user=user, unit_code=data.get("unit"))
    return task_dict(task, candidates([task]).get(task.id))


@bp.get("/tasks/<id:task_id>/reassign-options")
def reassign_options(task_id: int) -> Any:
    """The 改派 pickers: the units the caller may move the task to, and who holds its role over
    ``unit`` (default: the task's own unit)."""
    task = _get_task(task_id)
    principal = api_principal()
    _check_task_visible(task)
    query = _query(_schema(schemas.ReassignOptionsQuerySchema))
    return supervision_queries.reassign_options(principal, task, query.get("unit"), _locale()).as_dict()


@bp.post("/tasks/<id:task_id>/urge")
def urge(task_id: int) -> Any:
    task = _get_task(task_id)
    data = _body(schemas.ReasonSchema)
    return task_dict(supervision_ops.urge_task(task, api_principal(), data["reason"]))


@bp.post("/tasks/<id:task_id>/escalate")
def escalate(task_id: int) -> Any:
    task = _get_task(task_id)
    data = _body(schemas.ReasonSchema)
    case = supervision_ops.escalate_task(task, api_principal(), data["reason"])
    commit_before_answer()
    return case_dict(case)


@bp.post("/tasks/<id:task_id>/return")
def return_task(task_id: int) -> Any:
    task = _get_task(task_id)
    data = _body(schemas.ReasonSchema)
    status, req = supervision_ops.return_task(task, api_principal(), data["reason"])
    commit_before_answer()
    if req is not None:
        return jsonify({"status": status, "request": request_dict(req), "case": None}), 201
    return {"status": status, "request": None, "case": case_dict(_get_case(task.case_id))}


@bp.post("/tasks/<id:task_id>/extension-requests")
def request_extension(task_id: int) -> Any:
    task = _get_task(task_id)
    data = _body(schemas.ExtensionRequestCreateSchema)
    req = supervision_ops.request_extension(task, api_principal(), data["reason"], hours=data.get("hours"),
                                            days=data.get("days"))
    return jsonify(request_dict(req)), 201


def _get_request(request_id: int) -> TaskRequest:
    req = session.get(TaskRequest, request_id)
    if req is None:
        raise NotFound(f"request {request_id} not found")
    return req


@bp.post("/extension-requests/<id:request_id>/decision")
def decide_extension(request_id: int) -> Any:
    data = _body(schemas.DecisionSchema)
    req = supervision_ops.decide_request(_get_request(request_id), api_principal(), data["approve"], data["reason"],
                                         kind="extension")
    return request_dict(req)


@bp.post("/return-requests/<id:request_id>/decision")
def decide_return(request_id: int) -> Any:
    data = _body(schemas.DecisionSchema)
    req = supervision_ops.decide_request(_get_request(request_id), api_principal(), data["approve"], data["reason"],
                                         kind="return")
    return request_dict(req)


@bp.post("/cases/<id:case_id>/park")
def park(case_id: int) -> Any:
    data = _body(schemas.ReasonSchema)
    case = supervision_ops.park_case(_get_case(case_id), api_principal(), data["reason"])
    commit_before_answer()
    return case_dict(case)


@bp.post("/cases/<id:case_id>/unpark")
def unpark(case_id: int) -> Any:
    data = _body(schemas.ReasonSchema)
    case = supervision_ops.unpark_case(_get_case(case_id), api_principal(), data["reason"])
    commit_before_answer()
    return case_dict(case)


@bp.get("/supervision")
def supervision_console() -> Any:
    """The supervisor's console as data: counts by light, escalated and parked cases, returned
    orders waiting for dispatch, pending requests; ``light=`` lists that light's tasks."""
    from app.supervision import queries as sq
    principal = api_principal()
    if not principal.has_role("supervisor"):
        raise Forbidden("only supervisors have a console")
    light = request.args.get("light") or None
    if light is not None and light not in LIGHTS:
        raise ValidationFailed("invalid query", errors={"light": [f"must be one of {', '.join(LIGHTS)}"]})
    summary = sq.overview(principal)
    rows = sq.tasks(principal, light, limit=current_app.config["SETTINGS"].PAGE_SIZE)
    return {
        "lights": summary.lights, "parked": summary.parked, "escalated": summary.escalated,
        "returned_waiting": summary.returned_waiting, "extension_requests": summary.extension_requests,
        "return_requests": summary.return_requests,
        "tasks": [task_dict(t) for t, _c in rows],
        "escalated_cases": [{"id": c.id, "number": c.number, "title": c.title, "tier": c.tier,
                             "escalation_count": c.escalation_count, "supervised_at": c.supervised_at}
                            for c in sq.escalated_cases(principal)],
        "requests": [request_dict(r) for r in sq.pending_requests(principal)],
    }


# ---------------------------------------------------------------------------- notifications

@bp.get("/notifications")
def list_notifications() -> Any:
    principal = api_principal()
    rows = notification_queries.recent(principal.id, unread_only=request.args.get("unread") == "1")
    return {"unread": notification_queries.unread_count(principal.id),
            "notifications": [notification_dict(r) for r in rows]}


@bp.post("/notifications/read")
def read_notifications() -> Any:
    principal = api_principal()
    data = _body(schemas.MarkReadSchema)
    changed = notification_ops.mark_read(principal.id, data.get("ids"))
    return {"marked": changed, "unread": notification_queries.unread_count(principal.id)}


@bp.get("/openapi.json")
def openapi() -> Any:
    from app.api.openapi import spec_dict
    return spec_dict()


# the category catalogue's routes live in their own module and add themselves to ``bp``
from app.api import catalog_routes  # noqa: E402,F401
from app.api import cockpit_map  # noqa: E402,F401
from app.kpis import api as kpi_routes  # noqa: E402,F401 - /api/v1/kpis
from app.designer import api_checks  # noqa: E402,F401
from app.designer import api_testrun  # noqa: E402,F401
from app.hotspots import api as hotspots_api  # noqa: E402,F401
from app.api import cockpit_routes  # noqa: E402,F401
