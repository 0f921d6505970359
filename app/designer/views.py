"""The migration page (/designer/migrations): running cases per process version, which of a
version's cases can move to the active one and why not, and moving the chosen or all safe ones
(each case in its own transaction; app.designer.migration)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.core.errors import NotFound
from app.core.i18n import gettext as _
from app.designer import drafts as ops
from app.designer import migration
from app.web.helpers import current_principal, role_required

bp = Blueprint("designer_migrations", __name__, url_prefix="/designer/migrations")
PAGE = 100


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@bp.get("")
@role_required(*ops.DESIGNER_ROLES)
def index() -> Any:
    target = ops.active_definition()
    versions = [v for v in migration.running_by_version(ops.process_id()) if v["version"] != target.version]
    source_version = _int(request.args.get("from"))
    offset = _int(request.args.get("offset")) or 0
    listing = None
    if source_version is not None:
        try:
            source = ops.definition_by_version(source_version)
        except NotFound:
            flash(_("流程版本 {version} 不存在", version=source_version), "error")
            return redirect(url_for("designer_migrations.index"))
        listing = migration.assess_version(source, target, offset, PAGE)
    return render_template("designer/migrations.html", target=target, versions=versions, listing=listing,
                           source_version=source_version)


@bp.post("/move")
@role_required(*ops.DESIGNER_ROLES)
def move() -> Any:
    principal = current_principal()
    target = ops.active_definition()
    source_version = _int(request.form.get("from"))
    if source_version is None:
        flash(_("请选择要迁移的版本"), "error")
        return redirect(url_for("designer_migrations.index"))
    source = ops.definition_by_version(source_version)
    chosen = [i for i in (_int(v) for v in request.form.getlist("case")) if i is not None][:migration.MAX_LISTED]
    if request.form.get("all_safe"):
        result = migration.move_all_safe(ops.process_id(), target, principal, from_definition=source)
    elif chosen:
        result = migration.move(target, dict.fromkeys(chosen), principal)
    else:
        flash(_("请勾选要迁移的案件，或选择迁移全部可安全迁移的案件"), "error")
        return redirect(url_for("designer_migrations.index", **{"from": source_version}))
    flash(_("已迁移 {moved} 件到第 {version} 版，{kept} 件留在原版本", moved=len(result.migrated), version=target.version,
            kept=len(result.refused)), "success" if result.migrated else "error")
    if result.next_after is not None:
        flash(_("还有案件未处理，请再次点击“迁移全部可安全迁移的案件”"), "info")
    return redirect(url_for("designer_migrations.index", **{"from": source_version}))
