"""Export of a list page (cases, the inbox, the console's open tasks) to CSV or Excel.

An export holds exactly what the list shows under the same filters and the same scope (the
same query functions, the same principal), in the list's order, with the columns a user sees,
in the user's language. CSV is UTF-8 with a BOM so that Excel opens the Chinese text; Excel files
are written by openpyxl. An export is bounded: at most :data:`EXPORT_MAX` rows, built in memory
(about 2 MB of CSV); a larger list is refused with 422 and a message to narrow the filters,
never cut silently. Text a citizen typed is never run as a formula: in CSV a cell starting with
``= + - @`` (or a tab or carriage return) gets a leading ``'`` (OWASP's advice against CSV
injection), in Excel every text cell is stored as text. Every export is an audit event (``list_exported``: who, which list, which
filters, how many rows): the rows carry citizens' data.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, render_template, request

from app.cases.models import CASE_STATUSES, CHANNELS, TIERS
from app.core import audit
from app.core.i18n import get_locale, gettext as _
from app.sla.deadlines import LIGHTS
from app.supervision import queries as sq
from app.tasks.queries import SORTS, inbox_page
from app.web.helpers import current_principal, format_dt, login_required, role_required, task_light
from app.web.labels import category_label, label
from app.orgs.directory import directory
from app.web.queries import CASE_SORTS, CaseNarrowing, case_list, inbox_count, task_titles

bp = Blueprint("exports", __name__)

EXPORT_MAX = 10_000
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

Row = list[str | int]


LIST_LIGHTS = (*LIGHTS, "none")  # none: open without a light (no deadline)
LIST_TIERS = (*TIERS, "none")  # none: no tier yet


def _local_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def case_filters() -> dict[str, Any]:
    """The filters of ``/cases`` from the query string; values not offered are ignored. Beyond the
    form's: ``unit`` (code), ``created_from``/``created_to``, ``closed_from``/``closed_to`` (local
    dates, inclusive), ``category`` (key), ``escalated=1``, ``parked=1`` (the cockpit's links)."""
    args = request.args
    unit = directory().by_code.get(args.get("unit") or "")
    category = (args.get("category") or "").strip()[:40] or None
    narrowing = CaseNarrowing(unit=unit, created_from=_local_date(args.get("created_from")),
                              created_to=_local_date(args.get("created_to")),
                              closed_from=_local_date(args.get("closed_from")),
                              closed_to=_local_date(args.get("closed_to")), category=category,
                              escalated=args.get("escalated") == "1", parked=args.get("parked") == "1")
    return {"status": args.get("status") if args.get("status") in CASE_STATUSES else None,
            "channel": args.get("channel") if args.get("channel") in CHANNELS else None,
            "text": (args.get("q") or "").strip()[:100] or None,
            "light": args.get("light") if args.get("light") in LIST_LIGHTS else None,
            "tier": args.get("tier") if args.get("tier") in LIST_TIERS else None,
            "sort": args.get("sort") if args.get("sort") in CASE_SORTS else "-created",
            "narrowing": narrowing}


def narrowing_filters(narrowing: CaseNarrowing) -> dict[str, Any]:
    """The narrowing as the audit trail and the list page's hidden fields write it."""
    out: dict[str, Any] = {"unit": narrowing.unit.code if narrowing.unit else None,
                           "category": narrowing.category, "escalated": "1" if narrowing.escalated else None,
                           "parked": "1" if narrowing.parked else None}
    for key in ("created_from", "created_to", "closed_from", "closed_to"):
        value = getattr(narrowing, key)
        out[key] = value.isoformat() if value else None
    return {k: v for k, v in out.items() if v is not None}


def _light_text(light: str | None, paused: bool) -> str:
    parts = ([label("light", light)] if light else []) + ([_("计时暂停")] if paused else [])
    return " · ".join(parts) or "—"


def _unit(unit: Any) -> str:
    return unit.display_name(get_locale()) if unit is not None else "—"


def _refused(total: int) -> tuple[str, int]:
    message = _("共 {n} 条，超过导出上限 {max} 条：请先缩小筛选范围。", n=total, max=EXPORT_MAX)
    return render_template("error.html", status=422, body={"message": message}), 422


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str | int) -> str | int:
    """A CSV cell that a spreadsheet shows as typed, never evaluates (``=HYPERLINK(...)`` → ``'=HYPERLINK(...)``)."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def export_file(fmt: str, name: str, title: str, header: Sequence[str], rows: list[Row]) -> Response:
    """A table as a download: ``csv`` (UTF-8 with a BOM, for Excel) or ``xlsx`` (openpyxl), Chinese headers."""
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # Excel reads UTF-8 only with a BOM
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        body: bytes = out.getvalue().encode("utf-8")
    else:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title[:31])
        sheet.append(list(header))

        def text_cell(value: str | int) -> Any:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would store "=..." as a formula
            return cell
        for row in rows:
            sheet.append([text_cell(v) for v in row])
        buffer = io.BytesIO()
        book.save(buffer)
        body = buffer.getvalue()
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    if fmt == "csv":
        response.headers["Content-Type"] = FORMATS["csv"]
    response.headers["Content-Disposition"] = f"attachment; filename={name}.{fmt}"
    response.headers["Cache-Control"] = "no-store"
    return response


def _export(fmt: str, listing: str, filters: dict[str, Any], total: int,
            load: Callable[[], tuple[str, Sequence[str], list[Row]]]) -> Any:
    if fmt not in FORMATS:
        return render_template("error.html", status=404, body={}), 404
    if total > EXPORT_MAX:
        return _refused(total)
    title, header, rows = load()
    principal = current_principal()
    audit.record("list_exported", actor=principal.user, list=listing, format=fmt, rows=len(rows),
                 filters={k: v for k, v in filters.items() if v not in (None, "")})
    return export_file(fmt, f"tongguan-{listing}", title, header, rows)


@bp.get("/cases/export.<fmt>")
@login_required
def cases(fmt: str) -> Any:
    principal = current_principal()
    f = case_filters()
    found, total = case_list(principal, f["status"], f["channel"], f["text"], 1, EXPORT_MAX + 1,
                             f["light"], f["tier"], f["sort"], f["narrowing"])

    def load() -> tuple[str, Sequence[str], list[Row]]:
        from app.web.helpers import case_light
        header = [_("工单编号"), _("标题"), _("状态"), _("当前环节"), _("层级"), _("亮灯"), _("办理时限"), _("来源渠道"),
                  _("案件类别"), _("紧急程度"), _("所在网格"), _("登记时间")]
        rows: list[Row] = [[c.number, c.title, label("status", c.status), label("stage", c.stage) if c.stage else "—",
                            label("tier", c.tier) if c.tier else "—", _light_text(case_light(c), c.parked_at is not None),
                            format_dt(c.due_at), label("channel", c.channel), category_label(c.category_code) or "—",
                            label("urgency", c.urgency), _unit(c.grid_unit), format_dt(c.created_at)] for c in found]
        return _("案件列表"), header, rows
    return _export(fmt, "cases", {**{k: v for k, v in f.items() if k != "narrowing"},
                                  **narrowing_filters(f["narrowing"])}, total, load)


@bp.get("/inbox/export.<fmt>")
@login_required
def inbox(fmt: str) -> Any:
    from app.web.inbox import TABS, inbox_filters
    principal = current_principal()
    filters, chosen = inbox_filters()
    tab = request.args.get("tab") if request.args.get("tab") in TABS else "mine"
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "due"
    total = inbox_count(principal, tab, filters)

    def load() -> tuple[str, Sequence[str], list[Row]]:
        found = inbox_page(principal, tab, sort, limit=EXPORT_MAX, offset=0, filters=filters)
        titles = task_titles(t for t, _c in found)
        header = [_("工单编号"), _("标题"), _("任务"), _("环节"), _("层级"), _("所属单位"), _("亮灯"), _("办理时限"),
                  _("到达时间")] + ([_("签收人")] if tab == "mine" else [])
        rows: list[Row] = [[c.number, c.title, titles[t.id], label("stage", t.stage), label("tier", c.tier) if c.tier else "—",
                            _unit(t.org_unit), _light_text(task_light(t), t.paused_at is not None), format_dt(t.due_at),
                            format_dt(t.created_at)]
                           + ([t.claimed_by.display_name if t.claimed_by else "—"] if tab == "mine" else [])
                           for t, c in found]
        return _("我的任务") if tab == "mine" else _("可签收"), header, rows
    return _export(fmt, f"inbox-{tab}", {**chosen, "tab": tab, "sort": sort}, total, load)


@bp.get("/supervision/export.<fmt>")
@role_required("supervisor")
def console_tasks(fmt: str) -> Any:
    principal = current_principal()
    light = request.args.get("light") if request.args.get("light") in LIGHTS else None
    total = sq.count_tasks(principal, light)

    def load() -> tuple[str, Sequence[str], list[Row]]:
        found = sq.tasks(principal, light, limit=EXPORT_MAX, offset=0)
        titles = task_titles(t for t, _c in found)
        header = [_("工单编号"), _("标题"), _("层级"), _("任务"), _("所属单位"), _("签收人"), _("亮灯"), _("办理时限"),
                  _("催办次数")]
        rows: list[Row] = [[c.number, c.title, label("tier", c.tier) if c.tier else "—", titles[t.id], _unit(t.org_unit),
                            t.claimed_by.display_name if t.claimed_by else _("未签收"),
                            _light_text(task_light(t), t.paused_at is not None), format_dt(t.due_at), t.urge_count]
                           for t, c in found]
        return _("在办任务"), header, rows
    return _export(fmt, "console-tasks", {"light": light}, total, load)
