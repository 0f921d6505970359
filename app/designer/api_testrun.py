"""/api/v1/processes/test-runs and /api/v1/processes/diff: try a draft, see what it changes.

Thin views on :mod:`app.designer.testrun` and :mod:`app.designer.diff`; designers and
administrators only (403 for anyone else), 422 with field errors for bad input.
"""
from __future__ import annotations

import json
from typing import Any

from apispec import APISpec
from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.routes import _body, _locale, bp
from app.core.auth import token_or_page_principal
from app.designer import testrun
from app.designer.diff import bundle_diff
from app.engine.definitions import MAX_FILE_BYTES

MAX_FILES = 50


class DraftFilesField(fields.Dict):
    """``{"processes/x.bpmn": "<text>"}``: names checked by :func:`app.designer.checks.bundle_with`."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(keys=fields.String(validate=validate.Length(min=1, max=200)),
                         values=fields.String(validate=validate.Length(max=MAX_FILE_BYTES)), **kw)


class _FilesSchema(Schema):
    files = DraftFilesField(load_default=dict, metadata={
        "description": "files of the draft by their place in the bundle (`processes/seven_step_loop.bpmn`, "
                       "`rules/starting_tier.dmn`, `forms/triage.json`); they replace the deployed bundle's"})

    @validates_schema
    def _bounded(self, data: dict[str, Any], **_kw: Any) -> None:
        if len(data.get("files", {})) > MAX_FILES:
            raise ValidationError(f"at most {MAX_FILES} files", "files")
        too_big = [n for n, t in data.get("files", {}).items() if len(t.encode("utf-8")) > MAX_FILE_BYTES]
        if too_big:
            raise ValidationError({n: [f"file larger than {MAX_FILE_BYTES // 1024} KB"] for n in too_big}, "files")


class TestRunCreateSchema(_FilesSchema):
    __test__ = False
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "start data: `channel`, `category_code`, `urgency`, `grid_unit` (made into the process "
                       "variables as for a new case), and any other process variable"})


class TestRunStepSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "the task's form data"})


class TestRunSignalSchema(Schema):
    __test__ = False
    task = fields.String(required=True, validate=validate.Length(min=1, max=36),
                         metadata={"description": "`id` of one of the run's `waiting` tasks"})
    name = fields.String(required=True, validate=validate.OneOf(testrun.SIGNALS),
                         metadata={"description": "escalate (上报/吹哨) or return (退单)"})
    reason = fields.String(load_default="试运行", validate=validate.Length(max=500))


def _in_years(moment: Any) -> None:
    if not 2000 <= moment.year <= 9000:
        raise ValidationError("年份应在 2000 到 9000 之间 / the year must be within 2000-9000")


class TestRunTimersSchema(Schema):
    __test__ = False
    at = fields.AwareDateTime(required=True, validate=_in_years, metadata={
        "description": "the run's clock jumps to this moment (with its zone, years 2000-9000); every timer due "
                       "by then fires"})


class DiffRequestSchema(_FilesSchema):
    pass


class TestRunSchema(Schema):
    """A test run: where it went and what waits (``elements`` are the ids to colour)."""

    __test__ = False
    id = fields.Integer()
    status = fields.String(metadata={"enum": ["waiting", "completed", "stuck", "failed"]})
    process_id = fields.String()
    base_definition_id = fields.Integer()
    files = fields.List(fields.String())
    start_data = fields.Dict()
    created_at = fields.String()
    updated_at = fields.String()
    expires_at = fields.String()
    path = fields.List(fields.Dict(), metadata={"description": "completed elements in order: element, name, type, "
                                                               "process, file, flow (the sequence flow taken to it)"})
    waiting = fields.List(fields.Dict(), metadata={"description": "waiting user tasks: id, element, name, process, "
                                                                  "file, role, lane, stage, unit, limit, form (JSON "
                                                                  "Schema), photo_fields, values, documentation, flow"})
    timers = fields.List(fields.Dict())
    effects = fields.List(fields.Dict())
    steps = fields.List(fields.Dict())
    data = fields.Dict()
    error = fields.Dict(allow_none=True)
    elements = fields.Dict()


class DiffSchema(Schema):
    files = fields.List(fields.Dict(), metadata={"description": "per file: file, kind, status, error, parts "
                                                                "(per process/decision/form: added, removed, changed), "
                                                                "elements (ids added/removed/changed)"})
    changed = fields.Boolean()


def _caller() -> Any:
    """A bearer token (clients, scripts), or the browser session of the BPMN editor (with its CSRF
    token), as the drafts API takes it."""
    return token_or_page_principal()


@bp.post("/processes/test-runs")
def create_test_run() -> Any:
    principal = _caller()
    testrun.may_design(principal)
    body = _body(TestRunCreateSchema)
    run = testrun.start_test_run(principal, body["files"], body["data"])
    return testrun.run_dict(run, _locale()), 201


@bp.get("/processes/test-runs/<id:run_id>")
def get_test_run(run_id: int) -> Any:
    run = testrun.get_test_run(_caller(), run_id)
    return testrun.run_dict(run, _locale())


@bp.delete("/processes/test-runs/<id:run_id>")
def delete_test_run(run_id: int) -> Any:
    testrun.delete_test_run(_caller(), run_id)
    return {"deleted": run_id}


@bp.post("/processes/test-runs/<id:run_id>/tasks/<task_id>")
def complete_test_task(run_id: int, task_id: str) -> Any:
    principal = _caller()
    run = testrun.get_test_run(principal, run_id)
    body = _body(TestRunStepSchema)
    run = testrun.complete_test_task(principal, run, task_id, body["data"], _locale())
    return testrun.run_dict(run, _locale())


@bp.post("/processes/test-runs/<id:run_id>/signals")
def signal_test_task(run_id: int) -> Any:
    principal = _caller()
    run = testrun.get_test_run(principal, run_id)
    body = _body(TestRunSignalSchema)
    run = testrun.signal_test_task(principal, run, body["task"], body["name"], body["reason"])
    return testrun.run_dict(run, _locale())


@bp.post("/processes/test-runs/<id:run_id>/timers")
def fire_test_timers(run_id: int) -> Any:
    principal = _caller()
    run = testrun.get_test_run(principal, run_id)
    body = _body(TestRunTimersSchema)
    run = testrun.fire_test_timers(principal, run, body["at"])
    return testrun.run_dict(run, _locale())


@bp.post("/processes/diff")
def diff_draft() -> Any:
    principal = _caller()
    testrun.may_design(principal)
    body = _body(DiffRequestSchema)
    base = testrun.deployed_definition(current_app.config["SETTINGS"].CASE_PROCESS_ID)
    testrun.draft_bundle(base, body["files"])  # 422 for a name outside the bundle
    return bundle_diff(json.loads(base.bundle), body["files"])


# ---------------------------------------------------------------------------- OpenAPI

OPERATION_IDS = {
    ("post", "/api/v1/processes/test-runs"): "createTestRun",
    ("get", "/api/v1/processes/test-runs/{run_id}"): "getTestRun",
    ("delete", "/api/v1/processes/test-runs/{run_id}"): "deleteTestRun",
    ("post", "/api/v1/processes/test-runs/{run_id}/tasks/{task_id}"): "completeTestTask",
    ("post", "/api/v1/processes/test-runs/{run_id}/signals"): "signalTestTask",
    ("post", "/api/v1/processes/test-runs/{run_id}/timers"): "fireTestTimers",
    ("post", "/api/v1/processes/diff"): "diffDraft",
}
LINKS = {
    "createTestRun": {"201": {
        "getTestRun": {"run_id": "$response.body#/id"}, "deleteTestRun": {"run_id": "$response.body#/id"},
        "completeTestTask": {"run_id": "$response.body#/id", "task_id": "$response.body#/waiting/0/id"},
        "signalTestTask": {"run_id": "$response.body#/id"}, "fireTestTimers": {"run_id": "$response.body#/id"}}},
}


def openapi_paths(spec: APISpec, secured: list[dict[str, Any]], errors: dict[str, Any],
                  resp: Any, body: Any, id_parameter: Any) -> None:
    for name in ("TestRunCreate", "TestRunStep", "TestRunSignal", "TestRunTimers", "TestRun", "DiffRequest", "Diff"):
        spec.components.schema(name, schema=globals()[f"{name}Schema"])
    forbidden = {**errors, "403": resp("not a process designer or administrator", "Error")}
    run_id = id_parameter("run_id")
    draft = "The draft is the deployed bundle with `files` replaced. "
    spec.path("/api/v1/processes/test-runs", operations={"post": {
        "summary": "试运行: start a throw-away case on a draft and run it to its first wait",
        "description": draft + "It runs with the live engine's sandbox, limits, rules and forms, but writes no "
                       "case, task, audit event, notification or timer: the run is kept apart and expires after a "
                       "day. A failure of the draft's process is the run's `error` (with its element).",
        "security": secured, "requestBody": body("TestRunCreate"),
        "responses": {"201": resp("the run", "TestRun"),
                      "409": resp("no version is deployed", "Error"),
                      "422": resp("a file outside the bundle, a draft that would not deploy (with `problems`), or "
                                  "bad start data", "Error"), **forbidden}}})
    spec.path("/api/v1/processes/test-runs/{run_id}", operations={
        "get": {"summary": "A test run of the caller's", "security": secured, "parameters": [run_id],
                "responses": {"200": resp("the run", "TestRun"), **forbidden}},
        "delete": {"summary": "Throw a test run away", "security": secured, "parameters": [run_id],
                   "responses": {"200": resp("deleted"), **forbidden}}})
    spec.path("/api/v1/processes/test-runs/{run_id}/tasks/{task_id}", operations={"post": {
        "summary": "Complete a waiting task of a test run with form data (checked by the task's form)",
        "description": "Photo fields are left empty in a test run. A failure of the process keeps the run "
                       "where it was, with `error` set.",
        "security": secured, "requestBody": body("TestRunStep"),
        "parameters": [run_id, {"name": "task_id", "in": "path", "required": True,
                                "schema": {"type": "string", "maxLength": 36},
                                "description": "`id` of one of the run's `waiting` tasks"}],
        "responses": {"200": resp("the run, moved on", "TestRun"),
                      "409": resp("the task is not waiting, or the run failed at its start", "Error"),
                      "422": resp("field errors of the form; nothing changed", "Error"), **forbidden}}})
    spec.path("/api/v1/processes/test-runs/{run_id}/signals", operations={"post": {
        "summary": "上报/吹哨 or 退单 at a waiting task of a test run (the signal `escalate` or `return`)",
        "security": secured, "parameters": [run_id], "requestBody": body("TestRunSignal"),
        "responses": {"200": resp("the run, moved on", "TestRun"),
                      "409": resp("the task is not waiting or catches no such signal here", "Error"),
                      "422": resp("invalid input", "Error"), **forbidden}}})
    spec.path("/api/v1/processes/test-runs/{run_id}/timers", operations={"post": {
        "summary": "Move the test run's clock to `at` and fire its timers due by then (reminders, escalations)",
        "description": "For this run only: the product's timer sweep never sees a test run.",
        "security": secured, "parameters": [run_id], "requestBody": body("TestRunTimers"),
        "responses": {"200": resp("the run, moved on", "TestRun"),
                      "409": resp("no timer of the run is due by then", "Error"),
                      "422": resp("invalid input", "Error"), **forbidden}}})
    spec.path("/api/v1/processes/diff", operations={"post": {
        "summary": "差异: what the draft's files change against the deployed bundle, element by element",
        "security": secured, "requestBody": body("DiffRequest"),
        "responses": {"200": resp("the diff", "Diff"), "409": resp("no version is deployed", "Error"),
                      "422": resp("a file outside the bundle", "Error"), **forbidden}}})
