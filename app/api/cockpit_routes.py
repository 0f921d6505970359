"""``GET /api/v1/cockpit``: the cockpit's figures as data, or its tables as CSV / Excel.

Answers API clients (bearer token) and the cockpit page itself, which refreshes with the
browser's session: a read that changes nothing, JSON that other sites cannot read (no CORS).
"""
from __future__ import annotations

from typing import Any

from flask import request

from app.api.routes import bp
from app.core.auth import token_or_page_principal
from app.core.errors import ValidationFailed

FORMATS = ("json", "csv", "xlsx")


@bp.get("/cockpit")
def cockpit() -> Any:
    """Figures of ``unit`` (default: the caller's highest cockpit unit) for ``period`` (today,
    week, month); ``format=csv|xlsx`` for the tables. 403 outside the caller's cockpit units."""
    from app.web.cockpit import choose, export, present
    principal = token_or_page_principal()
    fmt = request.args.get("format") or "json"
    errors = {}
    if fmt not in FORMATS:
        errors["format"] = [f"must be one of {', '.join(FORMATS)}"]
    unit_code = request.args.get("unit") or None
    if unit_code is not None and len(unit_code) > 64:
        errors["unit"] = ["at most 64 characters"]
    if errors:
        raise ValidationFailed("invalid query", errors=errors)
    unit, period = choose(principal, unit_code, request.args.get("period") or None)
    data = present(unit, period)
    if fmt != "json":
        return export(data, fmt, principal)
    return data
