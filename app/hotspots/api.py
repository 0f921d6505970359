"""``GET /api/v1/hotspots``: the hot spots of a unit as data, CSV or Excel.

Taken with a bearer token, or from the leader's own pages with their session (the cockpit's
panel reads it every minute): a read, so no CSRF token is needed.
"""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields

from app.api.routes import _locale, bp
from app.core import audit
from app.core.auth import token_or_page_principal
from app.hotspots import service

OPERATION_IDS = {("get", "/api/v1/hotspots"): "listHotspots"}


@bp.get("/hotspots")
def list_hotspots() -> Any:
    principal = token_or_page_principal()
    args = service.parse_query(request.args.to_dict())
    result = service.load(principal, args)
    if args["format"]:
        from app.web.exports import export_file
        title, header, rows = service.export_table(result)
        audit.record("list_exported", actor=principal.user, list="hotspots", format=args["format"], rows=len(rows),
                     filters={"unit": result.unit.code, "days": result.days})
        return export_file(args["format"], f"tongguan-hotspots-{result.unit.code}", title, header, rows)
    return service.answer(result, _locale())


def openapi_paths(spec: Any, secured: list[dict[str, Any]], errors: dict[str, Any], resp: Any) -> None:
    spec.components.schema("HotspotList", schema=HotspotListSchema)
    spec.path("/api/v1/hotspots", operations={"get": {
        "summary": "热点问题: the recurring problems of a unit's places, hottest first (leaders, supervisors, admins)",
        "description": "Cases filed in the last `days` days whose grid or handling unit is the unit or below it, "
                       "grouped by place and problem and ranked by the heat index of docs/hotspots.md. "
                       "`format=csv|xlsx` gives the same figures as a file with Chinese headers.",
        "security": secured,
        "parameters": [
            {"name": "unit", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 64},
             "description": "org-unit code (default: the caller's widest unit)"},
            {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": service.MAX_DAYS}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": service.MAX_LIMIT}},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(service.FORMATS)}}],
        "responses": {"200": {"description": "the hot spots", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HotspotList"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}},
            "422": resp("invalid query, or an unknown unit", "Error"), **errors}}})


# ---------------------------------------------------------------------------- the answer's shape

class HotspotSchema(Schema):
    rank = fields.Integer()
    heat = fields.Float(metadata={"description": "the heat index (docs/hotspots.md)"})
    place = fields.String(metadata={"description": "the named place, grid unit or key word; empty for a map cell"})
    category = fields.String(allow_none=True)
    people = fields.List(fields.String(), metadata={"description": "the groups concerned (业主, 家长, …)"})
    description = fields.String(metadata={"description": "the most representative title"})
    terms = fields.List(fields.String())
    first_at = fields.DateTime()
    last_at = fields.DateTime()
    reports = fields.Integer(metadata={"description": "cases and the repeats merged into them"})
    cases = fields.Integer()
    repeats = fields.Integer()
    reporters = fields.Integer()
    open = fields.Integer()
    reworked = fields.Integer()
    unsolved_share = fields.Float()
    rework_share = fields.Float()
    volume = fields.Float()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    case_ids = fields.List(fields.Integer())


class HotspotListSchema(Schema):
    unit = fields.String()
    unit_name = fields.String()
    days = fields.Integer()
    from_ = fields.DateTime(data_key="from")
    to = fields.DateTime()
    cases = fields.Integer(metadata={"description": "cases of the window read"})
    computed_at = fields.DateTime(metadata={"description": "when this list was computed: a list is served to "
                                                           "everyone for HOTSPOT_MAX_AGE seconds (docs/hotspots.md)"})
    hotspots = fields.List(fields.Nested(HotspotSchema))
