"""What the public GET methods may show: cases of the public channels, as GeoReport requests.

GET requests needs no key, so it shows only cases whose channel is in
``OPEN311_PUBLIC_CHANNELS`` (problems reported in public or found on patrol; a hotline call or a
letter to the mayor is private correspondence) and never who reported them: no name, phone,
email, device or account. A case outside those channels is answered like one that does not exist.

Status: an open case is ``open`` with its step and tier as notes (任务处理（街镇）); a closed or
rejected one is ``closed`` (已办结, or 不予立案 with the reason the reporter is told); a merged
duplicate reports its master's status and says it was merged into the master's number.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core.db import session
from app.open311 import services
from app.open311.serialize import w3c
from app.orgs.directory import directory

MAX_RESULTS = 1000
STAGE_NAMES = {"collect": ("信息采集", "collecting information"), "verify": ("核实立案", "verifying"),
               "assign": ("事件分配", "assigning"), "handle": ("任务处理", "being handled"),
               "feedback": ("执行反馈", "reporting back"), "inspect": ("核查结案", "final inspection"),
               "evaluate": ("考核评价", "evaluation")}
TIER_NAMES = {"community": ("居村", "community"), "street": ("街镇", "street/town"),
              "district": ("区级", "district"), "city": ("市级", "city")}
CLOSED_STATUSES = ("closed", "rejected")


def public_channels() -> tuple[str, ...]:
    return current_app.config["SETTINGS"].open311_public_channels  # type: ignore[no-any-return]


def public_case(case_id: int) -> Case | None:
    case = session.get(Case, case_id)
    if case is None or case.channel not in public_channels():
        return None
    return case


@dataclass(frozen=True)
class Filters:
    ids: tuple[int, ...] = ()
    category_keys: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()  # GeoReport's: open, closed


def find_cases(filters: Filters) -> list[Case]:
    """The public cases the filters ask for, newest first, at most MAX_RESULTS.

    Ids override every other filter (the spec's rule). A status filter is checked on the status
    each case reports, which for a merged duplicate is its master's."""
    q = select(Case).where(Case.channel.in_(public_channels()))
    if filters.ids:
        q = q.where(Case.id.in_(filters.ids))
        return list(session.scalars(q.order_by(Case.id)))
    if filters.category_keys:
        q = q.where(Case.category_code.in_(filters.category_keys))
    if filters.start is not None:
        q = q.where(Case.created_at >= filters.start)
    if filters.end is not None:
        q = q.where(Case.created_at <= filters.end)
    if filters.statuses and set(filters.statuses) != {"open", "closed"}:
        wanted = ("open",) if "open" in filters.statuses else CLOSED_STATUSES
        q = q.where(Case.status.in_((*wanted, "merged")))
    cases = list(session.scalars(q.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)))
    if filters.statuses and set(filters.statuses) != {"open", "closed"}:
        masters = _masters(cases)
        cases = [c for c in cases if _reported(c, masters)[0] in filters.statuses]
    return cases


def _masters(cases: Iterable[Case]) -> dict[int, Case]:
    """The master cases of the merged ones among ``cases`` (a master is never itself merged:
    app.duplicates.operations.merge_case moves followers on)."""
    wanted = {c.merged_into_id for c in cases if c.merged_into_id}
    if not wanted:
        return {}
    return {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(wanted)))}


def _reported(case: Case, masters: dict[int, Case]) -> tuple[str, Case, Case | None]:
    """(open|closed, the case whose state is reported, the master it was merged into or None)."""
    master = masters.get(case.merged_into_id) if case.status == "merged" and case.merged_into_id else None
    current = master or case
    return ("closed" if current.status in CLOSED_STATUSES else "open"), current, master


def _reject_reasons(cases: Iterable[Case]) -> dict[int, str]:
    """The reason given when each rejected case was not filed (不予立案理由: the reporter is told it)."""
    ids = [c.id for c in cases if c.status == "rejected"]
    reasons: dict[int, str] = {}
    if not ids:
        return reasons
    rows = session.execute(select(AuditEvent.case_id, AuditEvent.detail).where(
        AuditEvent.case_id.in_(ids), AuditEvent.action == "task_completed").order_by(AuditEvent.id)).all()
    for case_id, detail in rows:
        data = (detail or {}).get("data") or {}
        if data.get("decision") == "reject" and data.get("reject_reason"):
            reasons[case_id] = str(data["reject_reason"])
    return reasons


def _notes(case: Case, merged_into: Case | None, reasons: dict[int, str], locale: str) -> str:
    en = locale == "en"
    if case.status == "closed":
        note = "Solved and closed." if en else "已办结"
    elif case.status == "rejected":
        reason = reasons.get(case.id)
        note = ("Not accepted" if en else "不予立案") + (f"{': ' if en else '：'}{reason}" if reason else "")
    else:
        stage = STAGE_NAMES.get(case.stage or "", ("受理中", "received"))
        tier = TIER_NAMES.get(case.tier or "")
        if en:
            note = f"In progress: {stage[1]}" + (f" ({tier[1]} level)" if tier else "")
        else:
            note = f"{stage[0]}（{tier[0]}）" if tier else stage[0]
        if case.parked_at is not None:
            note += "; parked for now" if en else "，已挂账暂缓"
    if merged_into is not None:
        prefix = (f"Merged into work order {merged_into.number} (the same problem). " if en
                  else f"已并入工单 {merged_into.number}（同一问题）。")
        note = prefix + note
    return note


def request_dicts(cases: list[Case], locale: str = "zh") -> list[dict[str, Any]]:
    """Cases as GeoReport service requests, with nothing about who reported them."""
    masters = _masters(cases)
    reasons = _reject_reasons([*cases, *masters.values()])
    units = directory()
    out = []
    for case in cases:
        status, shown, merged_into = _reported(case, masters)
        ext = case.extension_data
        unit = units.by_id.get(shown.handling_unit_id) if shown.handling_unit_id else None
        updated = shown.closed_at if status == "closed" and shown.closed_at else max(case.updated_at, shown.updated_at)
        out.append({
            "service_request_id": str(case.id),
            "status": status,
            "status_notes": _notes(shown, merged_into, reasons, locale),
            "service_name": services.service_name(case.category_code) or services.uncategorized_name(locale),
            "service_code": services.key_to_code(case.category_code) or services.UNCATEGORIZED,
            "description": case.description,
            "agency_responsible": (unit.name_en or unit.name if locale == "en" else unit.name) if unit else None,
            "service_notice": (f"Work order {case.number}" if locale == "en" else f"工单编号 {case.number}"),
            "requested_datetime": w3c(case.created_at),
            "updated_datetime": w3c(updated),
            "expected_datetime": None,
            "address": case.address,
            "address_id": ext.get("address_id"),
            "zipcode": None,
            "lat": case.lat,
            "long": case.lng,
            "media_url": ext.get("media_url"),
        })
    return out
