"""The designer's draft pages: /designer/drafts/<id> (its files, problems, review state) and the
server-rendered forms that approve, deploy or discard a draft and activate a stored version
(rollback). Thin views over the same operations as the API (app.designer.drafts); a refusal
(409/403) is shown as a message on the draft page, never a 500."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from app.core.db import session as db
from app.core.errors import AppError
from app.core.i18n import get_locale, gettext as _
from app.designer import drafts as ops
from app.designer import importing
from app.designer.checks import TooLarge
from app.engine.definitions import MAX_FILE_BYTES
from app.designer import migration
from app.orgs.models import User
from app.web.helpers import current_principal, role_required

bp = Blueprint("designer_drafts", __name__, url_prefix="/designer")

EDITORS = {"processes": "bpmn", "rules": "dmn", "forms": "form", "kpis": "kpi"}


def editor_endpoint(name: str) -> str | None:
    """The editor page of a bundle file (``processes/x.bpmn`` → ``designer.bpmn``)."""
    kind = EDITORS.get(name.partition("/")[0])
    return f"designer.{kind}" if kind else None


def draft_rows() -> list[dict[str, Any]]:
    """The open drafts as /designer lists them: who edits what since when, ok or problems."""
    rows = []
    for draft in ops.open_drafts():
        owner = db.get(User, draft.owner_id)
        rows.append({"id": draft.id, "owner": owner.display_name if owner else "?", "created_at": draft.created_at,
                     "updated_at": draft.updated_at, "files": sorted(json.loads(draft.files)), "ok": draft.ok,
                     "problems": len(json.loads(draft.problems)), "revision": draft.revision})
    return rows


def _refused(exc: AppError, draft_id: int) -> Any:
    flash(exc.message, "error")
    return redirect(url_for("designer_drafts.show", draft_id=draft_id))


@bp.get("/drafts/<id:draft_id>")
@role_required(*ops.DESIGNER_ROLES)
def show(draft_id: int) -> Any:
    principal = current_principal()
    draft = ops.get_draft(draft_id)
    body = ops.draft_dict(draft, principal)
    running_older = None
    if draft.state == "deployed" and body.get("deployed_version") is not None:
        running_older = sum(v["running"] for v in migration.running_by_version(ops.process_id())
                            if v["version"] < body["deployed_version"])
    files = [(name, editor_endpoint(name)) for name in body["changed"]]
    return render_template("designer/draft.html", draft=body, files=files, running_older=running_older,
                           own=draft.owner_id == principal.id)


@bp.post("/drafts/<id:draft_id>/approve")
@role_required(*ops.DESIGNER_ROLES)
def approve(draft_id: int) -> Any:
    try:
        ops.approve_draft(current_principal(), ops.get_draft(draft_id))
    except AppError as exc:
        return _refused(exc, draft_id)
    flash(_("草稿已审批，可以部署"), "success")
    return redirect(url_for("designer_drafts.show", draft_id=draft_id))


@bp.post("/drafts/<id:draft_id>/deploy")
@role_required(*ops.DESIGNER_ROLES)
def deploy(draft_id: int) -> Any:
    try:
        definition = ops.deploy_draft(current_principal(), ops.get_draft(draft_id))
    except AppError as exc:
        return _refused(exc, draft_id)
    flash(_("已部署为第 {version} 版，新案件按此版本流转", version=definition.version), "success")
    return redirect(url_for("designer_drafts.show", draft_id=draft_id))


@bp.post("/drafts/<id:draft_id>/discard")
@role_required(*ops.DESIGNER_ROLES)
def discard(draft_id: int) -> Any:
    try:
        ops.discard_draft(current_principal(), ops.get_draft(draft_id))
    except AppError as exc:
        return _refused(exc, draft_id)
    flash(_("草稿 #{id} 已放弃", id=draft_id), "success")
    return redirect(url_for("designer.index"))


@bp.post("/versions/<id:version>/activate")
@role_required(*ops.DESIGNER_ROLES)
def activate(version: int) -> Any:
    if request.form.get("confirm") != "yes":
        flash(_("请勾选“确认”后再启用第 {version} 版", version=version), "error")
        return redirect(url_for("designer.index"))
    try:
        before, now = ops.activate_version(current_principal(), version)
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(url_for("designer.index"))
    flash(_("第 {version} 版已启用（之前是第 {previous} 版），新案件按此版本流转", version=now.version,
            previous=before.version), "success")
    return redirect(url_for("designer.index"))


def _back() -> str:
    """Where a refused import returns: the designer page it came from."""
    back = request.form.get("back", "")
    return back if back.startswith("/designer") and "//" not in back and "\\" not in back else url_for("designer.index")


@bp.post("/import")
@role_required(*ops.DESIGNER_ROLES)
def import_file() -> Any:
    """A .bpmn or .dmn file drawn elsewhere, into my draft (app.designer.importing); it opens in its
    editor with what it lacks to run here listed and marked. A refusal is a message, never a 500."""
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        upload = None
        flash(_("文件太大：最多 {n} KB", n=MAX_FILE_BYTES // 1024), "error")
        return redirect(_back())
    if upload is None or not upload.filename:
        flash(_("请选择要导入的 .bpmn 或 .dmn 文件"), "error")
        return redirect(_back())
    filename = upload.filename[:200]
    try:
        imported = importing.import_file(current_principal(), filename, upload.stream.read(MAX_FILE_BYTES + 1),
                                         request.form.get("target", importing.NEW), request.form.get("name", "")[:100])
    except importing.ImportRefused as exc:
        flash(_("无法导入 {file}：{reason}", file=filename, reason=exc.en if get_locale() == "en" else exc.zh), "error")
        return redirect(_back())
    except TooLarge:
        flash(_("文件太大：最多 {n} KB", n=MAX_FILE_BYTES // 1024), "error")
        return redirect(_back())
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(_back())
    if imported.problems:
        flash(_("已把 {file} 导入草稿 #{id}（{path}）：还有 {n} 个问题，部署前要处理，已在下方列出并在图上标出",
                file=filename, id=imported.draft.id, path=imported.path, n=imported.problems), "warning")
    else:
        flash(_("已把 {file} 导入草稿 #{id}（{path}），检查通过", file=filename, id=imported.draft.id,
                path=imported.path), "success")
    return redirect(url_for(editor_endpoint(imported.path) or "designer.index", path=imported.path))


def active_version() -> int | None:
    try:
        return ops.active_definition().version
    except AppError:
        return None

