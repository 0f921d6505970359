"""Operations that change work orders. They flush, never commit: the request commits once."""
from __future__ import annotations

import json
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.cases.models import Case
from app.catalog.models import GB_DIRECTORY
from app.catalog.service import active_versions, lookup_category
from app.core.audit import write_pending
from app.core.auth import Principal
from app.core.db import session
from app.core.errors import ValidationFailed
from app.cases import intake_keys
from app.cases.channels import reporter_identity, validate_extension
from app.duplicates.operations import file_new_case, find_duplicates
from app.engine import host
from app.orgs.directory import city_area, directory


def find_existing(channel: str, external_id: str | None, stored_key: str | None) -> tuple[Case | None, str]:
    """The case an earlier delivery of the same message created, if any, and the key that matched
    (``stored_key`` is the client-scoped form of :func:`app.cases.intake_keys.scoped_key`)."""
    if stored_key:
        case = session.scalar(select(Case).where(Case.idempotency_key == stored_key))
        if case is not None:
            return case, intake_keys.KEY_FIELD
    if external_id:
        return session.scalar(select(Case).where(Case.channel == channel, Case.external_id == external_id)), "external_id"
    return None, ""


def create_case(data: dict[str, Any], actor: Principal | None, idempotency_key: str | None = None,
                locale: str = "zh") -> tuple[Case, bool, host.Started | None]:
    """Store a new work order and start its process; a repeated delivery returns the first case.

    Returns ``(case, created, started)``: ``started`` tells what was written for a new case (its
    first tasks and audit events), None for the case of an earlier delivery. ``data`` is already validated by the caller's schema.
    """
    channel = data["channel"]
    digest = intake_keys.request_digest(data)
    stored_key = intake_keys.scoped_key(actor, idempotency_key) if idempotency_key else None
    # an Idempotency-Key repeat is answered before any work; a repeated channel message id is
    # caught by the case insert itself (ON CONFLICT DO NOTHING), which saves a query per new case
    if stored_key is not None:
        existing, by = find_existing(channel, None, stored_key)
        if existing is not None:
            return intake_keys.answer_repeat(existing, digest, actor, by), False, None
    extension = data.get("extension") or {}
    errors = validate_extension(channel, extension, locale)
    errors.update(_category_errors(data.get("category_code")))
    errors.update(_place_errors(data.get("lat"), data.get("lng")))
    if errors:
        raise ValidationFailed("invalid input", errors=errors)
    units = directory()
    grid_code = data.get("grid_unit")
    if grid_code is not None:
        unit = units.by_code.get(grid_code)
        if unit is None or unit.kind != "community":
            raise ValidationFailed("invalid input", errors={"grid_unit": ["not a known community code"]})
    elif data.get("lat") is not None and data.get("lng") is not None:
        grid_code = units.nearest(data["lat"], data["lng"])
    reporter = data.get("reporter") or {}
    values = {
        "channel": channel, "external_id": data.get("external_id"), "idempotency_key": stored_key,
        "intake_digest": digest,
        "title": data["title"], "description": data["description"], "address": data["address"],
        "lat": data.get("lat"), "lng": data.get("lng"), "category_code": data.get("category_code"),
        "urgency": data.get("urgency") or "normal", "reporter_name": reporter.get("name"),
        "reporter_phone": reporter.get("phone"), "grid_unit_id": units.by_code[grid_code].id if grid_code else None,
        "created_by_id": actor.id if actor else None,
        "extension": json.dumps(extension, ensure_ascii=False, sort_keys=True) if extension else None,
        "merged_into_id": None, "merged_at": None, "repeat_count": 0,
    }
    settings = current_app.config["SETTINGS"]
    found = find_duplicates(values, reporter_identity(channel, extension, values["reporter_phone"]))
    try:
        started = host.start_case(values, settings.CASE_PROCESS_ID,
                                  process_seed(values, grid_code, settings.DISPATCH_UNIT), actor,
                                  guard_duplicates=bool(stored_key or data.get("external_id")),
                                  write_events=False)
    except host.DuplicateDelivery:
        # a concurrent delivery of the same message won the race: answer with its case
        existing, by = find_existing(channel, data.get("external_id"), stored_key)
        if existing is None:
            raise
        return intake_keys.answer_repeat(existing, digest, actor, by), False, None
    checked = file_new_case(started.case, found, actor)
    started.duplicates = len(checked.candidates)
    started.events = write_pending()  # the new case's whole trail so far, in one INSERT
    if checked.auto_merged_into is not None:
        started.merged_into = checked.auto_merged_into
    return started.case, True, started


def _category_errors(category_code: str | None) -> dict[str, list[str]]:
    """A category must be in the active catalogue (GB/T 47678.5)."""
    if not category_code or lookup_category(category_code) is not None:
        return {}
    if GB_DIRECTORY not in active_versions():
        return {"category_code": ["分类目录尚未加载，请管理员运行 flask catalog load / "
                                  "the category catalogue is not loaded: an administrator runs 'flask catalog load'"]}
    return {"category_code": [f"不在分类目录中 / {category_code} is not in the category catalogue"]}


def _place_errors(lat: float | None, lng: float | None) -> dict[str, list[str]]:
    """A point must lie in the city's area (a point far away, e.g. 0,0, would be routed to some
    community all the same: the nearest one)."""
    if lat is None or lng is None:
        return {}
    area = city_area()
    if area is None or area.contains(lat, lng):
        return {}
    text = f"不在本市范围内（{area.describe('zh')}） / outside the city's area ({area.describe('en')})"
    return {"lat": [text], "lng": [text]}


def process_seed(values: dict[str, Any], grid_code: str | None, dispatch_unit: str) -> dict[str, Any]:
    """The variables a new case's process starts with (see docs/process-conventions.md)."""
    kind = major = None
    category = values.get("category_code")
    if category and ":" in category:
        kind, code = category.split(":", 1)
        major = code[:2]
    return {
        "channel": values["channel"], "category_code": category,
        "category_kind": kind, "category_major": major, "urgency": values["urgency"],
        "dispatch_unit": dispatch_unit, "grid_unit": grid_code,
        "district_unit": directory().ancestor(grid_code, "district") if grid_code else None,
    }
