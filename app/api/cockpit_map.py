"""/api/v1/cockpit/map: the cockpit map's data for the visible area, clustered on the server
(app.maps.cockpit), and /api/v1/cockpit/map/cases: the cases behind a cluster or a heat cell.

For a bearer token (clients) or the browser session of the cockpit's pages (the map's script);
``leader``, ``supervisor`` and ``admin`` over the unit, 403 otherwise. Reads only.
"""
from __future__ import annotations

import math
from typing import Any

from apispec import APISpec
from flask import request, url_for
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.api.routes import _flatten, bp
from app.core.errors import ValidationFailed
from app.core.i18n import get_locale
from app.core.auth import token_or_page_principal
from app.maps import cockpit as cm
from app.orgs.directory import UnitInfo
from app.web.labels import label


class BBoxField(fields.Field):
    """``south,west,north,east`` in WGS84 degrees, as Leaflet's ``getBounds().toBBoxString()`` gives
    west,south,east,north — note the order here: latitudes first, as the rest of the API."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> cm.BBox:
        parts = str(value).split(",")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            raise ValidationError("须为 4 个数：南,西,北,东 / must be four numbers: south,west,north,east")
        south, west, north, east = numbers
        if not (-90 <= south < north <= 90):
            raise ValidationError("纬度须在 −90 到 90 之间且南 < 北 / latitudes must lie in −90…90 with south < north")
        if not (-180 <= west < east <= 180):
            raise ValidationError("经度须在 −180 到 180 之间且西 < 东 / longitudes must lie in −180…180 with west < east")
        return cm.BBox(south, west, north, east)


class _AreaQuery(Schema):
    class Meta:
        unknown = EXCLUDE  # a cache-busting parameter is no error

    unit = fields.String(load_default=None, validate=validate.Length(1, 50),
                         metadata={"description": "org unit code (default: the caller's highest cockpit unit)"})
    bbox = BBoxField(required=True, metadata={"description": "south,west,north,east (WGS84 degrees)"})
    layer = fields.String(load_default="open", validate=validate.OneOf(cm.LAYERS))
    days = fields.Integer(load_default=cm.DEFAULT_DAYS, validate=validate.Range(1, cm.MAX_DAYS),
                          metadata={"description": "layer recent: the cases that came in during the last days"})


class CockpitMapQuerySchema(_AreaQuery):
    zoom = fields.Integer(required=True, validate=validate.Range(cm.MIN_ZOOM, cm.MAX_ZOOM))

    @validates_schema
    def _not_too_large(self, data: dict[str, Any], **kwargs: Any) -> None:
        box, zoom = data.get("bbox"), data.get("zoom")
        if box is None or zoom is None:
            return
        grid = cm.Grid.at(zoom, (box.south + box.north) / 2)
        if (box.north - box.south) / grid.lat > cm.MAX_CELLS_ACROSS or (box.east - box.west) / grid.lng > cm.MAX_CELLS_ACROSS:
            raise ValidationError(f"区域对缩放级别 {zoom} 过大 / the area is too large for zoom {zoom}: "
                                  f"at most {cm.MAX_CELLS_ACROSS} cells (of {grid.lat:.6f}° × {grid.lng:.6f}°) across",
                                  field_name="bbox")


class CockpitMapCasesQuerySchema(_AreaQuery):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    per_page = fields.Integer(load_default=cm.PAGE_SIZE, validate=validate.Range(1, cm.MAX_PAGE_SIZE))


class LightCountsSchema(Schema):
    green = fields.Integer()
    yellow = fields.Integer()
    red = fields.Integer()
    none = fields.Integer(metadata={"description": "open cases without a deadline"})


class MapUnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()


class MapClusterSchema(Schema):
    lat = fields.Float(metadata={"description": "the mean place of its cases"})
    lng = fields.Float()
    count = fields.Integer()
    lights = fields.Nested(LightCountsSchema)
    parked = fields.Integer(metadata={"description": "挂账: how many of them are parked"})
    bbox = fields.List(fields.Float(), metadata={"description": "the cell: south, west, north, east (for /cockpit/map/cases)"})


class MapPointSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    lat = fields.Float()
    lng = fields.Float()
    light = fields.String(allow_none=True, metadata={"description": "green, yellow, red; null without a deadline"})
    parked = fields.Boolean()
    urgency = fields.String()
    url = fields.String(metadata={"description": "the case's page"})


class HeatCellSchema(Schema):
    lat = fields.Float()
    lng = fields.Float()
    count = fields.Integer()


class CockpitMapSchema(Schema):
    unit = fields.Nested(MapUnitSchema)
    layer = fields.String()
    zoom = fields.Integer()
    bbox = fields.List(fields.Float())
    cell = fields.List(fields.Float(), metadata={"description": "a cell's height and width in degrees"})
    total = fields.Integer(metadata={"description": "cases in view"})
    lights = fields.Nested(LightCountsSchema, metadata={"description": "layer open"})
    parked = fields.Integer(metadata={"description": "layer open"})
    clusters = fields.List(fields.Nested(MapClusterSchema), metadata={"description": "layer open: cells of many cases"})
    points = fields.List(fields.Nested(MapPointSchema), metadata={"description": "layer open: cases of cells of few"})
    days = fields.Integer(metadata={"description": "layer recent"})
    max = fields.Integer(metadata={"description": "layer recent: the largest cell"})
    cells = fields.List(fields.Nested(HeatCellSchema), metadata={"description": "layer recent: the heat's weights"})


class MapCaseSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    status = fields.String()
    stage = fields.String(allow_none=True)
    light = fields.String(allow_none=True)
    parked = fields.Boolean()
    created_at = fields.DateTime()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    url = fields.String()


class CockpitMapCasesSchema(Schema):
    unit = fields.Nested(MapUnitSchema)
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(MapCaseSchema))


def _args(schema: Schema) -> dict[str, Any]:
    try:
        return schema.load(request.args.to_dict())  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationFailed("invalid query", errors=_flatten(exc.messages)) from None


def _unit(u: UnitInfo) -> dict[str, Any]:
    return {"code": u.code, "name": u.name_en if get_locale() == "en" and u.name_en else u.name, "kind": u.kind}


def _box(b: cm.BBox) -> list[float]:
    return [round(b.south, 7), round(b.west, 7), round(b.north, 7), round(b.east, 7)]


@bp.get("/cockpit/map")
def cockpit_map() -> Any:
    principal = token_or_page_principal()
    args = _args(CockpitMapQuerySchema())
    unit = cm.cockpit_unit(principal, args["unit"])
    box, zoom = args["bbox"], args["zoom"]
    head = {"unit": _unit(unit), "layer": args["layer"], "zoom": zoom, "bbox": _box(box)}
    if args["layer"] == "recent":
        heat = cm.heat_map(unit, box, zoom, args["days"])
        return {**head, "cell": [heat.grid.lat, heat.grid.lng], "days": heat.days, "total": heat.total,
                "max": max((c[2] for c in heat.cells), default=0),
                "cells": [{"lat": lat, "lng": lng, "count": n} for lat, lng, n in heat.cells]}
    found = cm.open_map(unit, box, zoom)
    return {**head, "cell": [found.grid.lat, found.grid.lng], "total": found.total, "lights": found.lights,
            "parked": found.parked,
            "clusters": [{"lat": round(c.lat, 6), "lng": round(c.lng, 6), "count": c.count, "lights": c.lights,
                          "parked": c.parked, "bbox": _box(c.bbox)} for c in found.clusters],
            "points": [{"id": p.id, "number": p.number, "title": p.title, "lat": p.lat, "lng": p.lng,
                        "light": p.light, "parked": p.parked, "urgency": p.urgency,
                        "url": url_for("cases.show", case_id=p.id)} for p in found.points]}


@bp.get("/cockpit/map/cases")
def cockpit_map_cases() -> Any:
    from app.web.helpers import case_light
    principal = token_or_page_principal()
    args = _args(CockpitMapCasesQuerySchema())
    unit = cm.cockpit_unit(principal, args["unit"])
    rows, total = cm.cases_in(unit, args["bbox"], args["layer"], args["days"], args["page"], args["per_page"])
    return {"unit": _unit(unit), "total": total, "page": args["page"], "per_page": args["per_page"],
            "items": [{"id": c.id, "number": c.number, "title": c.title, "status": c.status,
                       "stage": label("stage", c.stage) if c.stage else None, "light": case_light(c),
                       "parked": c.parked_at is not None, "created_at": c.created_at.isoformat(),
                       "lat": c.lat, "lng": c.lng, "url": url_for("cases.show", case_id=c.id)} for c in rows]}


# ---------------------------------------------------------------------------- OpenAPI

OPERATION_IDS = {("get", "/api/v1/cockpit/map"): "getCockpitMap",
                 ("get", "/api/v1/cockpit/map/cases"): "listCockpitMapCases"}


def _parameters(schema: Schema) -> list[dict[str, Any]]:
    out = []
    for name, f in schema.fields.items():
        p: dict[str, Any] = {"name": name, "in": "query", "required": f.required}
        if isinstance(f, fields.Integer):
            r = next(v for v in f.validators if isinstance(v, validate.Range))
            p["schema"] = {"type": "integer", "minimum": r.min, "maximum": r.max}
        elif isinstance(f, BBoxField):
            p["schema"] = {"type": "string", "pattern": r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$",
                           "example": "31.15,121.35,31.30,121.55"}
        elif name == "layer":
            p["schema"] = {"type": "string", "enum": list(cm.LAYERS)}
        else:
            p["schema"] = {"type": "string", "minLength": 1, "maxLength": 50}
        if f.metadata.get("description"):
            p["description"] = f.metadata["description"]
        out.append(p)
    return out


def openapi_paths(spec: APISpec, secured: list[dict[str, Any]], errors: dict[str, Any], resp: Any) -> None:
    for name, schema in (("CockpitMap", CockpitMapSchema), ("CockpitMapCases", CockpitMapCasesSchema)):
        spec.components.schema(name, schema=schema)
    forbidden = {**errors, "403": resp("not a leader, supervisor or administrator over the unit", "Error")}
    del forbidden["404"]
    spec.path("/api/v1/cockpit/map", operations={"get": {
        "summary": "The cockpit map: the unit's cases in the visible area, clustered on the server",
        "description": "The area is cut into cells of about 64 pixels at `zoom` (4 × 4 per 256-pixel tile). "
                       "`layer=open`: the open cases per cell (count, centre, counts by light, parked); a cell "
                       f"of at most {cm.POINT_MAX} cases gives its cases as `points` instead. `layer=recent`: the "
                       "cases of any status that came in during the last `days` days, counted per half cell "
                       "(the heat layer's weights). A case counts when its grid unit or its handling unit is the "
                       f"unit or below it. A bbox more than {cm.MAX_CELLS_ACROSS} cells across is refused (422).",
        "security": secured, "parameters": _parameters(CockpitMapQuerySchema()),
        "responses": {"200": resp("clusters and points, or heat cells", "CockpitMap"),
                      "422": resp("invalid query (field errors), or an unknown unit", "Error"), **forbidden}}})
    spec.path("/api/v1/cockpit/map/cases", operations={"get": {
        "summary": "The cases behind a cluster or heat cell of the cockpit map (a bbox), newest first, by page",
        "security": secured, "parameters": _parameters(CockpitMapCasesQuerySchema()),
        "responses": {"200": resp("a page of cases", "CockpitMapCases"),
                      "422": resp("invalid query (field errors), or an unknown unit", "Error"), **forbidden}}})
