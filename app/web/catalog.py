"""The category catalogue in the browser: the picker's search endpoint (JSON, for any logged-in
user) and the admin page (versions, browse and search, upload a new 12345 topic tree)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from app.catalog.models import CATALOGS, CATEGORY_KINDS, GB_DIRECTORY, TOPICS_12345
from app.catalog.operations import activate_version, import_topics
from app.catalog.queries import all_versions
from app.catalog.service import (active_versions, category_matches, lookup_category, lookup_topic, search_categories,
                                 search_topics, topic_matches)
from app.core.auth import web_principal
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.web.helpers import Pager, current_principal, page_arg, role_required
from app.web.labels import label

bp = Blueprint("catalog", __name__)

PICKER_LIMIT = 20
PICKER_MAX = 50
QUERY_MAX = 50
ADMIN_PAGE = 50
ADMIN_MAX = 500


def _picker_args() -> tuple[str, int]:
    q = (request.args.get("q") or "").strip()
    errors: dict[str, list[str]] = {}
    if len(q) > QUERY_MAX:
        errors["q"] = [f"最多 {QUERY_MAX} 个字符 / at most {QUERY_MAX} characters"]
    try:
        limit = int(request.args.get("limit") or PICKER_LIMIT)
        if not 1 <= limit <= PICKER_MAX:
            raise ValueError
    except ValueError:
        errors["limit"] = [f"应为 1 到 {PICKER_MAX} 的整数 / must be an integer from 1 to {PICKER_MAX}"]
        limit = PICKER_LIMIT
    if errors:
        raise ValidationFailed("invalid query", errors=errors)
    return q, limit


def _not_logged_in() -> Any:
    return jsonify({"error": "unauthorized", "message": "请先登录 / log in first"}), 401


def _refused(exc: ValidationFailed) -> Any:
    return jsonify(exc.to_dict()), exc.status


@bp.get("/catalog/categories")
def picker_categories() -> Any:
    """The category picker's typeahead: ``q`` (Chinese, initials, pinyin, code), ``kind``, ``limit``."""
    if web_principal() is None:
        return _not_logged_in()
    kind = request.args.get("kind") or None
    try:
        q, limit = _picker_args()
        if kind is not None and kind not in CATEGORY_KINDS:
            raise ValidationFailed("invalid query", errors={"kind": ["应为 component 或 event / must be component or event"]})
    except ValidationFailed as exc:
        return _refused(exc)
    # "exact": the whole name, code, initials or pinyin; the picker preselects only a lone exact match
    items = [{"key": c.key, "kind": c.kind, "code": c.code, "name": c.name, "major_class": c.major_class,
              "initials": c.initials, "exact": exact} for c, exact in category_matches(q, kind, limit)]
    return jsonify({"items": items})


@bp.get("/catalog/topics")
def picker_topics() -> Any:
    """The topic picker's typeahead over the 12345 tree."""
    if web_principal() is None:
        return _not_logged_in()
    try:
        q, limit = _picker_args()
    except ValidationFailed as exc:
        return _refused(exc)
    # "key" is what the picker stores; the path above the topic stands where a category shows its major class
    items = [{"key": t.code, "code": "", "kind": "topic", "name": t.name, "level": t.level, "path": t.path_name,
              "major_class": t.path_name.rpartition("/")[0], "leaf": t.leaf, "initials": t.initials,
              "exact": exact} for t, exact in topic_matches(q, limit)]
    return jsonify({"items": items})


@bp.app_template_global()
def category_choice(key: str | None) -> str:
    """The picker's line under the input: ``06010 暴露垃圾 · 事件 · 市容环境类``; '' for no or an unknown key."""
    info = lookup_category(key, include_retired=True) if key else None
    if info is None:
        return ""
    return f"{info.code} {info.name} · {label('kind', info.kind)} · {info.major_class}"


@bp.app_template_global()
def topic_choice(code: str | None) -> str:
    """The picker's line under a topic input: its path, ``城乡建设/安全生产/安全隐患``."""
    info = lookup_topic(code) if code else None
    return info.path_name if info is not None else ""


# ---------------------------------------------------------------------------- admin page

def _render_admin(upload_errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    view = request.args.get("view") if request.args.get("view") in ("categories", "topics") else \
        ("topics" if upload_errors else "categories")
    q = (request.args.get("q") or "").strip()[:QUERY_MAX]
    kind = request.args.get("kind") if request.args.get("kind") in CATEGORY_KINDS else None
    rows: list[Any] = search_topics(q, ADMIN_MAX) if view == "topics" else search_categories(q, kind, ADMIN_MAX)
    page = page_arg()
    pager = Pager(page, ADMIN_PAGE, len(rows), endpoint="catalog.admin",
                  args={"view": view, "q": q, "kind": kind})
    versions = all_versions()
    return render_template(
        "admin/catalog.html", versions=versions, active=active_versions(), view=view, q=q, kind=kind,
        kinds=CATEGORY_KINDS, rows=rows[pager.offset:pager.offset + ADMIN_PAGE], pager=pager, total=len(rows),
        upload_errors=upload_errors or {}, GB_DIRECTORY=GB_DIRECTORY, TOPICS_12345=TOPICS_12345), status


@bp.get("/admin/catalog")
@role_required("admin")
def admin() -> Any:
    return _render_admin()


@bp.post("/admin/catalog/topics")
@role_required("admin")
def upload_topics() -> Any:
    """A new 12345 topic tree from a CSV (一级分类,二级分类,三级分类): checked, then a new active version."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_admin({"file": [_("请选择要上传的 CSV 文件")]}, 422)
    try:
        result = import_topics(upload.read(), upload.filename[:200], current_principal().user)
    except ValidationFailed as exc:
        return _render_admin(exc.errors or {"file": [exc.message]}, 422)  # 4xx: the request rolls back
    if result.created:
        flash(_("已导入 12345 分类树第 {version} 版（{n} 个分类），已设为当前版本", version=result.version,
                n=result.row_count), "success")
    else:
        flash(_("文件内容与第 {version} 版相同，未创建新版本", version=result.version), "info")
    return redirect(url_for("catalog.admin", view="topics"))


@bp.post("/admin/catalog/<catalog>/<id:version>/activate")
@role_required("admin")
def activate(catalog: str, version: int) -> Any:
    if catalog not in CATALOGS:
        raise NotFound(_("没有这个目录"))
    activate_version(catalog, version, current_principal().user)  # NotFound: 404, nothing changed
    flash(_("已将第 {version} 版设为当前版本", version=version), "success")
    return redirect(url_for("catalog.admin", view="topics" if catalog == TOPICS_12345 else "categories"))
