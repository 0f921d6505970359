"""/api/v1/processes: the deployed bundle, its versions, and the authoritative server check.

Only designers (流程设计员) and administrators may call these. ``POST /processes/validate`` takes
files named by their place in the bundle (``processes/seven_step_loop.bpmn``), as multipart
``file`` parts or JSON ``{"files": {name: text}}``; they replace those of the deployed bundle for
the check, which is :func:`app.designer.checks.check_bundle`, the same single pass
``flask processes deploy`` runs. Nothing of an upload is stored or executed: XML is parsed with
DTDs and entities refused, scripts and DMN cells are only compiled by the sandbox.

Answers: 200 with every problem (``message`` in the caller's language from Accept-Language,
Chinese by default, and ``message_zh``/``message_en`` always); 400 for a body that is not a
bundle; 413 for a file over ``MAX_FILE_BYTES`` or a request over ``MAX_REQUEST_BYTES``; 403 for
other roles. Never a 5xx: the check itself turns any failure into a problem.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from apispec import APISpec
from flask import current_app
from marshmallow import Schema, fields
from sqlalchemy import select

from app.api.routes import _locale, bp
from app.core.auth import Principal, api_principal
from app.core.db import session
from app.core.errors import Forbidden, NotFound
from app.designer.checks import SECTIONS, NotABundle, bundle_with, check_bundle
from app.designer.upload import MAX_FILES, NAME_RULE, read_upload
from app.engine.definitions import MAX_FILE_BYTES, BundleError, active_definition_id, read_bundle
from app.engine.models import ProcessDefinition

DESIGNER_ROLES = ("designer", "admin")
MAX_REQUEST_BYTES = 8 * 1024 * 1024  # a whole request: a few large files at most
KINDS = {"processes": "bpmn", "rules": "dmn", "forms": "form", "kpis": "kpi"}  # kpi: a KPI formula (rules/kpis/)


# ---------------------------------------------------------------------------- shapes (OpenAPI)

class ProcessFileSchema(Schema):
    name = fields.String(metadata={"description": "place in the bundle, e.g. processes/seven_step_loop.bpmn"})
    kind = fields.String(metadata={"enum": ["bpmn", "dmn", "form", "kpi"]})
    sha256 = fields.String()


class ProcessBundleSchema(Schema):
    process_id = fields.String()
    version = fields.Integer()
    deployed_at = fields.String(metadata={"format": "date-time"})
    deployed_by = fields.String(allow_none=True)
    files = fields.List(fields.Nested(ProcessFileSchema))


class ProcessVersionSchema(Schema):
    version = fields.Integer()
    deployed_at = fields.String(metadata={"format": "date-time"})
    deployed_by = fields.String(allow_none=True)
    content_hash = fields.String()
    added = fields.List(fields.String(), metadata={"description": "files new in this version"})
    removed = fields.List(fields.String())
    changed = fields.List(fields.String(), metadata={"description": "files whose content differs from the version before"})


class ProcessVersionListSchema(Schema):
    process_id = fields.String()
    items = fields.List(fields.Nested(ProcessVersionSchema), metadata={"description": "newest first"})


class ProblemSchema(Schema):
    file = fields.String(allow_none=True, metadata={"description": "the file, or null for the bundle as a whole"})
    element = fields.String(allow_none=True, metadata={"description": "BPMN/DMN element id, or null for the whole file"})
    element_name = fields.String(allow_none=True, metadata={"description": "the element's name, beside opaque ids"})
    line = fields.Integer(allow_none=True)
    severity = fields.String(metadata={"enum": ["error", "warning"]})
    message = fields.String(metadata={"description": "in the caller's language (Accept-Language; Chinese by default)"})
    message_zh = fields.String()
    message_en = fields.String()


class ValidationResultSchema(Schema):
    ok = fields.Boolean(metadata={"description": "no error (warnings do not stop a deploy)"})
    problems = fields.List(fields.Nested(ProblemSchema))


SCHEMAS = {"ProcessFile": ProcessFileSchema, "ProcessBundle": ProcessBundleSchema, "ProcessVersion": ProcessVersionSchema,
           "ProcessVersionList": ProcessVersionListSchema, "Problem": ProblemSchema, "ValidationResult": ValidationResultSchema}


# ---------------------------------------------------------------------------- views

def _designer() -> Principal:
    principal = api_principal()
    if not principal.has_role(*DESIGNER_ROLES):
        raise Forbidden("只有流程设计员和管理员可以查看和检查流程 / only designers and administrators may read and check processes")
    return principal


def _process_id() -> str:
    return str(current_app.config["SETTINGS"].CASE_PROCESS_ID)


def _latest(process_id: str) -> ProcessDefinition | None:
    """The active version (what new cases start on: the newest, unless an older one was activated)."""
    found = active_definition_id(process_id)
    return session.get(ProcessDefinition, found) if found is not None else None


def _file_hashes(bundle: dict[str, dict[str, str]]) -> dict[str, str]:
    return {f"{section}/{name}": hashlib.sha256(text.encode("utf-8")).hexdigest()
            for section in SECTIONS for name, text in sorted(bundle.get(section, {}).items())}


@bp.get("/processes")
def get_processes() -> Any:
    """The deployed bundle (its active version): each file with its kind and SHA-256."""
    _designer()
    process_id = _process_id()
    row = _latest(process_id)
    if row is None:
        raise NotFound(f"流程 {process_id} 尚未部署 / process {process_id!r} is not deployed")
    hashes = _file_hashes(json.loads(row.bundle))
    return {"process_id": process_id, "version": row.version, "deployed_at": row.deployed_at.isoformat(),
            "deployed_by": row.deployed_by,
            "files": [{"name": name, "kind": KINDS[name.partition("/")[0]], "sha256": digest} for name, digest in hashes.items()]}


@bp.get("/processes/versions")
def get_process_versions() -> Any:
    """Every deployed version, newest first: who deployed it, when, and which files it changed."""
    _designer()
    process_id = _process_id()
    rows = session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                           .order_by(ProcessDefinition.version)).all()
    items, before = [], {}
    for row in rows:
        hashes = _file_hashes(json.loads(row.bundle))
        items.append({"version": row.version, "deployed_at": row.deployed_at.isoformat(), "deployed_by": row.deployed_by,
                      "content_hash": row.content_hash,
                      "added": sorted(set(hashes) - set(before)), "removed": sorted(set(before) - set(hashes)),
                      "changed": sorted(n for n in hashes if n in before and before[n] != hashes[n])})
        before = hashes
    return {"process_id": process_id, "items": items[::-1]}


@bp.post("/processes/validate")
def validate_processes() -> Any:
    """Check the deployed bundle with the given files in their places; every problem at once."""
    _designer()
    upload = read_upload(MAX_REQUEST_BYTES)
    files, unreadable = upload.files, upload.unreadable
    base = _deployed_bundle()
    try:
        bundle = bundle_with(base, files)
    except ValueError as exc:
        raise NotABundle("文件名不是流程包中的位置 / a file name is not a place in the bundle",
                         errors={str(exc.args[0])[:200] or "file": [NAME_RULE]}) from None
    result = check_bundle(bundle, _process_id())
    lang = _locale()
    problems = [{"file": f.where, "element": None, "element_name": None, "line": None, "severity": "error",
                 "message": f.en if lang == "en" else f.zh, "message_zh": f.zh, "message_en": f.en} for f in unreadable]
    skipped = {f.where for f in unreadable}  # an unreadable file's place was left empty: only its own problem counts
    problems += [p.as_dict(lang) for p in result.problems if p.file not in skipped]
    return {"ok": not any(p["severity"] == "error" for p in problems), "problems": problems}


def _deployed_bundle() -> dict[str, dict[str, str]]:
    """The newest deployed version's files; before any deploy, the files on the server."""
    row = _latest(_process_id())
    if row is not None:
        return json.loads(row.bundle)  # type: ignore[no-any-return]
    settings = current_app.config["SETTINGS"]
    try:
        return read_bundle(settings.PROCESS_DIR, settings.RULES_DIR, settings.FORMS_DIR)
    except BundleError:
        return {section: {} for section in SECTIONS}


# ---------------------------------------------------------------------------- OpenAPI

def openapi_paths(spec: APISpec, secured: list[dict[str, Any]], resp: Any, errors: dict[str, Any]) -> None:
    """The three operations of this module in the API description (app/api/openapi.py calls it)."""
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    designers = {**errors, "403": resp("only designers (流程设计员) and administrators", "Error")}
    spec.path("/api/v1/processes", operations={"get": {
        "summary": "The deployed process bundle (newest version): its BPMN, DMN and form files", "security": secured,
        "responses": {"200": resp("the bundle", "ProcessBundle"), **designers}}})
    spec.path("/api/v1/processes/versions", operations={"get": {
        "summary": "Every deployed version, newest first: who, when, which files changed", "security": secured,
        "responses": {"200": resp("the versions", "ProcessVersionList"), **{k: v for k, v in designers.items() if k != "404"}}}})
    files = {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"},
             "description": "file name (its place in the bundle, e.g. processes/seven_step_loop.bpmn) → content"}
    spec.path("/api/v1/processes/validate", operations={"post": {
        "summary": "Check files against the deployed bundle: every problem of every process and decision, at once",
        "description": "The given files replace those of the deployed bundle for the check; nothing is stored or "
                       "executed. The same checks as `flask processes deploy`, plus everything files drawn in other "
                       "tools lack (Camunda `${…}`/FEEL expressions, lanes without roles, tasks without forms, "
                       "unsupported elements), each with its file, element id, name and line. Scripts, conditions "
                       "and DMN cells are compiled by the restricted-Python sandbox, never run. Upload limits: "
                       f"{MAX_FILE_BYTES // 1024} KB a file, {MAX_REQUEST_BYTES // (1024 * 1024)} MB a request, "
                       f"{MAX_FILES} files; DOCTYPE and entity declarations are refused.",
        "security": secured,
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"type": "object", "required": ["files"], "properties": {"files": files}},
                                 "example": {"files": {"forms/example.json": '{"type": "object", "properties": '
                                                                            '{"note": {"type": "string"}}}'}}},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                         "description": "one part per file; its filename is its place in the bundle"}}}}}},
        "responses": {"200": resp("the problems (ok is false when one is an error)", "ValidationResult"),
                      "400": resp("not a bundle: no files, a name that is not a place in the bundle, a content "
                                  "that is not text", "Error"),
                      "413": resp("a file or the request is too large", "Error"),
                      **{k: v for k, v in designers.items() if k != "404"}}}})
