"""The process designer's pages (流程设计): the deployed bundle, and the editors of its files.

``/designer`` lists the bundle as deployed (processes, rules, forms, the channels' intake forms)
with its versions; each file opens in its editor: BPMN in bpmn-js (``designer-bpmn.js``), DMN in
dmn-js (``designer-dmn.js``), a form as JSON with a live preview rendered by the product's own form
macros (``designer-form.js``). The editors read the deployed file from ``/designer/source/…`` and
save drafts through the drafts API (``POST /api/v1/processes/drafts``). Only ``designer`` and
``admin`` may open them; these pages change nothing themselves (the preview renders, stores nothing).
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_wtf.csrf import generate_csrf
from jsonschema.exceptions import SchemaError
from lxml import etree
from sqlalchemy import select

from app.core.db import session as db
from app.security.headers import CSP
from app.core.i18n import get_locale, gettext as _
from app.engine.definitions import MAX_FILE_BYTES, STAGES, BundleError, active_definition_id, check_form, parse_xml_safely
from app.engine.models import ProcessDefinition
from app.forms.schema import resolve
from app.orgs.models import ROLES
from app.web.designer_texts import LIBRARY_TEXTS
from app.web.forms import form_fields
from app.designer.drafts import open_draft_of
from app.web.helpers import current_principal, role_required
from app.web.labels import label

bp = Blueprint("designer", __name__, url_prefix="/designer")

# The editors run under the product's strict CSP (no inline script, no eval). bpmn.io writes a few
# fixed ``style="…"`` attributes in its markup: the properties panel's two containers, the align and
# distribute icons, dmn-js's bpmn.io watermark and its lightbox. The editor pages allow exactly these
# declarations by hash ('unsafe-hashes' covers style attributes only, never <style> or script), so
# the watermark the licence asks for stays where it belongs; any other inline style stays blocked.
BPMN_IO_STYLE_ATTRIBUTES = (
    "height: 100%",
    "flex: none; height: auto",
    "fill:none;stroke:currentColor;stroke-width:100;",
    "fill:none;stroke:currentColor;stroke-width:100;stroke-linejoin:round;",
    "fill:currentColor;stroke:currentColor;stroke-width:100;opacity:.5;",
    "stroke:currentColor;stroke-width:100;stroke-linecap:round;",
    "position: absolute; bottom: 15px; right: 15px; z-index: 100;",
    "vertical-align:middle",
    "margin: 15px 20px 15px 10px; align-self: center;",
    "z-index: 1001;position: fixed;top: 0;left: 0;right: 0;bottom: 0",
    "width: 100%;height: 100%;background: rgba(40,40,40,0.2)",
    "position: absolute;left: 50%;top: 40%;transform: translate(-50%);width: 260px;padding: 10px;"
    "background: white;box-shadow: 0 1px 4px rgba(0,0,0,0.3);font-family: Helvetica, Arial, sans-serif;"
    "font-size: 14px;display: flex;line-height: 1.3",
)
_HASHES = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(v.encode()).digest()).decode() + "'"
                   for v in BPMN_IO_STYLE_ATTRIBUTES)
EDITOR_CSP = CSP.replace("style-src 'self'", f"style-src 'self'; style-src-attr 'unsafe-hashes' {_HASHES}")

DESIGNER_ROLES = ("designer", "admin")
SECTIONS = {"processes": ".bpmn", "rules": ".dmn", "forms": ".json", "kpis": ".json"}
CHANNEL_SECTION = "forms/channels"
PREVIEW_MAX_BYTES = 256 * 1024  # a form is a few KB; the preview refuses more than this (413)
BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DMN_NAMES = ("{https://www.omg.org/spec/DMN/20191111/MODEL/}decision", "{http://www.omg.org/spec/DMN/20180521/MODEL/}decision",
             "{http://www.omg.org/spec/DMN/20151101/dmn.xsd}decision")


def _deployed() -> tuple[ProcessDefinition | None, dict[str, dict[str, str]]]:
    """The active version of the case process (what new cases start on) and its bundle ({} when none
    is deployed)."""
    found = active_definition_id(current_app.config["SETTINGS"].CASE_PROCESS_ID)
    row = db.get(ProcessDefinition, found) if found is not None else None
    if row is None:
        return None, {}
    return row, json.loads(row.bundle)


def _channel_forms() -> dict[str, str]:
    """The channels' intake extension forms (forms/channels/*.json: read from the folder, not
    versioned with the bundle)."""
    folder = Path(current_app.config["SETTINGS"].FORMS_DIR) / "channels"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json")) if p.is_file()}


def _ids(text: str, tags: tuple[str, ...]) -> list[str]:
    """Ids of the elements ``tags`` in a BPMN/DMN file (its processes or decisions)."""
    try:
        root = parse_xml_safely(text, "file")
    except (BundleError, etree.XMLSyntaxError, ValueError):
        return []
    return [el.get("id") for tag in tags for el in root.iter(tag) if el.get("id")]


def _file_text(section: str, name: str) -> str:
    """A deployed file's text (404 when it is not in the bundle)."""
    if section == CHANNEL_SECTION:
        files = _channel_forms()
    elif section in SECTIONS:
        _row, bundle = _deployed()
        files = bundle.get(section, {})
    else:
        abort(404)
    if name not in files:
        abort(404)
    return files[name]


@bp.get("")
@role_required(*DESIGNER_ROLES)
def index() -> Any:
    row, bundle = _deployed()
    versions = []
    if row is not None:
        versions = db.execute(select(ProcessDefinition.version, ProcessDefinition.deployed_at, ProcessDefinition.deployed_by)
                              .where(ProcessDefinition.process_id == row.process_id)
                              .order_by(ProcessDefinition.version.desc()).limit(50)).all()
    processes = [(name, _ids(text, (f"{BPMN_NS}process",))) for name, text in bundle.get("processes", {}).items()]
    rules = [(name, _ids(text, DMN_NAMES)) for name, text in bundle.get("rules", {}).items()]
    forms = [(name, _form_title(text)) for name, text in bundle.get("forms", {}).items()]
    kpis = [(name, _kpi_title(text)) for name, text in sorted(bundle.get("kpis", {}).items())]
    channels = [(name, _form_title(text)) for name, text in _channel_forms().items()]
    from app.web.designer_drafts import draft_rows
    targets = [f"processes/{name}" for name, _found in processes] + [f"rules/{name}" for name, _found in rules]
    return render_template("designer/index.html", definition=row, versions=versions, processes=processes,
                           rules=rules, forms=forms, kpis=kpis, channels=channels, drafts=draft_rows(), import_targets=targets,
                           import_max_kb=MAX_FILE_BYTES // 1024)


def _kpi_title(text: str) -> str:
    try:
        name = json.loads(text).get("name") or {}
    except (ValueError, AttributeError):
        return ""
    if not isinstance(name, dict):
        return ""
    return str((name.get("en") if get_locale() == "en" else None) or name.get("zh") or "")


def _form_title(text: str) -> str:
    try:
        schema = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(schema, dict):
        return ""
    title = schema.get("x-title-en") if get_locale() == "en" and schema.get("x-title-en") else schema.get("title")
    return str(title or "")


@bp.get("/source/<path:path>")
@role_required(*DESIGNER_ROLES)
def source(path: str) -> Any:
    """The deployed text of one file, for the editors; a download (never rendered as a page)."""
    section, _sep, name = path.rpartition("/")
    text = _file_text(section, name)
    return Response(text, mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def page_texts() -> dict[str, str]:
    """The editors' own texts (buttons, fields of the 统管约定 group, messages), in the user's language."""
    return {
        "error": _("错误"), "warning": _("警告"), "none": _("— 未设置 —"),
        "not_in_bundle": _("{name}（不在流程包中）"),
        "saving": _("正在保存草稿…"), "saved": _("草稿 #{id} 已保存，检查通过"),
        "saved_with_problems": _("草稿 #{id} 已保存，发现 {n} 个问题，见下方列表"),
        "save_unavailable": _("保存草稿的服务尚未启用：请联系管理员"),
        "save_failed": _("保存失败（{status}）：{message}"),
        "too_large": _("文件太大，无法保存"),
        "stale": _("草稿已在别处保存（第 {revision} 次保存），这里的副本已过时：请刷新页面，重新打开草稿后再改"),
        "editing_by": _("不能保存：{message}"),
        "open_failed": _("无法打开文件：{message}"),
        "import_warnings": _("文件已打开，有 {n} 处内容无法识别，保存时会被去掉"),
        "conventions": _("统管约定"),
        "form": _("表单"), "form_help": _("办理这一步时填写的表单（forms/ 中的文件）"),
        "unit": _("所属单位"), "unit_help": _("给出任务所属单位代码的表达式，例如 handling_unit"),
        "limit": _("办理时限"), "limit_help": _("表达式，例如 '2d'（2 个工作日）或 '4h'（4 个工作小时）"),
        "sign_limit": _("签收时限"), "sign_limit_help": _("填写后，办理时限从签收时起算，例如 '2h'"),
        "stage": _("闭环环节"),
        "lane": _("泳道"), "lane_help": _("这一步由泳道的角色办理：{role}；选另一条泳道，这一步就移到那条泳道中"),
        "lane_no_role": _("这条泳道没有角色：请选中泳道，在“统管约定”中选择角色"),
        "lane_none": _("— 不在泳道中 —"),
        "role": _("角色"), "role_help": _("这条泳道中的任务由持有该角色的人员办理"),
        "script": _("脚本"), "condition": _("条件"),
        "python_rules": _("受限的 Python：字符串要加引号；不能用 import、open、双下划线属性和 getattr；"
                          "不是 FEEL，也不是 ${…}。可用 unit_ancestor()、unit_department()。"),
        "deadline": _("时限节点"),
        "deadline_help": _("边界定时器在任务时限的这一刻触发（工作时间，签收、延期和挂起由系统计算）"),
        "deadline_yellow": _("临近时限（黄灯）：deadline('yellow')"), "deadline_due": _("超过时限（红灯）：deadline('due')"),
        "signal": _("信号"), "signal_help": _("系统发出的信号：上报（吹哨）或退单"),
        "signal_escalate": _("上报 escalate"), "signal_return": _("退单 return"),
        "called_process": _("调用的流程"), "called_process_help": _("流程包中的另一个流程"),
        "called_decision": _("调用的决策"), "called_decision_help": _("rules/ 中的决策表"),
        "preview_failed": _("无法预览：{message}"),
        "laid_out": _("这个文件没有流程图（只有流程定义）：已按连线自动排版，保存时一并存入草稿"),
    }


def _library_texts() -> dict[str, str]:
    """bpmn.io's English texts in the user's language; in English, bpmn.io's own wording."""
    if get_locale() == "en":
        return {}
    return {key: str(value) for key, value in LIBRARY_TEXTS.items()}


def _editor(kind: str, path: str) -> Any:
    section, _sep, name = path.rpartition("/")
    expected = {"bpmn": ("processes",), "dmn": ("rules",), "form": ("forms", CHANNEL_SECTION), "kpi": ("kpis",)}[kind]
    if section not in expected:
        abort(404)
    _row, bundle = _deployed()
    processes = sorted({pid for text in bundle.get("processes", {}).values()
                        for pid in _ids(text, (f"{BPMN_NS}process",))})
    decisions = sorted({did for text in bundle.get("rules", {}).values() for did in _ids(text, DMN_NAMES)})
    from app.web.designer_drafts import draft_rows
    mine = None if section == CHANNEL_SECTION else open_draft_of(current_principal().id)
    has_file = mine is not None and path in json.loads(mine.files)
    if not has_file:
        _file_text(section, name)  # 404 for a file neither in the bundle nor in my draft
    lang = get_locale()
    problems = [] if not has_file or mine is None else [
        {"file": p["file"], "element": p.get("element"), "label": p.get("element_name"), "severity": p.get("severity", "error"),
         "message": (p.get("message_en") if lang == "en" and p.get("message_en") else p.get("message")) or ""}
        for p in json.loads(mine.problems) if p.get("file") == path]
    page = {
        "draft_id": mine.id if mine is not None else None,
        "draft_revision": mine.revision if mine is not None else None,
        "draft_has_file": has_file,
        "drafts_url": "/api/v1/processes/drafts",
        "others": [d for d in draft_rows() if path in d["files"] and (mine is None or d["id"] != mine.id)],
        "file": path,
        "kind": kind,
        # my draft's version of the file when my open draft changed it; else the deployed file
        "source_url": (f"/api/v1/processes/drafts/{mine.id}/files/{path}" if has_file and mine is not None
                       else f"{bp.url_prefix}/source/{path}"),
        "save_url": "/api/v1/processes/drafts",
        "preview_url": f"{bp.url_prefix}/kpis/preview" if kind == "kpi" else f"{bp.url_prefix}/forms/preview",
        "csrf": generate_csrf(),
        "texts": json.dumps(page_texts(), ensure_ascii=False),
        "library_texts": json.dumps(_library_texts(), ensure_ascii=False),
        "forms": json.dumps(sorted(bundle.get("forms", {})), ensure_ascii=False),
        "processes": json.dumps(processes, ensure_ascii=False),
        "decisions": json.dumps(decisions, ensure_ascii=False),
        "roles": json.dumps([{"value": r, "label": f"{label('role', r)} ({r})"} for r in ROLES], ensure_ascii=False),
        "stages": json.dumps([{"value": s, "label": f"{label('stage', s)} ({s})"} for s in STAGES], ensure_ascii=False),
        "problems": json.dumps(problems, ensure_ascii=False),
        "import_max_kb": MAX_FILE_BYTES // 1024,
        "import_targets": sorted(f"{section}/{n}" for n in bundle.get(section, {})) if kind in ("bpmn", "dmn") else [],
    }
    response = current_app.make_response(render_template(f"designer/{'form' if kind == 'kpi' else kind}.html", page=page, name=name, section=section))
    response.headers["Content-Security-Policy"] = _editor_csp()
    return response


def _editor_csp() -> str:
    settings = current_app.config["SETTINGS"]
    csp = EDITOR_CSP
    if settings.map_tile_origin:  # as app.security.headers does for every page
        csp = csp.replace("img-src 'self' data:", f"img-src 'self' data: {settings.map_tile_origin}")
    return csp


@bp.get("/bpmn/<path:path>")
@role_required(*DESIGNER_ROLES)
def bpmn(path: str) -> Any:
    return _editor("bpmn", path)


@bp.get("/dmn/<path:path>")
@role_required(*DESIGNER_ROLES)
def dmn(path: str) -> Any:
    return _editor("dmn", path)


@bp.get("/form/<path:path>")
@role_required(*DESIGNER_ROLES)
def form(path: str) -> Any:
    return _editor("form", path)


@bp.get("/kpi/<path:path>")
@role_required(*DESIGNER_ROLES)
def kpi(path: str) -> Any:
    return _editor("kpi", path)


@bp.post("/kpis/preview")
@role_required(*DESIGNER_ROLES)
def kpi_preview() -> Any:
    """A posted KPI formula checked as a deploy checks it and computed over last month for the
    designer's own unit, beside the formula in force of the same key; nothing is stored. 413 over
    PREVIEW_MAX_BYTES, 422 with the field and the message for an invalid formula."""
    from app.kpis.formulas import FormulaError, check_formula
    from app.kpis.service import trial
    text = request.form.get("formula", "")
    if (request.content_length or 0) > PREVIEW_MAX_BYTES or len(text.encode("utf-8")) > PREVIEW_MAX_BYTES:
        return jsonify({"error": "too_large", "message": _("公式太大（最多 {n} KB）", n=PREVIEW_MAX_BYTES // 1024)}), 413
    name = request.form.get("file", "kpis/formula.json").rpartition("/")[2] or "formula.json"
    try:
        formula = check_formula(name, text)
    except FormulaError as exc:
        message = exc.en if get_locale() == "en" else exc.zh
        return jsonify({"error": "invalid", "errors": {"formula": [message]}, "field": exc.field}), 422
    found = trial(formula, current_principal(), DESIGNER_ROLES, get_locale())
    if found is None:
        return jsonify({"error": "no_unit", "message": _("你的账号没有所属单位，无法试算")}), 422
    unit, start, end, drafted, current = found
    html = render_template("designer/_kpi_preview.html", formula=formula, figure=drafted, current=current,
                           unit=unit, start=start, end=end)
    return jsonify({"html": html, "fields": 0})


@bp.post("/forms/preview")
@role_required(*DESIGNER_ROLES)
def form_preview() -> Any:
    """A posted form schema rendered by the product's own field macros (what a user will see).
    Checked as a deploy checks it; nothing is stored. 413 over PREVIEW_MAX_BYTES, 422 with the
    problem for a schema that is not a valid form."""
    if (request.content_length or 0) > PREVIEW_MAX_BYTES:
        return jsonify({"error": "too_large", "message": _("表单太大（最多 {n} KB）", n=PREVIEW_MAX_BYTES // 1024)}), 413
    text = request.form.get("schema", "")
    if len(text.encode("utf-8")) > PREVIEW_MAX_BYTES:
        return jsonify({"error": "too_large", "message": _("表单太大（最多 {n} KB）", n=PREVIEW_MAX_BYTES // 1024)}), 413
    try:
        schema = check_form(text)
        fields = form_fields(resolve(schema, get_locale()))
    except (ValueError, SchemaError, KeyError, TypeError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return jsonify({"error": "invalid", "errors": {"schema": [_("不是有效的表单：{message}", message=message)]}}), 422
    html = render_template("designer/_form_preview.html", fields=fields)
    return jsonify({"html": html, "fields": len(fields)})
