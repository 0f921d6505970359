"""The cockpit page (``/cockpit``) and the figures as the page and ``GET /api/v1/cockpit`` show
them: names in the user's language and, for every figure, the link to the cases behind it.

The page draws the same data the API gives (``app/static/src/cockpit.js`` with ECharts, bundled
into ``app/static/vendor/``) and asks the API again every :data:`REFRESH_SECONDS` while the tab is
visible. ``?wall=1`` is the wall-screen mode: dark, large type, no navigation.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request, url_for

from app.cases.models import TIERS
from app.cockpit.queries import PERIODS, figures
from app.cockpit.scope import COCKPIT_ROLES, can_view_unit, cockpit_units, units_below
from app.core import clock
from app.core.auth import Principal
from app.core.db import session as db
from app.core.errors import Forbidden, ValidationFailed
from app.core.i18n import get_locale, gettext as _
from app.orgs.directory import UnitInfo, directory
from app.orgs.models import OrgUnit
from app.orgs.tree import unit_tree
from app.web.helpers import current_principal, role_required
from app.web.labels import category_label, label

bp = Blueprint("cockpit", __name__)

REFRESH_SECONDS = 45
LIGHT_KEYS = ("red", "yellow", "green", "none")


def choose(principal: Principal, unit_code: str | None, period: str | None) -> tuple[UnitInfo, str]:
    """The unit and period asked for (default: the user's highest cockpit unit, today); 422 names
    a bad parameter, 403 a unit outside the user's cockpit roles."""
    errors: dict[str, list[str]] = {}
    mine = cockpit_units(principal)
    if not mine:
        raise Forbidden(_("驾驶舱仅供领导、督办员和管理员使用"))
    unit = mine[0]
    if unit_code:
        found = directory().by_code.get(unit_code)
        if found is None:
            errors["unit"] = [_("没有编码为 {code} 的单位", code=unit_code[:64])]
        else:
            unit = found
    period = period or "today"
    if period not in PERIODS:
        errors["period"] = [_("应为 {values} 之一", values=", ".join(PERIODS))]
    if errors:
        raise ValidationFailed(_("查询参数有误"), errors=errors)
    if not can_view_unit(principal, unit):
        raise Forbidden(_("该单位不在您的驾驶舱范围内"))
    return unit, period


def _unit_name(unit: UnitInfo) -> str:
    return (unit.name_en or unit.name) if get_locale() == "en" else unit.name


def _iso(day: date) -> str:
    return day.isoformat()


def present(unit: UnitInfo, period: str) -> dict[str, Any]:
    """The cockpit's figures for the page and the API: each with its name and its list of cases."""
    data = figures(unit, period, clock.now())
    first, last = _iso(data["from"]), _iso(data["to"])

    def cases(**filters: Any) -> str:
        return url_for("cases.index", unit=unit.code, **{k: v for k, v in filters.items() if v is not None})

    received = {"created_from": first, "created_to": last}
    opened = {"status": "open"}
    o = data["open"]
    return {
        "unit": {"code": unit.code, "name": _unit_name(unit), "kind": unit.kind},
        "period": period, "from": first, "to": last, "as_of": data["as_of"].isoformat(),
        "received": {
            "total": data["received"]["total"], "url": cases(**received),
            "by_channel": [{"key": c["key"], "name": label("channel", c["key"]), "count": c["count"],
                            "url": cases(**received, channel=c["key"])} for c in data["received"]["by_channel"]],
        },
        "closed": {"total": data["closed"], "url": cases(status="closed", closed_from=first, closed_to=last)},
        "open": {
            "total": o["total"], "url": cases(**opened),
            "by_light": [{"key": k, "name": label("light", k), "count": o["by_light"][k],
                          "url": cases(**opened, light=k)} for k in LIGHT_KEYS],
            "by_tier": [{"key": k, "name": label("tier", k), "count": o["by_tier"][k],
                         "url": cases(**opened, tier=k)} for k in (*TIERS, "none")],
            "escalated": {"count": o["escalated"], "url": cases(escalated=1)},
            "parked": {"count": o["parked"], "url": cases(parked=1)},
            "overdue": {"count": o["overdue"], "url": cases(**opened, light="red")},
        },
        "top_categories": [{"key": c["key"], "name": category_label(c["key"]), "count": c["count"],
                            "url": cases(**received, category=c["key"])} for c in data["top_categories"]],
        "trend": [{"day": _iso(t["day"]), "received": t["received"], "closed": t["closed"],
                   "received_url": cases(created_from=_iso(t["day"]), created_to=_iso(t["day"])),
                   "closed_url": cases(status="closed", closed_from=_iso(t["day"]), closed_to=_iso(t["day"]))}
                  for t in data["trend"]],
    }


def table_rows(data: dict[str, Any]) -> list[list[str | int]]:
    """The cockpit's tables as rows of (table, item, count) for CSV and Excel."""
    rows: list[list[str | int]] = [[_("受理"), _("合计"), data["received"]["total"]]]
    rows += [[_("受理 · 按来源渠道"), c["name"], c["count"]] for c in data["received"]["by_channel"]]
    rows.append([_("结案"), _("合计"), data["closed"]["total"]])
    o = data["open"]
    rows.append([_("在办"), _("合计"), o["total"]])
    rows += [[_("在办 · 按亮灯"), x["name"], x["count"]] for x in o["by_light"]]
    rows += [[_("在办 · 按层级"), x["name"], x["count"]] for x in o["by_tier"]]
    rows += [[_("在办"), _("已升级或督办"), o["escalated"]["count"]], [_("在办"), _("已挂账"), o["parked"]["count"]],
             [_("在办"), _("超期"), o["overdue"]["count"]]]
    rows += [[_("高发类别"), c["name"], c["count"]] for c in data["top_categories"]]
    rows += [[_("近 30 天 · 每日受理"), t["day"], t["received"]] for t in data["trend"]]
    rows += [[_("近 30 天 · 每日结案"), t["day"], t["closed"]] for t in data["trend"]]
    return rows


def export(data: dict[str, Any], fmt: str, principal: Principal) -> Any:
    """The cockpit's tables as a CSV or Excel file (Chinese headers), an audit event like every export."""
    from app.core import audit
    from app.web.exports import export_file
    audit.record("list_exported", actor=principal.user, list="cockpit", format=fmt,
                 rows=len(table_rows(data)), filters={"unit": data["unit"]["code"], "period": data["period"]})
    title = _("驾驶舱 {unit} {first} 至 {last}", unit=data["unit"]["name"], first=data["from"], last=data["to"])
    return export_file(fmt, f"tongguan-cockpit-{data['unit']['code']}-{data['period']}", title[:31],
                 [_("栏目"), _("项目"), _("数量")], table_rows(data))


def unit_choices(principal: Principal) -> list[Any]:
    """The picker: the user's cockpit units and the units below them, communities left out
    (unless the user's own unit is one)."""
    codes: list[str] = []
    by_id = directory().by_id
    for top in cockpit_units(principal):
        codes.append(top.code)
        codes += [by_id[i].code for i in units_below(top) if by_id[i].kind != "community" and i != top.id]
    return unit_tree(codes, directory(), get_locale())


@bp.get("/cockpit")
@role_required(*COCKPIT_ROLES)
def index() -> Any:
    principal = current_principal()
    unit, period = choose(principal, request.args.get("unit") or None, request.args.get("period") or None)
    wall = request.args.get("wall") == "1"
    data = present(unit, period)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        return export(data, fmt, principal)
    api = url_for("api.cockpit", unit=unit.code, period=period)
    return render_template("cockpit/cockpit.html", data=data, wall=wall, cockpit_unit=db.get(OrgUnit, unit.id),
                           cockpit_period=period,
                           periods=PERIODS, groups=unit_choices(principal), refresh_seconds=REFRESH_SECONDS,
                           api_url=api)
