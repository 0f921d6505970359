"""Maps in the browser: the city's boundaries (GeoJSON for Leaflet) and the open cases near a point
(JSON, for the report pages' map), plus the options every map on a page is drawn with.

The pages keep their latitude/longitude inputs: the map (``app/static/src/map.js``, bundled into
``app/static/vendor/``) only fills them in, so the forms work without JavaScript.
"""
from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for

from app.core.auth import Principal, web_principal
from app.core.i18n import get_locale, gettext as _
from app.maps.queries import (DEFAULT_LIMIT, DEFAULT_RADIUS_M, MAX_LIMIT, MAX_RADIUS_M, Nearby, boundary_collection,
                              nearby_open_cases)
from app.orgs.directory import directory
from app.web.labels import category_label, label

bp = Blueprint("maps", __name__)

VIEWS = ("staff", "public")


def _not_logged_in() -> Any:
    return jsonify({"error": "unauthorized", "message": _("请先登录")}), 401


@bp.get("/map/boundaries")
def boundaries() -> Any:
    """The city's boundaries as GeoJSON (any logged-in user: they are the map's background)."""
    if web_principal() is None:
        return _not_logged_in()
    response = jsonify(boundary_collection(get_locale()))
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/map/nearby")
def nearby() -> Any:
    """Open cases near ``lat``/``lng`` within ``radius`` metres (default 500, at most 3000), at most
    ``limit`` (default 50, at most 100), nearest first. ``view=staff`` (default): the cases the user
    may see, scoped by their units, with a link; ``view=public``: the cases the city publishes
    (the Open311 public channels), public fields only, never who reported them."""
    principal = web_principal()
    if principal is None:
        return _not_logged_in()
    args, errors = _nearby_args(request.args)
    if errors:
        return jsonify({"error": "bad_request", "message": _("查询参数有误"), "errors": errors}), 400
    public = args["view"] == "public"
    found = nearby_open_cases(principal, args["lat"], args["lng"], args["radius"], args["limit"], public)
    return jsonify({"view": args["view"], "radius": args["radius"], "limit": args["limit"],
                    "items": [_public_item(n) if public else _staff_item(n, principal) for n in found]})


def _number(args: Any, name: str, low: float, high: float, errors: dict[str, list[str]],
            default: float | None = None, integer: bool = False) -> float | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        if default is None:
            errors[name] = [_("必填")]
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not low <= value <= high:
        errors[name] = [_("应为 {low} 到 {high} 之间的整数", low=_fmt(low), high=_fmt(high)) if integer
                        else _("应为 {low} 到 {high} 之间的数", low=_fmt(low), high=_fmt(high))]
        return default
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _nearby_args(args: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "lat": _number(args, "lat", -90, 90, errors),
        "lng": _number(args, "lng", -180, 180, errors),
        "radius": _number(args, "radius", 1, MAX_RADIUS_M, errors, DEFAULT_RADIUS_M, integer=True),
        "limit": _number(args, "limit", 1, MAX_LIMIT, errors, DEFAULT_LIMIT, integer=True),
        "view": args.get("view") or "staff",
    }
    if values["view"] not in VIEWS:
        errors["view"] = [_("应为 staff 或 public")]
    return values, errors


def _public_item(n: Nearby) -> dict[str, Any]:
    """What anyone may know of a published case: no reporter, no description, no internal link."""
    c = n.case
    return {"number": c.number, "title": c.title, "category": category_label(c.category_code),
            "stage": label("stage", c.stage) if c.stage else None, "created_at": c.created_at.isoformat(),
            "lat": round(c.lat or 0, 5), "lng": round(c.lng or 0, 5), "distance_m": round(n.distance_m)}


def _staff_item(n: Nearby, principal: Principal) -> dict[str, Any]:
    """A case in the user's scope, with the link to its page (the reporter stays on that page)."""
    c = n.case
    return {**_public_item(n), "id": c.id, "url": url_for("cases.show", case_id=c.id),
            "urgency": c.urgency, "lat": c.lat, "lng": c.lng}


# ---------------------------------------------------------------------------- options of a page's map

def map_options(mode: str, *, nearby_view: str | None = None, point: tuple[float, float] | None = None,
                focus: tuple[float | None, float | None] | None = None) -> dict[str, Any]:
    """What ``map.js`` draws a map with: ``mode`` ``pick`` (click or drag sets the form's lat/lng) or
    ``show`` (one point); the boundaries, the tile server if any, where to centre (``focus``: a place
    to start from, such as the grid worker's community), the texts."""
    settings = current_app.config["SETTINGS"]
    units = directory()
    city = next((u for u in units.by_code.values() if u.kind == "city" and u.lat is not None), None)
    area = units.area(1.0)  # a kilometre around the units: never a box of zero size
    center = [city.lat, city.lng] if city else \
        [(area.south + area.north) / 2, (area.west + area.east) / 2] if area else [0.0, 0.0]
    options: dict[str, Any] = {
        "mode": mode, "boundaries": url_for("maps.boundaries"), "center": center,
        "bounds": [[area.south, area.west], [area.north, area.east]] if area else None,
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION,
                  "maxZoom": settings.MAP_TILE_MAX_ZOOM} if settings.MAP_TILE_URL else None,
        "texts": {
            "schematic": _("示意边界（演示数据，非真实地理）"),
            "pick": _("点击地图或拖动标记选择位置；也可直接填写经纬度"),
            "picked": _("已在地图上选定位置：{lat}, {lng}"),
            "nearby": _("附近 {n} 个未结案件（{radius} 米内）"),
            "nearbyNone": _("附近 {radius} 米内没有未结案件"),
            "nearbyFailed": _("附近案件暂时无法加载"),
            "distance": _("距此 {m} 米"),
            "open": _("查看案件"),
            "here": _("问题位置"),
            "map": _("地图"),
        },
    }
    if point is not None:
        options["point"] = list(point)
    if focus is not None and focus[0] is not None and focus[1] is not None:
        options["focus"] = list(focus)
    if nearby_view is not None:
        options["nearby"] = url_for("maps.nearby", view=nearby_view)
        options["radius"] = DEFAULT_RADIUS_M
        options["maxRadius"] = MAX_RADIUS_M
    return options
