"""The OpenAPI 3 description of /api/v1, generated from the marshmallow schemas."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.api import schemas


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


@lru_cache(maxsize=1)
def spec_dict() -> dict[str, Any]:
    spec = APISpec(title="Tongguan API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Case management for a city's unified operations (一网统管). "
                                        "Every call except /auth/token takes 'Authorization: Bearer <token>'."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in ("TokenRequest", "Token", "CaseCreate", "Task", "TaskDetail", "Case", "Complete", "Error"):
        spec.components.schema(name, schema=getattr(schemas, f"{name}Schema"))
    task_id = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    case_id = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    secured = [{"bearer": []}]
    spec.path("/api/v1/auth/token", operations={"post": {
        "summary": "Exchange username and password for a bearer token", "requestBody": _json("TokenRequest"),
        "responses": {"200": _resp("token", "Token"), "401": _resp("wrong username or password", "Error"),
                      "422": _resp("invalid input", "Error")}}})
    spec.path("/api/v1/cases", operations={"post": {
        "summary": "Create a work order and start its process", "security": secured,
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
                        "description": "a repeated key returns the first case instead of creating another"}],
        "requestBody": _json("CaseCreate"),
        "responses": {"201": _resp("created", "Case"), "200": _resp("the case of an earlier delivery", "Case"),
                      "422": _resp("invalid input; nothing stored", "Error"), **ERRORS}}})
    spec.path("/api/v1/cases/{case_id}", operations={"get": {
        "summary": "A case with its current tasks and history", "security": secured, "parameters": [case_id],
        "responses": {"200": _resp("the case", "Case"), **ERRORS}}})
    spec.path("/api/v1/tasks", operations={"get": {
        "summary": "The caller's inbox", "security": secured,
        "parameters": [
            {"name": "scope", "in": "query", "schema": {"type": "string", "enum": ["mine", "claimable"]}},
            {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["due", "-due", "created", "-created"]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
            {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            {"name": "candidates", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}}],
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
        "requestBody": _json("Complete"),
        "responses": {"200": _resp("the case after the step", "Case"),
                      "202": _resp("accepted but the process failed: kept as an incident for an administrator"),
                      "409": _resp("not claimed by the caller, or no longer open", "Error"),
                      "422": _resp("field errors; nothing changed", "Error"), **ERRORS}}})
    spec.path("/api/v1/openapi.json", operations={"get": {"summary": "This description",
                                                          "responses": {"200": _resp("OpenAPI 3 document")}}})
    spec.path("/healthz", operations={"get": {"summary": "Liveness", "responses": {"200": _resp("ok")}}})
    return spec.to_dict()
