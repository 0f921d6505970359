"""Operations that change work orders. They flush, never commit: the request commits once."""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.cases.models import Case
from app.core.audit import record
from app.core.auth import Principal
from app.core.db import session
from app.core.errors import ValidationFailed
from app.engine import host
from app.orgs.directory import directory


def find_existing(channel: str, external_id: str | None, idempotency_key: str | None) -> Case | None:
    """The case an earlier delivery of the same message created, if any."""
    if idempotency_key:
        case = session.scalar(select(Case).where(Case.idempotency_key == idempotency_key))
        if case is not None:
            return case
    if external_id:
        return session.scalar(select(Case).where(Case.channel == channel, Case.external_id == external_id))
    return None


def create_case(data: dict[str, Any], actor: Principal | None, idempotency_key: str | None = None) -> tuple[Case, bool]:
    """Store a new work order and start its process; a repeated delivery returns the first case.

    Returns ``(case, created)``. ``data`` is already validated by the caller's schema.
    """
    channel = data["channel"]
    existing = find_existing(channel, data.get("external_id"), idempotency_key)
    if existing is not None:
        return existing, False
    units = directory()
    grid_code = data.get("grid_unit")
    if grid_code is not None:
        unit = units.by_code.get(grid_code)
        if unit is None or unit.kind != "community":
            raise ValidationFailed("invalid input", errors={"grid_unit": ["not a known community code"]})
    elif data.get("lat") is not None and data.get("lng") is not None:
        grid_code = units.nearest(data["lat"], data["lng"])
    reporter = data.get("reporter") or {}
    case = Case(
        channel=channel, external_id=data.get("external_id"), idempotency_key=idempotency_key,
        title=data["title"], description=data["description"], address=data["address"],
        lat=data.get("lat"), lng=data.get("lng"), category_code=data.get("category_code"),
        urgency=data.get("urgency") or "normal", reporter_name=reporter.get("name"),
        reporter_phone=reporter.get("phone"), status="open",
        grid_unit_id=units.by_code[grid_code].id if grid_code else None,
        created_by_id=actor.id if actor else None,
    )
    if not (idempotency_key or data.get("external_id")):
        session.add(case)
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
        except IntegrityError:
            # a concurrent delivery of the same message won the race: answer with its case
            existing = find_existing(channel, data.get("external_id"), idempotency_key)
            if existing is None:
                raise
            return existing, False
    record("case_created", actor=actor, case_id=case.id, channel=channel, title=case.title,
           category_code=case.category_code, grid_unit=grid_code)
    settings = current_app.config["SETTINGS"]
    try:
        host.start_case(case, settings.CASE_PROCESS_ID, process_seed(case, grid_code, settings.DISPATCH_UNIT), actor)
    except host.EngineIncidentError:
        pass  # the case is kept with its incident; an admin retries it
    return case, True


def process_seed(case: Case, grid_code: str | None, dispatch_unit: str) -> dict[str, Any]:
    """The variables a new case's process starts with (see docs/process-conventions.md)."""
    kind = major = None
    if case.category_code and ":" in case.category_code:
        kind, code = case.category_code.split(":", 1)
        major = code[:2]
    return {
        "case_id": case.id, "channel": case.channel, "category_code": case.category_code,
        "category_kind": kind, "category_major": major, "urgency": case.urgency,
        "dispatch_unit": dispatch_unit, "grid_unit": grid_code,
        "district_unit": directory().ancestor(grid_code, "district") if grid_code else None,
    }
