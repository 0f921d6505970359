"""The leaders' hot spots page (``/cockpit/hotspots``): the ranked list, each opening its cases,
with unit and days pickers and the export. The cockpit's panel (``cockpit/_hotspots.html``)
reads the same figures from ``/api/v1/hotspots``."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from app.core import audit
from app.core.errors import ValidationFailed
from app.core.i18n import get_locale
from app.hotspots import service
from app.web.helpers import current_principal, role_required

bp = Blueprint("hotspots", __name__)

DAY_CHOICES = (7, 30, 90, 180, 365)


def _args() -> dict[str, Any]:
    """The page's query, checked as the API checks it; a bad value shows the defaults instead."""
    raw = {k: v for k, v in request.args.items() if k in ("unit", "days") and v}
    for attempt in (raw, {k: v for k, v in raw.items() if k == "unit"}, {}):
        try:
            return service.parse_query(attempt)
        except ValidationFailed:
            continue
    raise AssertionError("the defaults are valid")  # pragma: no cover


@bp.get("/cockpit/hotspots")
@role_required(*service.ROLES)
def index() -> Any:
    principal = current_principal()
    args = _args()
    result = service.load(principal, args)
    answer = service.answer(result, get_locale())
    return render_template("cockpit/hotspots.html", result=result, answer=answer, units=service.units_of(principal),
                           days_choices=DAY_CHOICES, max_limit=service.MAX_LIMIT)


@bp.get("/cockpit/hotspots/export.<fmt>")
@role_required(*service.ROLES)
def export(fmt: str) -> Any:
    from app.web.exports import export_file
    if fmt not in service.FORMATS:
        return render_template("error.html", status=404, body={}), 404
    principal = current_principal()
    result = service.load(principal, _args())
    title, header, rows = service.export_table(result)
    audit.record("list_exported", actor=principal.user, list="hotspots", format=fmt, rows=len(rows),
                 filters={"unit": result.unit.code, "days": result.days})
    return export_file(fmt, f"tongguan-hotspots-{result.unit.code}", title, header, rows)
