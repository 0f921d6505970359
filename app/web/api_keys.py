"""Administration of Open311 API keys: list, issue (the key is shown once), revoke. Audited.

The plaintext of a new key is rendered into the answer of the POST that issued it, never flashed:
the flash list lives in the session cookie, which is signed but not encrypted.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from app.core.db import session as db
from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.open311.models import NAME_MAX, ApiKey
from app.open311.operations import issue_key, list_keys, revoke_key
from app.web.helpers import current_principal, get_or_404, localize_message, role_required

bp = Blueprint("api_keys", __name__, url_prefix="/admin/api-keys")


def _render(form_name: str = "", errors: dict[str, list[str]] | None = None, issued: tuple[ApiKey, str] | None = None,
            status: int = 200) -> Any:
    settings = current_app.config["SETTINGS"]
    return render_template("admin/api_keys.html", keys=list_keys(), form_name=form_name, errors=errors or {},
                           issued=issued, name_max=NAME_MAX, endpoint=request.url_root.rstrip("/") + "/open311/v2",
                           jurisdiction=settings.OPEN311_JURISDICTION,
                           public_channels=settings.open311_public_channels), status


@bp.get("")
@role_required("admin")
def index() -> Any:
    return _render()


@bp.post("")
@role_required("admin")
def issue() -> Any:
    name = (request.form.get("name") or "").strip()
    try:
        key, plaintext = issue_key(name, current_principal().user)
    except ValidationFailed as exc:
        return _render(name, exc.errors or {"name": [exc.message]}, status=422)
    return _render(issued=(key, plaintext), status=201)


@bp.post("/<id:key_id>/revoke")
@role_required("admin")
def revoke(key_id: int) -> Any:
    key = get_or_404(ApiKey, key_id, _("找不到该密钥"))
    try:
        revoke_key(key, current_principal().user)
    except ValidationFailed as exc:
        db.rollback()
        flash(localize_message(exc.message), "error")
    else:
        flash(_("已吊销密钥 {prefix}…（{name}），该客户端从现在起无法提交", prefix=key.prefix, name=key.name), "success")
    return redirect(url_for("api_keys.index"))
