"""KPI figures, rankings and drill-downs as CSV or Excel files (Chinese headers; app.web.exports).

The files hold the same numbers as the JSON and the pages (the same queries); every export is an
audit event (``list_exported``), as the case lists' exports are. A drill-down larger than
:data:`app.web.exports.EXPORT_MAX` cases is refused with 422, never cut.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.cases.models import Case
from app.core import audit
from app.core.db import session
from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.kpis.formulas import Formula
from app.kpis.queries import Figure, _number
from app.orgs.models import OrgUnit
from app.web.exports import EXPORT_MAX, Row, export_file


def value_text(f: Figure) -> str | float:
    if f.value is None:
        return "—"
    return round(f.value, 4) if f.kind == "rate" else f.value


def _cells(f: Figure) -> list[str | int | float]:
    return [value_text(f), _number(f.numerator), _number(f.denominator), f.target if f.target is not None else "—"]


def _logged(principal: Any, listing: str, fmt: str, rows: int, **filters: Any) -> None:
    audit.record("list_exported", actor=principal.user, list=listing, format=fmt, rows=rows, filters=filters)


def figures_file(fmt: str, unit: OrgUnit, start: date, end: date, figs: list[Figure], principal: Any) -> Response:
    header = [_("指标"), _("指标键"), _("数值"), _("分子"), _("分母"), _("目标值"), _("单位"), _("起始日"), _("截止日")]
    rows: list[Row] = [[f.name, f.key, *_cells(f), unit.name, start.isoformat(), end.isoformat()] for f in figs]  # type: ignore[list-item]
    _logged(principal, "kpis", fmt, len(rows), unit=unit.code, start=start.isoformat(), end=end.isoformat())
    return export_file(fmt, f"tongguan-kpis-{unit.code}-{start}-{end}", _("考核指标"), header, rows)


def ranking_file(fmt: str, ranked: dict[str, list[Any]], start: date, end: date, principal: Any, locale: str) -> Response:
    first = next((r for group in ranked.values() for r in group), None)
    names = [f.name for f in first.figures] if first else []
    header = [_("类别"), _("单位")] + [h for n in names for h in (n, f"{n} {_('目标值')}", f"{n} {_('上期')}")]
    rows: list[Row] = []
    for group, label_ in (("districts", _("区")), ("departments", _("部门"))):
        for r in ranked[group]:
            cells: list[Any] = [label_, r.unit.display_name(locale)]
            for now_, before in zip(r.figures, r.previous):
                cells += [value_text(now_), now_.target if now_.target is not None else "—", value_text(before)]
            rows.append(cells)
    _logged(principal, "kpi-ranking", fmt, len(rows), start=start.isoformat(), end=end.isoformat())
    return export_file(fmt, f"tongguan-kpi-ranking-{start}-{end}", _("单位排名"), header, rows)


def cases_file(fmt: str, f: Formula, part: str, unit: OrgUnit, start: date, end: date, ids: list[int],
               principal: Any, locale: str) -> Response:
    if len(ids) > EXPORT_MAX:
        raise ValidationFailed(_("共 {n} 条，超过导出上限 {max} 条：请先缩小筛选范围。", n=len(ids), max=EXPORT_MAX),
                               errors={"from": [f"at most {EXPORT_MAX} cases a file"]})
    from app.web.labels import category_label, label
    cases = list(session.scalars(select(Case).options(selectinload(Case.handling_unit)).where(Case.id.in_(ids))
                                 .order_by(Case.id))) if ids else []
    header = [_("工单编号"), _("标题"), _("状态"), _("来源渠道"), _("案件类别"), _("承办单位"), _("登记时间"), _("结案时间")]
    rows: list[Row] = [[c.number, c.title, label("status", c.status), label("channel", c.channel),
                        category_label(c.category_code) or "—",
                        c.handling_unit.display_name(locale) if c.handling_unit else "—",
                        _local(c.created_at), _local(c.closed_at)] for c in cases]
    _logged(principal, "kpi-cases", fmt, len(rows), unit=unit.code, key=f.key, part=part, start=start.isoformat(),
            end=end.isoformat())
    title = f"{f.name(locale)} {_('分子') if part == 'numerator' else _('分母')}"
    return export_file(fmt, f"tongguan-kpi-{f.key}-{part}-{unit.code}-{start}-{end}", title, header, rows)


def _local(moment: Any) -> str:
    from app.web.helpers import format_dt
    return format_dt(moment) if moment else "—"
