"""The OpenAPI 3 description of /api/v1, generated from the marshmallow schemas."""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.api import schemas
from app.core.ids import MAX_ID


def _json(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _resp(desc: str, schema: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": desc}
    if schema:
        out.update(_json(schema))
    return out


ERRORS = {
    "401": _resp("missing or invalid bearer token", "Error"),
    "403": _resp("outside the caller's roles and units", "Error"),
    "404": _resp("not found", "Error"),
}


def id_parameter(name: str) -> dict[str, Any]:
    """A database id in the path: 1 … 2^31−1 (app.core.ids); any other number is a 404."""
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": MAX_ID}}


# ---------------------------------------------------------------------------- operation ids and links
# Clients and the fuzz test (tests/api/test_fuzz.py) follow these links from a new case to its
# tasks, requests and files; a new operation gets an id here, and its links below.

OPERATION_IDS: dict[tuple[str, str], str] = {
    ("post", "/api/v1/auth/token"): "createToken",
    ("post", "/api/v1/auth/revoke"): "revokeToken",
    ("post", "/api/v1/cases"): "createCase",
    ("get", "/api/v1/cases/{case_id}"): "getCase",
    ("post", "/api/v1/cases/{case_id}/merge"): "mergeCase",
    ("post", "/api/v1/cases/{case_id}/duplicates/{candidate_id}/dismiss"): "keepSeparate",
    ("get", "/api/v1/cases/{case_id}/attachments"): "listAttachments",
    ("post", "/api/v1/cases/{case_id}/attachments"): "uploadAttachment",
    ("post", "/api/v1/cases/{case_id}/park"): "parkCase",
    ("post", "/api/v1/cases/{case_id}/unpark"): "unparkCase",
    ("get", "/api/v1/attachments/{attachment_id}"): "downloadAttachment",
    ("get", "/api/v1/tasks"): "listTasks",
    ("get", "/api/v1/tasks/{task_id}"): "getTask",
    ("post", "/api/v1/tasks/{task_id}/claim"): "claimTask",
    ("post", "/api/v1/tasks/{task_id}/unclaim"): "unclaimTask",
    ("post", "/api/v1/tasks/{task_id}/complete"): "completeTask",
    ("post", "/api/v1/tasks/{task_id}/reassign"): "reassignTask",
    ("get", "/api/v1/tasks/{task_id}/reassign-options"): "reassignOptions",
    ("post", "/api/v1/tasks/{task_id}/urge"): "urgeTask",
    ("post", "/api/v1/tasks/{task_id}/escalate"): "escalateTask",
    ("post", "/api/v1/tasks/{task_id}/return"): "returnTask",
    ("post", "/api/v1/tasks/{task_id}/extension-requests"): "requestExtension",
    ("post", "/api/v1/extension-requests/{request_id}/decision"): "decideExtension",
    ("post", "/api/v1/return-requests/{request_id}/decision"): "decideReturn",
    ("get", "/api/v1/supervision"): "supervisionConsole",
    ("get", "/api/v1/cockpit"): "getCockpit",
    ("get", "/api/v1/notifications"): "listNotifications",
    ("post", "/api/v1/notifications/read"): "readNotifications",
    ("get", "/api/v1/channels"): "listChannels",
    ("get", "/api/v1/reporter-notices"): "listReporterNotices",
    ("post", "/api/v1/reporter-notices/{notice_id}/delivered"): "markNoticeDelivered",
    ("get", "/api/v1/categories"): "listCategories",
    ("get", "/api/v1/topics"): "listTopics",
    ("get", "/api/v1/processes"): "getProcesses",
    ("get", "/api/v1/processes/versions"): "listProcessVersions",
    ("post", "/api/v1/processes/validate"): "validateProcesses",
    ("get", "/api/v1/openapi.json"): "getOpenapi",
    ("get", "/healthz"): "healthz",
}
from app.designer.api_drafts import OPERATION_IDS as _DESIGNER_DRAFTS  # noqa: E402 - the designer's drafts API
OPERATION_IDS.update(_DESIGNER_DRAFTS)
from app.hotspots.api import OPERATION_IDS as _HOTSPOTS  # noqa: E402 - the leaders' hot spots
OPERATION_IDS.update(_HOTSPOTS)
from app.kpis.api import OPERATION_IDS as _KPIS  # noqa: E402 - the KPI API
OPERATION_IDS.update(_KPIS)

# reassignOptions (a read, answered from the same rules as reassignTask) is fuzzed on its own, not
# linked: tests/supervision/test_reassign_options.py checks it on real tasks and roles.
TASK_OPERATIONS = ("getTask", "claimTask", "unclaimTask", "completeTask", "reassignTask", "urgeTask",
                   "escalateTask", "returnTask", "requestExtension")
CASE_OPERATIONS = ("getCase", "listAttachments", "uploadAttachment", "mergeCase", "parkCase", "unparkCase")


def _to(targets: tuple[str, ...], parameter: str, expression: str) -> dict[str, dict[str, str]]:
    return {target: {parameter: expression} for target in targets}


def _case_links(body: str = "$response.body#") -> dict[str, dict[str, str]]:
    """From an answer that is a case: its operations, and those of its first open task."""
    return {**_to(CASE_OPERATIONS, "case_id", f"{body}/id"),
            **_to(TASK_OPERATIONS, "task_id", f"{body}/current_tasks/0/id"),
            "keepSeparate": {"case_id": f"{body}/id", "candidate_id": f"{body}/duplicate_candidates/0/case_id"}}


def _task_links() -> dict[str, dict[str, str]]:
    """From an answer that is a task: the other actions on it, and its case."""
    return {**_to(TASK_OPERATIONS, "task_id", "$response.body#/id"), "getCase": {"case_id": "$response.body#/case_id"}}


#: source operation → answer status → target operation → {parameter: runtime expression}.
#: Links leave the new case and the answers that read state (lists, a case, a task): an action
#: (claim, complete, park, ...) is reached from them, and what it changed is read again from them,
#: so a scenario starts from a case it created or a list it was given, never from a made-up id.
LINKS: dict[str, dict[str, dict[str, dict[str, str]]]] = {
    "createCase": {"201": _case_links(), "200": _case_links()},
    "getCase": {"200": _case_links()},
    "getTask": {"200": _task_links()},
    "listTasks": {"200": _to(TASK_OPERATIONS, "task_id", "$response.body#/tasks/0/id")},
    "listAttachments": {"200": {"downloadAttachment": {"attachment_id": "$response.body#/items/0/id"}}},
    "listReporterNotices": {"200": {"markNoticeDelivered": {"notice_id": "$response.body#/items/0/id"}}},
    "supervisionConsole": {"200": {
        **_to(TASK_OPERATIONS, "task_id", "$response.body#/tasks/0/id"),
        **_to(("decideExtension", "decideReturn"), "request_id", "$response.body#/requests/0/id"),
        "getCase": {"case_id": "$response.body#/escalated_cases/0/id"}}},
}


INVALID_INPUT = {"description": "invalid input, e.g. control characters in a parameter; nothing changed",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def with_links(doc: dict[str, Any]) -> dict[str, Any]:
    """Name every operation (``operationId``), add the OpenAPI links of :data:`LINKS`, and the 422
    that any query, header or body parameter may get (app.core.text refuses control characters)."""
    by_id: dict[str, dict[str, Any]] = {}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            operation["operationId"] = OPERATION_IDS[(method, path)]
            by_id[operation["operationId"]] = operation
            takes_input = "requestBody" in operation or any(
                p.get("in") != "path" for p in operation.get("parameters", []))
            if takes_input:
                operation["responses"].setdefault("422", copy.deepcopy(INVALID_INPUT))
    for source, answers in LINKS.items():
        for status, targets in answers.items():
            response = by_id[source]["responses"][status]
            response["links"] = {target: {"operationId": target, "parameters": parameters}
                                 for target, parameters in targets.items()}
    return doc


def _designer_operations() -> None:
    """The process designer's operations (app.designer.api_testrun) and their links."""
    from app.designer import api_testrun
    OPERATION_IDS.update(api_testrun.OPERATION_IDS)
    LINKS.update(api_testrun.LINKS)
    from app.api import cockpit_map
    OPERATION_IDS.update(cockpit_map.OPERATION_IDS)


_designer_operations()


@lru_cache(maxsize=1)
def spec_dict() -> dict[str, Any]:
    spec = APISpec(title="Tongguan API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Case management for a city's unified operations (一网统管). "
                                        "Every call except /auth/token takes 'Authorization: Bearer <token>'."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in ("TokenRequest", "Token", "RevokeRequest", "Revoked", "CaseCreate", "Task", "TaskDetail", "Case", "Complete", "Error", "Reason",
                 "Reassign", "ReassignOptions", "ExtensionRequestCreate", "Decision", "TaskRequest", "ReturnResult", "Notification",
                 "MarkRead", "Merge", "KeepSeparate", "Channel", "ReporterNotice"):
        spec.components.schema(name, schema=getattr(schemas, f"{name}Schema"))
    task_id = id_parameter("task_id")
    case_id = id_parameter("case_id")
    secured = [{"bearer": []}]
    spec.path("/api/v1/auth/token", operations={"post": {
        "summary": "Exchange username and password for a bearer token", "requestBody": _json("TokenRequest"),
        "description": "Failed attempts are counted per username and per client address; after too many the "
                       "name or address is locked for a growing time and even the right password is refused. "
                       "Give each integration a username of its own, not one a person logs in with.",
        "responses": {"200": _resp("token", "Token"), "401": _resp("wrong username or password", "Error"),
                      "422": _resp("invalid input", "Error"),
                      "429": {**_resp("too many failed logins: locked for the seconds of Retry-After", "Error"),
                              "headers": {"Retry-After": {"schema": {"type": "integer"},
                                                          "description": "seconds until the lock ends"}}}}}})
    spec.path("/api/v1/auth/revoke", operations={"post": {
        "summary": "End the presented token now (or, for administrators, every session and token of a user)",
        "description": "Other worker processes may accept a revoked token for up to 5 seconds (their cache).",
        "security": secured,
        "requestBody": {"required": False, **_json("RevokeRequest")},
        "responses": {"200": _resp("ended", "Revoked"), "422": _resp("invalid input", "Error"), **ERRORS}}})
    spec.path("/api/v1/cases", operations={"post": {
        "summary": "Create a work order and start its process", "security": secured,
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
                        "description": "the client's own key: repeated with the same body it returns the first "
                                       "case instead of creating another; with another body, 422"}],
        "requestBody": _json("CaseCreate"),
        "responses": {"201": _resp("created", "Case"), "200": _resp("the case of an earlier delivery", "Case"),
                      "409": _resp("the channel message (channel + external_id) is already a case the caller may "
                                   "not see; nothing about it is disclosed", "Error"),
                      "422": _resp("invalid input, or a repeated key with another body; nothing stored", "Error"),
                      **ERRORS}}})
    spec.path("/api/v1/cases/{case_id}", operations={"get": {
        "summary": "A case with its current tasks and history", "security": secured, "parameters": [case_id],
        "responses": {"200": _resp("the case", "Case"), **ERRORS}}})
    spec.path("/api/v1/tasks", operations={"get": {
        "summary": "The caller's inbox", "security": secured,
        "parameters": [
            {"name": "scope", "in": "query", "schema": {"type": "string", "enum": ["mine", "claimable"]}},
            {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["due", "-due", "created", "-created"]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
            {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}},
            {"name": "candidates", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}},
            {"name": "light", "in": "query", "schema": {"type": "string", "enum": ["green", "yellow", "red"]}},
            {"name": "tier", "in": "query", "schema": {"type": "string", "enum": ["community", "street", "district", "city"]}},
            {"name": "unit", "in": "query", "schema": {"type": "string"},
             "description": "org-unit code: tasks of that unit and the units below it"}],
        "responses": {"200": {"description": "tasks", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                                             "limit": {"type": "integer"}, "offset": {"type": "integer"}}}}}},
                      "422": _resp("invalid query", "Error"), **ERRORS}}})
    spec.path("/api/v1/tasks/{task_id}", operations={"get": {
        "summary": "A task with its form (JSON Schema)", "security": secured, "parameters": [task_id],
        "responses": {"200": _resp("the task", "TaskDetail"), **ERRORS}}})
    for action, summary in (("claim", "Claim (sign for) a task"), ("unclaim", "Release a claimed task")):
        spec.path(f"/api/v1/tasks/{{task_id}}/{action}", operations={"post": {
            "summary": summary, "security": secured, "parameters": [task_id],
            "responses": {"200": _resp("the task", "Task"), "409": _resp("held by another user or no longer open", "Error"),
                          **ERRORS}}})
    spec.path("/api/v1/tasks/{task_id}/complete", operations={"post": {
        "summary": "Complete a claimed task with its form data", "security": secured, "parameters": [task_id],
        "description": "The task's form (`GET /api/v1/tasks/{task_id}`, `form`) is a JSON Schema. A photo field "
                       "(`\"format\": \"photo\"`, e.g. 现场照片, 处置前/处置后照片) takes the ids of photos the caller "
                       "uploaded to the case first (`POST /api/v1/cases/{case_id}/attachments`, JPEG/PNG/WebP/GIF/HEIC) "
                       "and that no other step uses; `minItems`/`maxItems` give the count. On success they are tied "
                       "to the task, the field and its `x-photo-tag` (`before`/`after`), as the case's attachment "
                       "list shows; on a 422 nothing is tied and the uploads stay loose case attachments.",
        "requestBody": _json("Complete"),
        "responses": {"200": _resp("the case after the step", "Case"),
                      "202": _resp("accepted but the process failed: kept as an incident for an administrator"),
                      "409": _resp("not claimed by the caller, or no longer open", "Error"),
                      "422": _resp("field errors; nothing changed", "Error"), **ERRORS}}})
    acting = {"409": _resp("the process does not allow it at this step, or the task changed meanwhile", "Error"),
              "422": _resp("field errors; nothing changed", "Error"), **ERRORS}
    for action, summary, body, answer in (
            ("reassign", "Give the task to another user and/or unit (supervisor)", "Reassign", _resp("the task", "Task")),
            ("urge", "催办: notify the holder (supervisor)", "Reason", _resp("the task", "Task")),
            ("escalate", "上报/吹哨: send the case to the next tier", "Reason", _resp("the case", "Case"))):
        spec.path(f"/api/v1/tasks/{{task_id}}/{action}", operations={"post": {
            "summary": summary, "security": secured, "parameters": [task_id], "requestBody": _json(body),
            "responses": {"200": answer, **acting}}})
    spec.path("/api/v1/tasks/{task_id}/reassign-options", operations={"get": {
        "summary": "改派 pickers: the units the caller may move the task to (the tree), and who holds its role over one",
        "description": "For supervisors over the task's unit. `groups` lists the units of the caller's supervision "
                       "where someone holds the task's role (role assignments cover the units below them); "
                       "`people` those holding it over `unit`. POST …/reassign checks the same rules.",
        "security": secured, "parameters": [task_id, {
            "name": "unit", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 64},
            "description": "org-unit code whose people to list (default: the task's unit)"}],
        "responses": {"200": _resp("the choices", "ReassignOptions"),
                      "403": _resp("not a supervisor over the task's unit, or `unit` is outside the caller's "
                                   "supervision", "Error"),
                      "404": _resp("no such task or unit", "Error"),
                      "409": _resp("the task has ended", "Error"),
                      "422": _resp("invalid query", "Error"), "401": ERRORS["401"]}}})
    spec.path("/api/v1/tasks/{task_id}/return", operations={"post": {
        "summary": "退单: a supervisor returns the task to dispatch at once; its handler asks for it",
        "security": secured, "parameters": [task_id], "requestBody": _json("Reason"),
        "responses": {"200": _resp("returned", "ReturnResult"), "201": _resp("requested, waiting for a supervisor", "ReturnResult"),
                      **acting}}})
    spec.path("/api/v1/tasks/{task_id}/extension-requests", operations={"post": {
        "summary": "延期申请: the holder asks for more working hours or days, before the deadline",
        "security": secured, "parameters": [task_id], "requestBody": _json("ExtensionRequestCreate"),
        "responses": {"201": _resp("the pending request", "TaskRequest"), **acting}}})
    request_id = id_parameter("request_id")
    for kind in ("extension", "return"):
        spec.path(f"/api/v1/{kind}-requests/{{request_id}}/decision", operations={"post": {
            "summary": f"Approve or refuse a pending {kind} request (supervisor)", "security": secured,
            "parameters": [request_id], "requestBody": _json("Decision"),
            "responses": {"200": _resp("the decided request", "TaskRequest"), **acting}}})
    for action, summary in (("park", "挂账: the clocks of the case's tasks stand (supervisor)"),
                            ("unpark", "Take the case off the parked list; the working time left is kept")):
        spec.path(f"/api/v1/cases/{{case_id}}/{action}", operations={"post": {
            "summary": summary, "security": secured, "parameters": [case_id], "requestBody": _json("Reason"),
            "responses": {"200": _resp("the case", "Case"), **acting}}})
    spec.path("/api/v1/supervision", operations={"get": {
        "summary": "The supervisor's console: open tasks by light, escalated cases, waiting requests", "security": secured,
        "parameters": [{"name": "light", "in": "query", "schema": {"type": "string", "enum": ["green", "yellow", "red"]}}],
        "responses": {"200": _resp("the console"), "422": _resp("invalid query", "Error"), **ERRORS}}})
    spec.components.schema("Cockpit", schema=schemas.CockpitSchema)
    spec.path("/api/v1/cockpit", operations={"get": {
        "summary": "驾驶舱: one unit's cases in, closed, open (by light and tier), escalated, parked, overdue, top "
                   "categories and the 30-day trend, each with the link to its cases",
        "description": "For leaders, supervisors and administrators over the unit (their role covers the units "
                       "below it). A case counts for a unit when its grid unit or its handling unit is that unit or "
                       "below it; the city (the root) counts every case. Also answers the cockpit page with the "
                       "browser's session. `format=csv|xlsx`: the same figures as a table (Chinese headers).",
        "security": secured,
        "parameters": [
            {"name": "unit", "in": "query", "schema": {"type": "string", "maxLength": 64},
             "description": "org-unit code; default the highest unit of the caller's cockpit roles"},
            {"name": "period", "in": "query", "schema": {"type": "string", "enum": ["today", "week", "month"]},
             "description": "today; week: since Monday; month: since the 1st (local dates, Asia/Shanghai)"},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv", "xlsx"]}}],
        "responses": {"200": {"description": "the figures", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Cockpit"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}}}},
            "403": _resp("not a leader, supervisor or administrator over the unit", "Error"),
            "422": _resp("unknown unit, period or format", "Error"), "401": ERRORS["401"]}}})
    spec.path("/api/v1/notifications", operations={"get": {
        "summary": "The caller's recent notifications and unread count", "security": secured,
        "parameters": [{"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}}],
        "responses": {"200": {"description": "notifications", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "unread": {"type": "integer"},
                "notifications": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}}}}}}},
            **ERRORS}}})
    spec.path("/api/v1/notifications/read", operations={"post": {
        "summary": "Mark notifications read (all, or the given ids)", "security": secured, "requestBody": _json("MarkRead"),
        "responses": {"200": _resp("how many were marked and how many remain unread"),
                      "422": _resp("invalid input", "Error"), **ERRORS}}})
    _intake_paths(spec, secured, case_id, acting)
    _catalog_paths(spec, secured)
    from app.designer.api_checks import openapi_paths as process_check_paths
    process_check_paths(spec, secured, _resp, ERRORS)
    from app.designer import api_testrun
    api_testrun.openapi_paths(spec, secured, ERRORS, _resp, _json, id_parameter)
    from app.designer.api_drafts import openapi_paths as designer_draft_paths
    designer_draft_paths(spec, secured, _resp, _json, ERRORS, id_parameter)
    from app.hotspots.api import openapi_paths as hotspot_paths
    hotspot_paths(spec, secured, ERRORS, _resp)
    from app.api.cockpit_map import openapi_paths as cockpit_map_paths
    cockpit_map_paths(spec, secured, ERRORS, _resp)
    from app.kpis.api import openapi_paths as kpi_paths
    kpi_paths(spec, secured, _resp, ERRORS, case_id)
    spec.path("/api/v1/openapi.json", operations={"get": {"summary": "This description",
                                                          "responses": {"200": _resp("OpenAPI 3 document")}}})
    spec.path("/healthz", operations={"get": {"summary": "Liveness", "responses": {"200": _resp("ok")}}})
    return with_links(spec.to_dict())


def _intake_paths(spec: APISpec, secured: list[dict[str, Any]], case_id: dict[str, Any], acting: dict[str, Any]) -> None:
    """Channels, attachments, duplicates and merging."""
    spec.path("/api/v1/channels", operations={"get": {
        "summary": "Every intake channel with its extension form", "security": secured,
        "responses": {"200": {"description": "channels", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Channel"}}}}}}},
            **ERRORS}}})
    spec.path("/api/v1/cases/{case_id}/merge", operations={"post": {
        "summary": "合并: the case becomes a duplicate of the master case `into` and follows it (dispatcher)",
        "security": secured, "parameters": [case_id], "requestBody": _json("Merge"),
        "responses": {"200": _resp("the merged case", "Case"), **acting}}})
    candidate_id = id_parameter("candidate_id")
    spec.path("/api/v1/cases/{case_id}/duplicates/{candidate_id}/dismiss", operations={"post": {
        "summary": "Keep separate: the candidate is a different problem and is not proposed again (dispatcher)",
        "security": secured, "parameters": [case_id, candidate_id], "requestBody": _json("KeepSeparate"),
        "responses": {"200": _resp("the case", "Case"), **acting}}})
    upload = {"content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}
    spec.path("/api/v1/cases/{case_id}/attachments", operations={
        "get": {"summary": "The case's photos and files", "security": secured, "parameters": [case_id],
                "responses": {"200": {"description": "attachments", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}}}}}}},
                    **ERRORS}},
        "post": {"summary": "Attach a photo or file (JPEG, PNG, WebP, GIF, HEIC, PDF, audio, video; size-limited)",
                 "security": secured, "parameters": [case_id], "requestBody": upload,
                 "responses": {"201": _resp("stored", "Attachment"), "413": _resp("request too large", "Error"),
                               "422": _resp("no file, empty, too large, wrong type or too many", "Error"), **ERRORS}}})
    spec.path("/api/v1/reporter-notices", operations={"get": {
        "summary": "Outbox of channel adapters: notices owed to reporters of merged cases whose master ended "
                   "(operators, admins)", "security": secured,
        "parameters": [{"name": "channel", "in": "query", "schema": {"type": "string"}},
                       {"name": "pending", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]},
                        "description": "1 (default): only undelivered"},
                       {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
        "responses": {"200": {"description": "notices", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ReporterNotice"}}}}}}},
            "422": _resp("invalid query", "Error"), **ERRORS}}})
    spec.path("/api/v1/reporter-notices/{notice_id}/delivered", operations={"post": {
        "summary": "The adapter delivered the notice", "security": secured,
        "parameters": [id_parameter("notice_id")],
        "responses": {"200": _resp("the notice", "ReporterNotice"), "409": _resp("delivered already", "Error"), **ERRORS}}})
    spec.path("/api/v1/attachments/{attachment_id}", operations={"get": {
        "summary": "Download an attachment (photos inline, other files as a download)", "security": secured,
        "parameters": [id_parameter("attachment_id")],
        "responses": {"200": {"description": "the file"}, **ERRORS}}})


def _catalog_paths(spec: APISpec, secured: list[dict[str, Any]]) -> None:
    """The category catalogue: GB/T 47678.5 categories and the 12345 topic tree (typeahead search)."""
    for name in ("CategoryItem", "CategoryList", "TopicItem", "TopicList"):
        spec.components.schema(name, schema=getattr(schemas, f"{name}Schema"))
    q = {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 50},
         "description": "Chinese text (井盖), pinyin initials (jg), full pinyin (jinggai) or a code prefix (0600); "
                        "several words must all match; omit for the whole list"}
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500},
             "description": "default 20 with q, else the whole list (at most 500)"}
    spec.path("/api/v1/categories", operations={"get": {
        "summary": "Search the active GB/T 47678.5 directory (components and events), best matches first",
        "security": secured,
        "parameters": [q, {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["component", "event"]}},
                       limit],
        "responses": {"200": _resp("matching categories and the directory's active version", "CategoryList"),
                      "401": ERRORS["401"], "422": _resp("invalid query", "Error")}}})
    spec.path("/api/v1/topics", operations={"get": {
        "summary": "Search the active 12345 topic tree (all three levels), best matches first",
        "security": secured, "parameters": [q, limit],
        "responses": {"200": _resp("matching topics and the tree's active version", "TopicList"),
                      "401": ERRORS["401"], "422": _resp("invalid query", "Error")}}})
