"""Request and response shapes of the API (also the source of the OpenAPI description)."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.cases.models import CHANNELS, URGENCIES
from app.core.ids import MAX_ID
from app.core.text import text_problem

PHONE = r"^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\d{3,8})$"
CATEGORY = r"^(component|event):\d{5}$"


#: what the document tells clients (JSON Schema patterns): no control characters, long text may break lines
ONE_LINE = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
LONG_TEXT = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"


class Text(fields.String):
    """A string the API stores or looks up: no control characters, one line unless ``multiline``;
    ``visible`` text must show something (not only spaces or zero-width characters)."""

    def __init__(self, *args: Any, multiline: bool = False, visible: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multiline, self.visible = multiline, visible
        if not any(isinstance(v, validate.Regexp) for v in self.validators):  # a Regexp says it already
            self.metadata = {"pattern": LONG_TEXT if multiline else ONE_LINE, **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, multiline=self.multiline, required=self.visible)
        if problem is not None:
            raise ValidationError(problem)
        return text


#: ids that reach the database: 1 … 2^31−1 (INTEGER columns, see app.core.ids)
DB_ID = validate.Range(1, MAX_ID, error=f"须为 1 到 {MAX_ID} 之间的编号 / must be an id from 1 to {MAX_ID}")


class TokenRequestSchema(Schema):
    username = Text(required=True, validate=validate.Length(1, 80))
    password = Text(required=True, validate=validate.Length(1, 200), load_only=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    token_type = fields.String(metadata={"description": "always Bearer"})
    expires_at = fields.DateTime(metadata={"description": "the token ends then at the latest (TOKEN_MAX_AGE); "
                                                          "POST /auth/revoke ends it before"})


class RevokeRequestSchema(Schema):
    user = fields.String(validate=validate.Length(1, 80), metadata={
        "description": "administrators: end all browser sessions and API tokens of this user; "
                       "omit (or send no body) to end the presented token"})


class RevokedSchema(Schema):
    revoked = fields.Integer(required=True, metadata={"description": "how many sessions and tokens were ended"})
    user = fields.String(required=True)


class ReporterSchema(Schema):
    name = Text(validate=validate.Length(1, 100), allow_none=True, visible=True)
    phone = Text(validate=validate.Regexp(PHONE, error="not a valid phone number"), allow_none=True)
    confidential = fields.Boolean(dump_only=True, metadata={
        "description": "answers only: the caller asked to stay anonymous and you may not see them"})


class CaseCreateSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    title = Text(required=True, validate=validate.Length(2, 200), visible=True)
    description = Text(required=True, validate=validate.Length(1, 4000), multiline=True, visible=True)
    address = Text(required=True, validate=validate.Length(1, 300), visible=True)
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90), allow_nan=False)
    lng = fields.Float(allow_none=True, validate=validate.Range(-180, 180), allow_nan=False)
    category_code = Text(allow_none=True, validate=validate.Regexp(CATEGORY, error="expected <component|event>:<5 digits>, e.g. event:06001"))
    urgency = fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    reporter = fields.Nested(ReporterSchema, allow_none=True)
    external_id = Text(allow_none=True, validate=validate.Length(1, 120), visible=True)
    grid_unit = Text(allow_none=True, validate=validate.Length(1, 64),
                              metadata={"description": "code of the community (grid) of the problem; else found from lat/lng"})
    extension = fields.Dict(keys=fields.String(), allow_none=True,
                            metadata={"description": "the channel's extension fields, checked against "
                                                     "forms/channels/<channel>.json (GET /api/v1/channels)"})


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
    yellow_at = fields.DateTime(allow_none=True, metadata={"description": "when the light turns yellow"})
    light = fields.String(allow_none=True, metadata={"enum": ["green", "yellow", "red"],
                                                     "description": "null when the task has no time limit"})
    sign_limit = fields.String(allow_none=True, metadata={"description": "limit to sign for (claim) the task; its own clock starts at the claim"})
    started_at = fields.DateTime(allow_none=True, metadata={"description": "when the clock of time_limit started"})
    paused = fields.Boolean(metadata={"description": "the case is parked: the clock stands"})
    extension_minutes = fields.Integer()
    urge_count = fields.Integer()


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(metadata={"description": "the task's form as JSON Schema (draft 2020-12)"})
    proposal = fields.Dict(metadata={"description": "what the rules (DMN) proposed for this step, e.g. department, "
                                                    "starting tier, time limit and legal basis; a choice that "
                                                    "differs is audited as proposal_overridden"})
    case_title = fields.String()


class HistoryEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String()
    task_id = fields.Integer(allow_none=True)
    detail = fields.Dict()


class DuplicateCandidateSchema(Schema):
    case_id = fields.Integer()
    score = fields.Float(metadata={"description": "0–1; shown from DEDUP_MIN_SCORE"})
    reasons = fields.List(fields.String(), metadata={"description": "same_text, similar_text, nearby, same_address, "
                                                                    "same_category, same_reporter, recent"})
    details = fields.Dict(metadata={"description": "text_similarity, distance_m, days_apart"})
    state = fields.String(metadata={"enum": ["open", "dismissed", "merged"]})
    title = fields.String()
    status = fields.String()
    channel = fields.String()
    address = fields.String()
    created_at = fields.DateTime()
    merged_into = fields.Integer(allow_none=True)
    repeat_count = fields.Integer()


class MergedCaseSchema(Schema):
    case_id = fields.Integer()
    number = fields.String()
    channel = fields.String()
    reporter = fields.Nested(ReporterSchema)
    merged_at = fields.DateTime()


class AttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    source = fields.String()
    uploaded_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    url = fields.String(metadata={"description": "download with the same bearer token"})
    task_id = fields.Integer(allow_none=True, metadata={"description": "a step's photo: the task whose form took it"})
    step = fields.String(allow_none=True, metadata={"description": "the BPMN id of that task (verify_on_site, ...)"})
    field = fields.String(allow_none=True, metadata={"description": "the form's photo field"})
    tag = fields.String(allow_none=True, validate=validate.OneOf(["before", "after"]),
                        metadata={"description": "before (处置前) or after (处置后)"})


class MergeSchema(Schema):
    into = fields.Integer(required=True, strict=True, validate=DB_ID, metadata={"description": "id of the master case"})
    reason = Text(validate=validate.Length(2, 1000), allow_none=True, multiline=True, visible=True)


class KeepSeparateSchema(Schema):
    reason = Text(validate=validate.Length(2, 1000), allow_none=True, multiline=True, visible=True)


class NoticeQuerySchema(Schema):
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    pending = fields.Boolean(load_default=True, truthy={"1", "true"}, falsy={"0", "false"})
    after = fields.Integer(validate=validate.Range(0, MAX_ID), metadata={"description": "only notices with a larger id"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


TASK_SCOPES = ("mine", "claimable")


class TaskQuerySchema(Schema):
    """``GET /tasks``' paging; its filters (light, tier, unit) are checked by ``task_filters``."""

    class Meta:
        unknown = EXCLUDE

    scope = fields.String(load_default="claimable", validate=validate.OneOf(TASK_SCOPES))
    sort = fields.String(load_default="due")
    limit = fields.Integer(load_default=None, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_ID))


class ReporterNoticeSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer(metadata={"description": "the merged case whose reporter is told"})
    master_id = fields.Integer()
    channel = fields.String()
    external_id = fields.String(allow_none=True, metadata={"description": "the channel's id of the original message"})
    reporter_name = fields.String(allow_none=True)
    contact = fields.String(allow_none=True, metadata={"description": "phone, or the channel's user id"})
    message = fields.String()
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class ChannelSchema(Schema):
    channel = fields.String()
    form = fields.Dict(metadata={"description": "the extension form (JSON Schema)"})


class CaseSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String(metadata={"enum": ["open", "closed", "rejected", "merged"]})
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
    tier = fields.String(allow_none=True, metadata={"enum": ["community", "street", "district", "city"]})
    escalation_count = fields.Integer()
    return_count = fields.Integer()
    due_at = fields.DateTime(allow_none=True, metadata={"description": "earliest deadline of its open tasks"})
    light = fields.String(allow_none=True, metadata={"enum": ["green", "yellow", "red"]})
    supervised_at = fields.DateTime(allow_none=True)
    parked = fields.Boolean()
    park_reason = fields.String(allow_none=True)
    incident = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    current_tasks = fields.List(fields.Nested(TaskSchema))
    history = fields.List(fields.Nested(HistoryEventSchema))
    extension = fields.Dict(metadata={"description": "the channel's extension fields"})
    merged_into = fields.Integer(allow_none=True, metadata={"description": "the master case a merged case follows"})
    repeat_count = fields.Integer(metadata={"description": "duplicates merged into this case"})
    duplicate_candidates = fields.List(fields.Nested(DuplicateCandidateSchema))
    merged_cases = fields.List(fields.Nested(MergedCaseSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))


class CompleteSchema(Schema):
    data = fields.Dict(required=True, keys=fields.String())


REASON = Text(required=True, validate=validate.Length(2, 1000), multiline=True, visible=True)


class ReasonSchema(Schema):
    reason = REASON


class ReassignSchema(Schema):
    user = Text(validate=validate.Length(1, 80), allow_none=True,
                metadata={"description": "username of the new holder"})
    unit = Text(validate=validate.Length(1, 64), allow_none=True,
                         metadata={"description": "org-unit code the task moves to"})
    reason = REASON


class ReassignOptionsQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    unit = Text(validate=validate.Length(1, 64), metadata={
        "description": "org-unit code whose people to list (default: the task's unit); 404 if unknown, "
                       "403 outside the caller's supervision"})


class ReassignUnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    depth = fields.Integer(metadata={"description": "indentation inside its group (0: directly below the heading)"})


class ReassignUnitGroupSchema(Schema):
    code = fields.String(allow_none=True, metadata={"description": "the unit heading the group"})
    label = fields.String(metadata={"description": "the group's heading, e.g. 东湖区 › 湖滨街道"})
    units = fields.List(fields.Nested(ReassignUnitSchema))


class ReassignPersonSchema(Schema):
    username = fields.String(metadata={"description": "what POST …/reassign takes as `user`"})
    display_name = fields.String()
    current = fields.Boolean(metadata={"description": "holds the task now"})


class ReassignOptionsSchema(Schema):
    task_id = fields.Integer()
    role = fields.String(metadata={"description": "the task's role: the people listed hold it over `unit`"})
    current_unit = fields.String()
    current_user = fields.String(allow_none=True)
    groups = fields.List(fields.Nested(ReassignUnitGroupSchema), metadata={
        "description": "the units of the caller's supervision where someone holds the task's role (and the "
                       "task's own unit), as the org tree in groups"})
    unit = fields.Nested(UnitSchema, metadata={"description": "the unit the people are listed for"})
    people = fields.List(fields.Nested(ReassignPersonSchema), metadata={
        "description": "active users holding the task's role at `unit` or above it, by name"})


class ExtensionRequestCreateSchema(Schema):
    hours = fields.Integer(strict=True, validate=validate.Range(1, 210), allow_none=True,
                           metadata={"description": "working hours (give hours or days)"})
    days = fields.Integer(strict=True, validate=validate.Range(1, 30), allow_none=True,
                          metadata={"description": "working days"})
    reason = REASON


class DecisionSchema(Schema):
    approve = fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = REASON


class TaskRequestSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": ["extension", "return"]})
    task_id = fields.Integer()
    case_id = fields.Integer()
    state = fields.String(metadata={"enum": ["pending", "approved", "refused"]})
    amount = fields.String(allow_none=True)
    minutes = fields.Integer(allow_none=True)
    reason = fields.String()
    requested_by = fields.String()
    created_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)


class ReturnResultSchema(Schema):
    status = fields.String(metadata={"enum": ["returned", "requested"]})
    request = fields.Nested(TaskRequestSchema, allow_none=True)
    case = fields.Nested(CaseSchema, allow_none=True)


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    case_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    message = fields.String()
    actor = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Boolean()


class MarkReadSchema(Schema):
    ids = fields.List(fields.Integer(strict=True, validate=DB_ID), allow_none=True, validate=validate.Length(max=500),
                      metadata={"description": "omit to mark all read"})


class ErrorSchema(Schema):
    error = fields.String()
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages by field (422)"})
    claimed_by = fields.String(allow_none=True, metadata={"description": "409: who holds the task"})
    state = fields.String(metadata={"description": "409: the state the task or request is in"})
    request = fields.Integer(metadata={"description": "409: the request already waiting"})


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# ---------------------------------------------------------------------------- category catalogue

CATALOG_MAX_LIMIT = 500


class CategoryQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # a cache-busting parameter is no error

    q = fields.String(load_default="", validate=validate.Length(max=50),
                      metadata={"description": "Chinese text, pinyin initials (jg), full pinyin, code prefix (0600) or key"})
    kind = fields.String(load_default=None, validate=validate.OneOf(["component", "event"]))
    limit = fields.Integer(load_default=None, validate=validate.Range(1, CATALOG_MAX_LIMIT),
                           metadata={"description": "default 20 with q, else the whole list (at most 500)"})


class TopicQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=validate.Length(max=50))
    limit = fields.Integer(load_default=None, validate=validate.Range(1, CATALOG_MAX_LIMIT))


class CategoryItemSchema(Schema):
    key = fields.String(metadata={"description": "what a case stores as category_code, e.g. event:06001"})
    kind = fields.String(metadata={"enum": ["component", "event"]})
    code = fields.String()
    name = fields.String()
    major_class = fields.String()
    initials = fields.String(metadata={"description": "pinyin initials of the name (most likely reading)"})


class CategoryListSchema(Schema):
    items = fields.List(fields.Nested(CategoryItemSchema))
    version = fields.Integer(allow_none=True, metadata={"description": "active version of the GB/T 47678.5 directory"})


class TopicItemSchema(Schema):
    code = fields.String(metadata={"description": "stable code, one segment per level"})
    name = fields.String()
    level = fields.Integer()
    parent_code = fields.String(allow_none=True)
    path = fields.String(metadata={"description": "一级/二级/三级"})
    initials = fields.String()
    leaf = fields.Boolean()


class TopicListSchema(Schema):
    items = fields.List(fields.Nested(TopicItemSchema))
    version = fields.Integer(allow_none=True, metadata={"description": "active version of the 12345 topic tree"})


# ---------------------------------------------------------------------------- the cockpit

class CockpitUnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()


class CockpitItemSchema(Schema):
    """A figure that is part of a breakdown: its key, name in the caller's language, count and list."""

    key = fields.String(metadata={"description": "channel, light, tier or category key; `none`: without one"})
    name = fields.String()
    count = fields.Integer()
    url = fields.String(metadata={"description": "the case list (/cases?…) of exactly the cases counted"})


class CockpitCountSchema(Schema):
    count = fields.Integer()
    url = fields.String()


class CockpitTotalSchema(Schema):
    total = fields.Integer()
    url = fields.String()


class CockpitReceivedSchema(CockpitTotalSchema):
    by_channel = fields.List(fields.Nested(CockpitItemSchema))


class CockpitOpenSchema(CockpitTotalSchema):
    by_light = fields.List(fields.Nested(CockpitItemSchema), metadata={"description": "red, yellow, green, none"})
    by_tier = fields.List(fields.Nested(CockpitItemSchema), metadata={"description": "community … city, none"})
    escalated = fields.Nested(CockpitCountSchema, metadata={"description": "open, climbed a tier or under supervision"})
    parked = fields.Nested(CockpitCountSchema)
    overdue = fields.Nested(CockpitCountSchema, metadata={"description": "the red light"})


class CockpitDaySchema(Schema):
    day = fields.Date()
    received = fields.Integer()
    closed = fields.Integer()
    received_url = fields.String()
    closed_url = fields.String()


class CockpitSchema(Schema):
    """``GET /cockpit``: one unit's figures. Arrivals and closures are over the period (local dates,
    inclusive); the open set is as it stands now; the trend is the 30 days up to ``to``."""

    unit = fields.Nested(CockpitUnitSchema)
    period = fields.String(metadata={"enum": ["today", "week", "month"]})
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    as_of = fields.DateTime()
    received = fields.Nested(CockpitReceivedSchema, metadata={"description": "cases created in the period"})
    closed = fields.Nested(CockpitTotalSchema, metadata={"description": "cases closed in the period"})
    open = fields.Nested(CockpitOpenSchema)
    top_categories = fields.List(fields.Nested(CockpitItemSchema), metadata={"description": "at most 10, most first"})
    trend = fields.List(fields.Nested(CockpitDaySchema))
