"""/api/v1/processes: drafts (save, approve, deploy), version activation and case migration.

Thin views: the body read and validated here, the work in :mod:`app.designer.drafts` and
:mod:`app.designer.migration`. Only ``designer`` and ``admin`` (403 otherwise).
"""
from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.core.errors import ValidationFailed
from app.core.ids import MAX_ID
from app.core.auth import token_or_page_principal
from app.designer import drafts as ops
from app.designer import migration
from app.designer.upload import read_upload

bp = Blueprint("designer_api", __name__, url_prefix="/api/v1/processes")

VERSION = validate.Range(1, MAX_ID, error=f"须为 1 到 {MAX_ID} 之间的版本号 / must be a version from 1 to {MAX_ID}")


class DraftBodySchema(Schema):
    files = fields.Dict(keys=fields.String(validate=validate.Length(1, 300)), values=fields.String(), required=True,
                        metadata={"description": "bundle file name (processes/x.bpmn, rules/x.dmn, forms/x.json) → its text"})
    revision = fields.Integer(validate=VERSION, metadata={"description": "PUT: the revision the client loaded; "
                                                                         "another one saved meanwhile is a 409"})


class DraftSavedSchema(Schema):
    id = fields.Integer(required=True)
    ok = fields.Boolean(required=True)
    revision = fields.Integer(required=True)
    problems = fields.List(fields.Dict(), required=True,
                           metadata={"description": "{file, element, severity: error|warning, message}"})


class MigrationQuerySchema(Schema):
    from_ = fields.Integer(data_key="from", validate=VERSION)
    to = fields.Integer(validate=VERSION)
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_ID))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, migration.MAX_LISTED))


class MigrateSchema(Schema):
    to = fields.Integer(required=True, validate=VERSION)
    cases = fields.Raw(required=True, metadata={"description": "case ids (at most 500), or \"all_safe\""})
    from_ = fields.Integer(data_key="from", validate=VERSION,
                           metadata={"description": "all_safe: only the cases of this version (default: every other)"})
    after = fields.Integer(load_default=0, validate=validate.Range(0, MAX_ID),
                           metadata={"description": "all_safe: continue after this case id (next_after of the last call)"})

    @validates_schema
    def _cases(self, data: dict[str, Any], **_kw: Any) -> None:
        cases = data.get("cases")
        if cases == "all_safe":
            return
        if (not isinstance(cases, list) or not cases or len(cases) > migration.MAX_LISTED
                or not all(isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= MAX_ID for c in cases)):
            raise ValidationError(f"须为 1 到 {migration.MAX_LISTED} 个案件编号，或 \"all_safe\" / a list of 1 to "
                                  f"{migration.MAX_LISTED} case ids, or \"all_safe\"", "cases")


@functools.cache
def _schema(cls: type[Schema]) -> Schema:
    return cls()


def _flatten(messages: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in (messages.items() if isinstance(messages, dict) else [("_body", messages)]):
        if isinstance(value, dict):  # a Dict field's errors are {name: {"key"|"value": [...]}}: named by the name
            out.update({f"{key}.{k}".removesuffix(".value").removesuffix(".key"): v for k, v in _flatten(value).items()})
        else:
            out[str(key)] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return out


def _load(cls: type[Schema], payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationFailed("request body must be a JSON object", errors={"_body": ["expected a JSON object"]})
    try:
        return _schema(cls).load(payload)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationFailed("invalid input", errors=_flatten(exc.messages)) from None


def _designer() -> Any:
    """The caller (a token, or the modeler page's session with its CSRF token), a designer."""
    principal = token_or_page_principal()
    ops.require_designer(principal)
    return principal


def _files() -> tuple[dict[str, str], int | None]:
    """The files of the body (:func:`app.designer.upload.read_upload`): a body that is not a bundle is
    a 400, bad files are 422 with field errors, a file that is not UTF-8 text too."""
    upload = read_upload(ops.MAX_TOTAL_BYTES + 64 * 1024, invalid=ValidationFailed)
    if upload.unreadable:
        errors: dict[str, list[str]] = {}
        for finding in upload.unreadable:
            errors.setdefault(f"files.{finding.where}", []).append(finding.text)
        raise ValidationFailed("invalid files", errors=errors)
    return upload.files, upload.revision


def _saved(draft: Any) -> dict[str, Any]:
    return {"id": draft.id, "ok": draft.ok, "revision": draft.revision, "problems": ops.json.loads(draft.problems)}


@bp.get("/drafts")
def list_drafts() -> Any:
    """The open drafts of the bundle: who is editing what."""
    principal = _designer()
    items = []
    for draft in ops.open_drafts():
        d = ops.draft_dict(draft, principal)
        items.append({k: d[k] for k in ("id", "owner", "owner_name", "revision", "ok", "approved", "base_version",
                                        "changed", "updated_at", "yours")})
    return {"items": items, "review_required": ops.review_required()}


@bp.post("/drafts")
def create_draft() -> Any:
    principal = _designer()
    files, _revision = _files()
    return _saved(ops.create_draft(principal, files)), 201


@bp.get("/drafts/<id:draft_id>")
def get_draft(draft_id: int) -> Any:
    principal = _designer()
    return ops.draft_dict(ops.get_draft(draft_id), principal)


@bp.get("/drafts/<id:draft_id>/files/<path:name>")
def get_draft_file(draft_id: int, name: str) -> Any:
    _designer()
    return {"name": name, "content": ops.draft_file(ops.get_draft(draft_id), name)}


@bp.put("/drafts/<id:draft_id>")
def save_draft(draft_id: int) -> Any:
    principal = _designer()
    draft = ops.get_draft(draft_id)
    files, revision = _files()
    return _saved(ops.save_draft(principal, draft, files, revision))


@bp.delete("/drafts/<id:draft_id>")
def discard_draft(draft_id: int) -> Any:
    principal = _designer()
    draft = ops.get_draft(draft_id)
    ops.discard_draft(principal, draft)
    return {"id": draft.id, "state": draft.state}


@bp.post("/drafts/<id:draft_id>/approve")
def approve_draft(draft_id: int) -> Any:
    principal = _designer()
    draft = ops.approve_draft(principal, ops.get_draft(draft_id))
    return {"id": draft.id, "revision": draft.revision, "approved_by": principal.username}


@bp.post("/drafts/<id:draft_id>/deploy")
def deploy_draft(draft_id: int) -> Any:
    principal = _designer()
    definition = ops.deploy_draft(principal, ops.get_draft(draft_id))
    return {"version": definition.version}


@bp.post("/versions/<id:version>/activate")
def activate_version(version: int) -> Any:
    principal = _designer()
    before, now = ops.activate_version(principal, version)
    return {"version": now.version, "previous": before.version}


@bp.get("/migrations")
def list_migrations() -> Any:
    """Running cases per version; with ``from``, a page of its cases, each safe to move or why not."""
    _designer()
    query = _load(MigrationQuerySchema, request.args.to_dict())
    target = ops.definition_by_version(query["to"]) if "to" in query else ops.active_definition()
    body: dict[str, Any] = {"to": target.version,
                            "versions": [v for v in migration.running_by_version(ops.process_id())
                                         if v["version"] != target.version]}
    if "from_" in query:
        source = ops.definition_by_version(query["from_"])
        body.update(migration.assess_version(source, target, query["offset"], query["limit"]))
    return body


@bp.post("/migrations")
def migrate_cases() -> Any:
    """Move chosen cases (or a batch of all safe ones) to version ``to``, each in its own transaction."""
    principal = _designer()
    data = _load(MigrateSchema, request.get_json(silent=True))
    target = ops.definition_by_version(data["to"])
    if data["cases"] == "all_safe":
        source = ops.definition_by_version(data["from_"]) if "from_" in data else None
        result = migration.move_all_safe(ops.process_id(), target, principal, after=data["after"],
                                         from_definition=source)
    else:
        result = migration.move(target, dict.fromkeys(data["cases"]), principal)
    return {"to": target.version, "migrated": result.migrated, "refused": result.refused,
            "next_after": result.next_after}


# ---------------------------------------------------------------------------- OpenAPI

OPERATION_IDS = {
    ("get", "/api/v1/processes/drafts"): "listDrafts",
    ("post", "/api/v1/processes/drafts"): "createDraft",
    ("get", "/api/v1/processes/drafts/{draft_id}"): "getDraft",
    ("put", "/api/v1/processes/drafts/{draft_id}"): "saveDraft",
    ("delete", "/api/v1/processes/drafts/{draft_id}"): "discardDraft",
    ("get", "/api/v1/processes/drafts/{draft_id}/files/{name}"): "getDraftFile",
    ("post", "/api/v1/processes/drafts/{draft_id}/approve"): "approveDraft",
    ("post", "/api/v1/processes/drafts/{draft_id}/deploy"): "deployDraft",
    ("post", "/api/v1/processes/versions/{version}/activate"): "activateVersion",
    ("get", "/api/v1/processes/migrations"): "listMigrations",
    ("post", "/api/v1/processes/migrations"): "migrateCases",
}


def openapi_paths(spec: Any, secured: list[dict[str, Any]], resp: Any, json_body: Any, errors: dict[str, Any],
                  id_parameter: Any) -> None:
    """The designer's paths in the OpenAPI document (app.api.openapi)."""
    for name, schema in (("DraftBody", DraftBodySchema), ("DraftSaved", DraftSavedSchema), ("Migrate", MigrateSchema)):
        spec.components.schema(name, schema=schema)
    err = functools.partial(resp, schema="Error")
    body = {"required": True, "content": {
        "application/json": {"schema": "DraftBody"},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                     "description": "one part per file, its filename the file's place in the bundle, "
                                    "e.g. processes/seven_step_loop.bpmn"},
            "revision": {"type": "integer"}}}}}}
    draft_id = id_parameter("draft_id")
    obj = {"type": "object"}
    saving = {"400": err("the body is not a bundle (neither multipart 'file' parts nor JSON {files})"),
              "413": err("a file larger than 2 MB (or all together larger than 16 MB)"),
              "422": err("bad file names or contents, by field")}
    conflict = {"409": err("not possible now; the message says why")}
    spec.path("/api/v1/processes/drafts", operations={
        "get": {"summary": "Open drafts of the bundle: who is editing what (designer, admin)", "security": secured,
                "responses": {"200": {"description": "drafts", **json_body(obj)}, **errors}},
        "post": {"summary": "A new draft of the caller's: the given files replace those of the active version; "
                            "checked at once (one open draft per designer and bundle)",
                 "security": secured, "requestBody": body,
                 "responses": {"201": resp("saved, with the check's problems", "DraftSaved"), **saving,
                               "409": err("the caller has an open draft already (its id in 'draft')"), **errors}}})
    spec.path("/api/v1/processes/drafts/{draft_id}", operations={
        "get": {"summary": "A draft as the modeler loads it: changed files, the bundle's file names, problems, "
                           "who edits it ('notice' for anyone but its owner)",
                "security": secured, "parameters": [draft_id],
                "responses": {"200": {"description": "the draft", **json_body(obj)}, **errors}},
        "put": {"summary": "Save files into the owner's draft (over the version active now; clears an approval)",
                "security": secured, "parameters": [draft_id], "requestBody": body,
                "responses": {"200": resp("saved, with the check's problems", "DraftSaved"), **saving,
                              "409": err("another person's draft ('editing_by'), not open, or saved meanwhile"),
                              **errors}},
        "delete": {"summary": "Discard the owner's draft", "security": secured, "parameters": [draft_id],
                   "responses": {"200": {"description": "discarded", **json_body(obj)}, **conflict, **errors}}})
    spec.path("/api/v1/processes/drafts/{draft_id}/files/{name}", operations={"get": {
        "summary": "One file of the draft's bundle (its change, or the active version's)", "security": secured,
        "parameters": [draft_id, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                                  "description": "e.g. rules/starting_tier.dmn"}],
        "responses": {"200": {"description": "{name, content}", **json_body(obj)},
                      "422": err("control characters in the name"), **errors}}})
    spec.path("/api/v1/processes/drafts/{draft_id}/approve", operations={"post": {
        "summary": "Approve the draft's last saved revision (four eyes: not one's own when review is required)",
        "security": secured, "parameters": [draft_id],
        "responses": {"200": {"description": "approved", **json_body(obj)},
                      "409": err("the draft has errors or is not open"), **errors}}})
    spec.path("/api/v1/processes/drafts/{draft_id}/deploy", operations={"post": {
        "summary": "Deploy the draft as a new version, which new cases start on", "security": secured,
        "parameters": [draft_id],
        "responses": {"200": {"description": "{version}", **json_body(obj)},
                      "409": err("a required approval is missing, the draft has errors, or another version became "
                                 "active since it was saved"), **errors}}})
    spec.path("/api/v1/processes/versions/{version}/activate", operations={"post": {
        "summary": "Make a version the one new cases start on (an older one: rollback)", "security": secured,
        "parameters": [id_parameter("version")],
        "responses": {"200": {"description": "{version, previous}", **json_body(obj)}, **conflict, **errors}}})
    version_q = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    spec.path("/api/v1/processes/migrations", operations={
        "get": {"summary": "Running cases per version; with 'from', a page of that version's cases, each safe to "
                           "move to 'to' (default: the active version) or the reasons why not",
                "security": secured,
                "parameters": [{"name": "from", "in": "query", "schema": version_q},
                               {"name": "to", "in": "query", "schema": version_q},
                               {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": migration.MAX_LISTED}}],
                "responses": {"200": {"description": "versions and cases", **json_body(obj)}, **conflict,
                              "422": err("invalid query"), **errors}},
        "post": {"summary": "Move chosen cases, or a batch of all safe ones, to version 'to' (each case in its own "
                            "transaction); the unsafe ones stay, listed with why",
                 "security": secured, "requestBody": json_body("Migrate"),
                 "responses": {"200": {"description": "{to, migrated, refused: [{id, reasons}], next_after}",
                                       **json_body(obj)}, **conflict, "422": err("invalid input"), **errors}}})
