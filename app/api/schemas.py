"""Request and response shapes of the API (also the source of the OpenAPI description)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app.cases.models import CHANNELS, URGENCIES

PHONE = r"^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\d{3,8})$"
CATEGORY = r"^(component|event):\d{5}$"


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 80))
    password = fields.String(required=True, validate=validate.Length(1, 200), load_only=True)


class TokenSchema(Schema):
    token = fields.String(required=True)


class ReporterSchema(Schema):
    name = fields.String(validate=validate.Length(1, 100), allow_none=True)
    phone = fields.String(validate=validate.Regexp(PHONE, error="not a valid phone number"), allow_none=True)


class CaseCreateSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    title = fields.String(required=True, validate=validate.Length(2, 200))
    description = fields.String(required=True, validate=validate.Length(1, 4000))
    address = fields.String(required=True, validate=validate.Length(1, 300))
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90), allow_nan=False)
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180), allow_nan=False)
    category_code = fields.String(allow_none=True, validate=validate.Regexp(CATEGORY, error="expected <component|event>:<5 digits>, e.g. event:06001"))
    urgency = fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    reporter = fields.Nested(ReporterSchema, allow_none=True)
    external_id = fields.String(allow_none=True, validate=validate.Length(1, 120))
    grid_unit = fields.String(allow_none=True, validate=validate.Length(1, 64),
                              metadata={"description": "code of the community (grid) of the problem; else found from lat/lng"})


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()


class TaskSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    name = fields.String()
    bpmn_id = fields.String()
    stage = fields.String(allow_none=True)
    role = fields.String()
    org_unit = fields.Nested(UnitSchema)
    state = fields.String()
    claimed_by = fields.String(allow_none=True)
    claimed_at = fields.DateTime(allow_none=True)
    candidates = fields.List(fields.String())
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    time_limit = fields.String(allow_none=True)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(metadata={"description": "the task's form as JSON Schema (draft 2020-12)"})
    case_title = fields.String()


class HistoryEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String()
    task_id = fields.Integer(allow_none=True)
    detail = fields.Dict()


class CaseSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String(metadata={"enum": ["open", "closed", "rejected"]})
    stage = fields.String(allow_none=True)
    channel = fields.String()
    external_id = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    category_code = fields.String(allow_none=True)
    urgency = fields.String()
    reporter = fields.Nested(ReporterSchema)
    grid_unit = fields.String(allow_none=True)
    handling_unit = fields.String(allow_none=True)
    rework_count = fields.Integer()
    reopen_count = fields.Integer()
    incident = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    current_tasks = fields.List(fields.Nested(TaskSchema))
    history = fields.List(fields.Nested(HistoryEventSchema))


class CompleteSchema(Schema):
    data = fields.Dict(required=True, keys=fields.String())


class ErrorSchema(Schema):
    error = fields.String()
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
