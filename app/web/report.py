"""The grid worker's report from the street (网格员上报): one phone-sized form, photos from the camera.

The case it files is an ordinary work order of channel ``grid``, in the grid worker's own community
when they have one; the grid extension form (``forms/channels/grid.json``) adds what a patrol knows.
"""
from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from app.cases.operations import create_case
from app.core.auth import Principal
from app.core.db import session as db
from app.core.errors import ValidationFailed
from app.core.i18n import get_locale, gettext as _
from app.engine import host
from app.forms.schema import coerce_form, initial_values, validate
from app.orgs.directory import UnitInfo, directory
from app.tasks.queries import can_view_case
from app.web.cases.intake_form import (attach_uploads, case_payload, extension_errors, extension_schema,
                                       extension_title, flash_created, form_token, posted_extension,
                                       standard_schema, upload_limits, uploaded_files)
from app.web.forms import FieldView, form_errors, form_fields, html_values, posted_values
from app.web.helpers import current_principal, role_required

bp = Blueprint("report", __name__)

CHANNEL = "grid"
PHOTOS_FIELD = "photos"
#: the standard fields a grid worker fills in, in this order; the reporter is the grid worker
REPORT_FIELDS = ("title", "description", "category_code", "urgency", "address", "lat", "lng")


def own_communities(principal: Principal) -> list[UnitInfo]:
    """The communities (grids) the user patrols as a grid worker."""
    units = directory()
    found = {g.unit_id: units.by_id.get(g.unit_id) for g in principal.grants if g.role == "grid_worker"}
    return sorted((u for u in found.values() if u is not None and u.kind == "community"), key=lambda u: u.path)


def report_schema(grids: list[UnitInfo]) -> dict[str, Any]:
    """The intake form's standard fields a patrol needs; a choice of grid only for those with several."""
    standard = standard_schema()
    props = {name: standard["properties"][name] for name in REPORT_FIELDS if name in standard["properties"]}
    order = list(props)
    if len(grids) > 1:
        props["grid_unit"] = {"type": "string", "title": "所在网格", "x-title-en": "Grid (community)",
                              "enum": [u.code for u in grids], "x-enum-titles": [u.name for u in grids],
                              "x-enum-titles-en": [u.name_en or u.name for u in grids]}
        order.insert(order.index("address") if "address" in order else len(order), "grid_unit")
    required = [f for f in ("title", "description", "address", "grid_unit") if f in props]
    return {"type": "object", "properties": props, "x-order": order, "required": required}


@bp.route("/report", methods=["GET", "POST"])
@role_required("grid_worker")
def new() -> Any:
    principal = current_principal()
    locale = get_locale()
    grids = own_communities(principal)
    schema, ext_schema = report_schema(grids), extension_schema(CHANNEL)
    fields, ext_fields = form_fields(schema), form_fields(ext_schema)
    if request.method == "GET":
        values = {**html_values(fields, initial_values(schema, {})),
                  **html_values(ext_fields, initial_values(ext_schema, {}))}
        return _render(fields, ext_fields, values, {}, None, uuid.uuid4().hex, grids, 200)
    values = {**posted_values(fields, request.form), **posted_values(ext_fields, request.form)}
    idem = form_token(request.form.get("idem"))
    photos = uploaded_files(PHOTOS_FIELD)
    data, coerce_errors = coerce_form(schema, request.form, locale)
    extension, ext_errors = posted_extension(CHANNEL, request.form, locale)
    errors = {**validate(schema, data, locale), **coerce_errors, **ext_errors}
    message = _("表单有误，请检查标出的字段；照片未保存，请重新选择") if photos else _("表单有误，请检查标出的字段")
    if errors:
        return _render(fields, ext_fields, values, errors, message, idem, grids, 422)
    if len(grids) == 1:
        data["grid_unit"] = grids[0].code
    payload = case_payload(data, CHANNEL, extension)
    payload["reporter"] = {"name": principal.user.display_name, "phone": None}
    try:
        case, created, started = create_case(payload, principal, idempotency_key=f"web-report:{idem}",
                                             locale=get_locale())
        attached = attach_uploads(case, photos, principal, "intake", PHOTOS_FIELD) if created else 0
    except ValidationFailed as exc:
        db.rollback()
        return _render(fields, ext_fields, values, extension_errors(exc.errors or {}), message, idem, grids, 422)
    except host.NoProcessDeployed:
        db.rollback()
        return _render(fields, ext_fields, values, {}, _("尚未部署案件流程，请联系管理员"), idem, grids, 503)
    flash_created(case, created, started, attached, _("已上报：{number}"))
    if can_view_case(principal, case):
        return redirect(url_for("cases.show", case_id=case.id))
    return redirect(url_for("report.new"))


def _render(fields: list[FieldView], ext_fields: list[FieldView], values: dict[str, Any],
            errors: dict[str, list[str]], message: str | None, idem: str, grids: list[UnitInfo], status: int) -> Any:
    photo_errors = list(errors.get(PHOTOS_FIELD, []))
    field_errors, general = form_errors(fields + ext_fields, {k: v for k, v in errors.items() if k != PHOTOS_FIELD})
    order = [f.name for f in fields + ext_fields]
    first_error = next((name for name in order if name in field_errors), None)
    if first_error is None and photo_errors:
        first_error = PHOTOS_FIELD
    return render_template("report.html", fields=fields, ext_fields=ext_fields, values=values, errors=field_errors,
                           photo_errors=photo_errors, general_errors=general, message=message, idem=idem,
                           first_error=first_error, grids=grids, extension_title=extension_title(CHANNEL),
                           limits=upload_limits()), status
