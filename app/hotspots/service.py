"""Who may see the hot spots of which unit, the request's parameters, and the export's table.

Shared by the API (``/api/v1/hotspots``), the page (``/cockpit/hotspots``) and the cockpit's panel.
"""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.core import clock
from app.core.auth import Principal
from app.core.errors import Forbidden, ValidationFailed
from app.core.i18n import gettext as _
from app.hotspots.queries import MAX_DAYS
from app.hotspots.snapshots import Listing, current
from app.orgs.directory import UnitInfo, directory

ROLES = ("leader", "supervisor", "admin")
DEFAULT_DAYS = 30
MAX_LIMIT = 100
FORMATS = ("csv", "xlsx")


class HotspotQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # a cache-busting parameter is no error

    unit = fields.String(load_default=None, validate=validate.Length(1, 64),
                         metadata={"description": "org-unit code (default: the caller's widest unit)"})
    days = fields.Integer(load_default=DEFAULT_DAYS, validate=validate.Range(1, MAX_DAYS),
                          metadata={"description": "the window: cases filed in the last so many days"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, MAX_LIMIT))
    format = fields.String(load_default=None, validate=validate.OneOf(FORMATS))


_SCHEMA = HotspotQuerySchema()


def parse_query(args: dict[str, str]) -> dict[str, Any]:
    try:
        return _SCHEMA.load(args)  # type: ignore[no-any-return]
    except ValidationError as exc:
        errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in exc.messages.items()}  # type: ignore[union-attr]
        raise ValidationFailed("invalid query", errors=errors) from None


def units_of(principal: Principal) -> list[UnitInfo]:
    """The units whose hot spots the user may see: those of their leader, supervisor and admin
    roles and every unit below them, widest first."""
    paths = [lo for _role, lo, _hi in (r for role in ROLES for r in principal.ranges(role))]
    units = [u for u in directory().by_code.values() if any(u.path.startswith(p) for p in paths)]
    return sorted(units, key=lambda u: (u.path.count("/"), u.path))


def resolve_unit(principal: Principal, code: str | None) -> UnitInfo:
    """The unit asked for (422 when unknown, 403 when outside the caller's roles), or the
    caller's widest one."""
    if not principal.has_role(*ROLES):
        raise Forbidden(_("热点问题仅对领导、督办员和管理员开放"))
    if code is None:
        return units_of(principal)[0]
    unit = directory().by_code.get(code)
    if unit is None:
        raise ValidationFailed("invalid query", errors={"unit": [f"no org unit {code!r}"]})
    if not principal.covers(ROLES, unit.path):
        raise Forbidden(_("该单位不在您的范围内"))
    return unit


def load(principal: Principal, args: dict[str, Any]) -> Listing:
    unit = resolve_unit(principal, args["unit"])
    return current(unit, args["days"], args["limit"], clock.now())


def answer(result: Listing, locale: str = "zh") -> dict[str, Any]:
    return {"unit": result.unit.code, "unit_name": result.unit.name_en or result.unit.name if locale == "en" else result.unit.name,
            "days": result.days, "from": result.since, "to": result.until, "cases": result.cases,
            "computed_at": result.computed_at, "hotspots": result.spots}


def export_table(result: Listing) -> tuple[str, list[str], list[list[str | int]]]:
    """Title, Chinese-first header and rows of an export: the same figures as the API."""
    from app.web.helpers import format_dt
    from app.web.labels import category_label
    header = [_("排名"), _("热度指数"), _("地点"), _("涉及人群"), _("问题类别"), _("描述"), _("关键词"), _("首次报告"),
              _("最近报告"), _("报告数"), _("案件数"), _("合并重复"), _("未解决"), _("返工"), _("案件编号")]
    rows: list[list[str | int]] = []
    for d in result.spots:
        category = d["category"]
        rows.append([d["rank"], f"{d['heat']:.2f}", d["place"] or "—", "、".join(d["people"]) or "—",
                     (category_label(category) or category) if category else "—", d["description"], " ".join(d["terms"]),
                     format_dt(d["first_at"]), format_dt(d["last_at"]), d["reports"], d["cases"], d["repeats"], d["open"],
                     d["reworked"], " ".join(str(i) for i in d["case_ids"])])
    return _("热点问题"), header, rows
