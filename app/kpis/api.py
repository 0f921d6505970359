"""/api/v1/kpis and /api/v1/kpis/cases: a unit's KPIs over a period and the cases behind a figure.

Both answer JSON, or with ``format=csv|xlsx`` a file with Chinese headers (app.web.exports).
Roles ``leader``, ``supervisor`` and ``admin`` over the unit (a unit includes everything below
it); 403 otherwise; 422 with field errors for bad parameters.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from apispec import APISpec
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.routes import _locale, _query, _schema, _visible_case, bp
from app.core.auth import api_principal
from app.core.errors import ValidationFailed
from app.kpis import service
from app.kpis.active import active_formulas

FORMATS = ("csv", "xlsx")
MAX_CASE_IDS = 10_000


class KpiQuerySchema(Schema):
    unit = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                         metadata={"description": "org unit code (default: the caller's highest unit)"})
    from_ = fields.Date(data_key="from", load_default=None, metadata={"description": "first local day (Asia/Shanghai)"})
    to = fields.Date(load_default=None, metadata={"description": "last local day, inclusive"})
    period = fields.String(load_default=None, validate=validate.OneOf(service.PERIODS),
                           metadata={"description": "instead of from/to: the day/week/month/quarter/year holding `date`"})
    date_ = fields.Date(data_key="date", load_default=None, metadata={"description": "the day `period` is taken around (default today)"})
    format = fields.String(load_default=None, validate=validate.OneOf(FORMATS))

    @validates_schema
    def _period(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("period") and (data.get("from_") or data.get("to")):
            raise ValidationError("give either period or from/to", "period")
        if (data.get("from_") is None) != (data.get("to") is None):
            raise ValidationError("give both from and to", "to" if data.get("from_") else "from")
        start, end = data.get("from_"), data.get("to")
        if start and end:
            if end < start:
                raise ValidationError("must not be before from", "to")
            if (end - start).days + 1 > service.MAX_DAYS:
                raise ValidationError(f"at most {service.MAX_DAYS} days", "to")


class KpiCasesQuerySchema(KpiQuerySchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={"description": "the KPI's key"})
    part = fields.String(load_default="numerator", validate=validate.OneOf(("numerator", "denominator")))


class KpiFigureSchema(Schema):
    key = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "rate (0–1), hours or ratio"})
    direction = fields.String(metadata={"description": "higher or lower is better"})
    value = fields.Float(allow_none=True, metadata={"description": "null when the denominator is 0"})
    numerator = fields.Float()
    denominator = fields.Float()
    target = fields.Float(allow_none=True)
    meets_target = fields.Boolean(allow_none=True)


class KpisSchema(Schema):
    unit = fields.String()
    unit_name = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    kpis = fields.List(fields.Nested(KpiFigureSchema))


class KpiCasesSchema(Schema):
    unit = fields.String()
    key = fields.String()
    part = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    count = fields.Integer()
    case_ids = fields.List(fields.Integer())


def _period(args: dict[str, Any]) -> tuple[date, date]:
    if args.get("from_"):
        return args["from_"], args["to"]
    return service.period_bounds(args.get("period") or "month", args.get("date_"))


@bp.get("/kpis")
def kpis() -> Any:
    """Every KPI of a unit (with everything below it) over a period of local days."""
    args = _query(_schema(KpiQuerySchema))
    principal = api_principal()
    unit = service.visible_unit(principal, args["unit"])
    start, end = _period(args)
    locale = _locale()
    figs = service.unit_figures(unit, start, end, locale)
    if args["format"]:
        from app.kpis.exports import figures_file
        return figures_file(args["format"], unit, start, end, figs, principal)
    return service.figures_dict(unit, start, end, figs, locale)


@bp.get("/kpis/cases")
def kpi_cases() -> Any:
    """The ids of the cases counted in a figure's numerator or denominator."""
    args = _query(_schema(KpiCasesQuerySchema))
    principal = api_principal()
    unit = service.visible_unit(principal, args["unit"])
    f = service.formula(args["key"])
    if f is None:
        raise ValidationFailed("invalid query", errors={"key": [f"no KPI {args['key']!r}; known: "
                                                               f"{', '.join(x.key for x in active_formulas())}"]})
    start, end = _period(args)
    ids = service.figure_cases(f, args["part"], unit, start, end)
    if args["format"]:
        from app.kpis.exports import cases_file
        return cases_file(args["format"], f, args["part"], unit, start, end, ids, principal, _locale())
    return {"unit": unit.code, "key": f.key, "part": args["part"], "from": start.isoformat(), "to": end.isoformat(),
            "count": len(ids), "case_ids": ids[:MAX_CASE_IDS]}


@bp.get("/cases/<id:case_id>/evaluation")
def case_evaluation(case_id: int) -> Any:
    """Why the case counts: its KPI facts, each with its day, responsible unit and evidence."""
    from app.kpis.evaluation import case_evaluation as evaluation
    case = _visible_case(case_id)
    return {"case_id": case.id, "facts": evaluation(case.id, _locale())}


class EvidenceSchema(Schema):
    key = fields.String()
    label = fields.String()
    value = fields.Raw(metadata={"description": "a local time (YYYY-MM-DD HH:MM), a number or a case id"})


class CaseFactSchema(Schema):
    fact = fields.String(metadata={"description": "a fact of docs/kpis.md"})
    label = fields.String()
    day = fields.Date(metadata={"description": "the local day it counts on"})
    unit = fields.String(allow_none=True, metadata={"description": "the responsible unit's code"})
    unit_name = fields.String()
    value = fields.Float(allow_none=True, metadata={"description": "working minutes (handling_minutes only)"})
    evidence = fields.List(fields.Nested(EvidenceSchema))


class CaseEvaluationSchema(Schema):
    case_id = fields.Integer()
    facts = fields.List(fields.Nested(CaseFactSchema))


OPERATION_IDS = {("get", "/api/v1/kpis"): "getKpis", ("get", "/api/v1/kpis/cases"): "getKpiCases",
                 ("get", "/api/v1/cases/{case_id}/evaluation"): "getCaseEvaluation"}


def openapi_paths(spec: APISpec, secured: list[dict[str, Any]], resp: Any, errors: dict[str, Any],
                  case_id: dict[str, Any]) -> None:
    """The KPI operations in the API description (app/api/openapi.py calls it)."""
    spec.components.schema("Kpis", schema=KpisSchema)
    spec.components.schema("CaseEvaluation", schema=CaseEvaluationSchema)
    spec.components.schema("KpiCases", schema=KpiCasesSchema)
    files = {"text/csv": {"schema": {"type": "string"}},
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}
    scoped = {**errors, "403": resp("not a leader, supervisor or administrator over the unit", "Error"),
              "422": resp("invalid parameters (field errors)", "Error")}
    spec.path("/api/v1/kpis", operations={"get": {
        "summary": "A unit's KPIs over a period (local days, inclusive); format=csv|xlsx for a file",
        "security": secured, "parameters": [{"in": "query", "schema": KpiQuerySchema}],
        "responses": {"200": {**resp("the KPIs", "Kpis"), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Kpis"}}, **files}}, **scoped}}})
    spec.path("/api/v1/kpis/cases", operations={"get": {
        "summary": "The cases behind a KPI's numerator or denominator (drill-down); format=csv|xlsx for a file",
        "description": f"At most {MAX_CASE_IDS} ids in JSON (count says how many there are).",
        "security": secured, "parameters": [{"in": "query", "schema": KpiCasesQuerySchema}],
        "responses": {"200": {**resp("the case ids", "KpiCases"), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/KpiCases"}}, **files}}, **scoped}}})
    spec.path("/api/v1/cases/{case_id}/evaluation", operations={"get": {
        "summary": "Why a case counts in the KPIs: its facts, days, responsible unit and evidence",
        "security": secured, "parameters": [case_id],
        "responses": {"200": resp("the case's KPI facts", "CaseEvaluation"), **errors}}})
