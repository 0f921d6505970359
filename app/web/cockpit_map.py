"""The cockpit's map in the browser: the full-screen page ``/cockpit/map`` (wall screens) and the
options of the partial ``cockpit/_map.html`` that the cockpit page includes.

The map (``app/static/src/cockpit-map.js``) asks ``/api/v1/cockpit/map`` for the visible area on
every move (debounced) and every minute; the clusters and the heat are counted by the server
(app.maps.cockpit). Only leaders, supervisors and administrators over the unit see it.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for

from app.core.geo import Area
from app.core.i18n import get_locale, gettext as _
from app.maps import cockpit as cm
from app.orgs.directory import directory
from app.web.helpers import current_principal, role_required
from app.web.labels import label

bp = Blueprint("cockpit_map", __name__)

REFRESH_SECONDS = 60


def _unit_bounds(code: str) -> list[list[float]] | None:
    """Where the map of a unit starts: its units' centres with a kilometre around (a department has
    no place of its own: the whole city then)."""
    units = directory()
    unit = units.by_code.get(code)
    points = [(u.lat, u.lng) for u in units.by_code.values()
              if unit is not None and u.path.startswith(unit.path) and u.lat is not None and u.lng is not None]
    area = Area.around(points, 1.0) if points else units.area(1.0)  # type: ignore[arg-type]
    return [[area.south, area.west], [area.north, area.east]] if area else None


@bp.app_template_global("cockpit_map_options")
def cockpit_map_options(unit: Any, wall: bool = False) -> dict[str, Any]:
    """What ``cockpit-map.js`` draws the map of ``unit`` (an OrgUnit or UnitInfo) with."""
    settings = current_app.config["SETTINGS"]
    return {
        "unit": unit.code, "wall": bool(wall), "refresh": REFRESH_SECONDS,
        "data": url_for("api.cockpit_map"), "cases": url_for("api.cockpit_map_cases"),
        "boundaries": url_for("maps.boundaries"), "bounds": _unit_bounds(unit.code),
        "minZoom": cm.MIN_ZOOM, "maxZoom": min(cm.MAX_ZOOM, settings.MAP_TILE_MAX_ZOOM if settings.MAP_TILE_URL else 19),
        "days": cm.DEFAULT_DAYS, "maxCellsAcross": cm.MAX_CELLS_ACROSS,
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION,
                  "maxZoom": settings.MAP_TILE_MAX_ZOOM} if settings.MAP_TILE_URL else None,
        "texts": {
            "schematic": _("示意边界（演示数据，非真实地理）"),
            "lights": {"green": label("light", "green"), "yellow": label("light", "yellow"),
                       "red": label("light", "red"), "none": _("无时限")},
            "parked": _("挂账"),
            "cluster": _("{n} 件未结案件"),
            "inView": _("视野内 {n} 件未结案件"),
            "inViewHeat": _("视野内近 {days} 天 {n} 件案件"),
            "updated": _("更新于 {time}"),
            "failed": _("地图数据暂时无法加载，稍后自动重试"),
            "tooLarge": _("区域过大：请放大地图"),
            "casesTitle": _("此处的案件（共 {n} 件）"),
            "casesNone": _("此处没有案件"),
            "more": _("更多"),
            "close": _("关闭"),
            "loading": _("加载中…"),
            "urgent": _("紧急"),
        },
    }


@bp.get("/cockpit/map")
@role_required(*cm.COCKPIT_ROLES)
def page() -> Any:
    """The map alone, filling the screen: ``unit=`` (default: the user's highest cockpit unit),
    ``wall=1`` for the dark wall-screen theme."""
    unit = cm.cockpit_unit(current_principal(), request.args.get("unit") or None)
    wall = request.args.get("wall") == "1"
    name = unit.name_en if get_locale() == "en" and unit.name_en else unit.name
    return render_template("cockpit/map.html", cockpit_unit=unit, wall=wall, unit_name=name)
