"""Operations of duplicate detection: check a new case, merge a duplicate, keep two cases separate.

They flush, never commit: the request that calls them commits once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update

from app.cases.models import Case
from app.core.audit import record
from app.core.db import session, utcnow
from app.core.errors import Conflict, Forbidden, ValidationFailed
from app.duplicates import store
from app.duplicates.detector import Fingerprint, Match, Rules, best_matches, fingerprint
from app.duplicates.models import DuplicateCandidate, ReporterNotice
from app.engine import host
from app.tasks.models import Task

CANDIDATES, CASES = DuplicateCandidate.__table__, Case.__table__


def rules() -> Rules:
    settings = current_app.config["SETTINGS"]
    return Rules(window_days=settings.DEDUP_WINDOW_DAYS, min_score=settings.DEDUP_MIN_SCORE)


def case_fingerprint(values: dict[str, Any], reporter: str | None, created_at: datetime) -> Fingerprint:
    return fingerprint(values["title"], values["description"], created_at, lat=values.get("lat"),
                       lng=values.get("lng"), category_code=values.get("category_code"),
                       address=values.get("address"), reporter=reporter)


@dataclass
class Found:
    """A new report's fingerprint and its likely duplicates, before the case is written."""

    fingerprint: Fingerprint
    matches: list[tuple[int, Match]]


@dataclass
class Checked:
    candidates: list[tuple[int, Match]]
    auto_merged_into: int | None


def find_duplicates(values: dict[str, Any], reporter: str | None) -> Found:
    """Fingerprint a new report and score the live cases it may repeat. Only reads: intake runs it
    before it writes anything, so no write lock (SQLite) is held while jieba and the scorer work."""
    now = utcnow()
    fp = case_fingerprint(values, reporter, now)
    current = rules()
    return Found(fp, best_matches(fp, store.find(fp, current, now), current))


def file_new_case(case: Case, found: Found, actor: Any) -> Checked:
    """File a case just created under its keys and keep its likely duplicates for the dispatcher.

    With ``DEDUP_AUTO_MERGE`` an exact repeat from the same reporter of a case still open is
    merged at once (a caller who rings twice, a message delivered under two ids).
    """
    now, matches = case.created_at, found.matches
    store.add(case.id, replace(found.fingerprint, created_at=now))
    if matches:
        session.connection().execute(insert(CANDIDATES), [
            {"case_id": case.id, "candidate_id": cid, "score": m.score, "state": "open", "created_at": now,
             "reasons": json.dumps({"codes": m.reasons, "details": m.details}, ensure_ascii=False)}
            for cid, m in matches])
        record("duplicates_found", case_id=case.id, at=now,
               candidates=[{"case_id": cid, "score": m.score, "reasons": m.reasons} for cid, m in matches])
    if current_app.config["SETTINGS"].DEDUP_AUTO_MERGE and case.status == "open":
        for cid, m in matches:
            if "same_text" in m.reasons and "same_reporter" in m.reasons:
                master = session.get(Case, cid)
                if master is not None and master.status == "open" and not master.has_incident:
                    merge_case(session.get(Case, case.id) or case, master, actor,
                               reason="auto: exact repeat from the same reporter", auto=True)
                    return Checked(matches, master.id)
    return Checked(matches, None)


MERGE_ROLES = ("dispatcher", "supervisor", "admin")


def check_may_decide(principal: Any, *cases: Case) -> None:
    """Dispatchers (and supervisors, admins) decide on duplicates of cases they can see."""
    from app.tasks.queries import can_view_case
    if not principal.has_role(*MERGE_ROLES):
        raise Forbidden("只有派遣员、督办员可以合并或保留重复案件 / only dispatchers and supervisors decide on duplicates")
    for case in cases:
        if not can_view_case(principal, case):
            raise Forbidden(f"案件 {case.number} 不在您的管辖范围 / case {case.id} is outside your units")


def merge_by(principal: Any, case: Case, into_id: int, reason: str | None = None) -> Case:
    """A dispatcher's merge: ``case`` follows case ``into_id`` from now on; returns the master."""
    into = session.get(Case, into_id)
    if into is None:
        raise ValidationFailed("invalid input", errors={"into": [f"没有案件 {into_id} / no case {into_id}"]})
    check_may_decide(principal, case, into, master_of(into))  # the case it follows, when merged, too
    return merge_case(case, into, principal.user, reason=reason)


def master_of(case: Case) -> Case:
    """The case a merged case follows (itself when not merged). One step is enough: a merge moves
    the duplicate's own followers to the master, so a master is never itself merged."""
    if case.merged_into_id is None:
        return case
    return session.get(Case, case.merged_into_id) or case


def merge_case(case: Case, into: Case, actor: Any, reason: str | None = None, auto: bool = False) -> Case:
    """Merge ``case`` into ``into``: one handling, the master counts the repeat.

    The duplicate's process is cancelled and its open tasks end; cases merged into it before now
    follow the master too; the master's repeat count rises and, at ``DEDUP_URGENT_REPEATS``, so
    does its urgency. The holders of the master's open tasks are told.
    """
    master = master_of(into)
    if master.id == case.id:
        raise ValidationFailed("不能合并到本案件 / a case cannot be merged into itself",
                               errors={"into": ["不能合并到本案件 / same case"]})
    if case.status != "open":
        raise Conflict(f"案件 {case.number} 已{_status_word(case.status)}，不能合并 / case {case.id} is {case.status}")
    if master.status != "open":
        raise Conflict(f"主案件 {master.number} 已{_status_word(master.status)}，不能并入 / "
                       f"the master case {master.id} is {master.status}")
    if master.has_incident:
        raise Conflict(f"主案件 {master.number} 流程异常 / the master case {master.id} has an engine incident")
    now = utcnow()
    host.cancel_case(case, "merged", actor, {"merged_into": master.id})
    followers = list(session.scalars(select(Case).where(Case.merged_into_id == case.id)))
    for follower in followers:
        follower.merged_into_id = master.id
    absorbed = 1 + (case.repeat_count or 0)
    case.merged_into_id, case.merged_at, case.closed_at, case.due_at, case.yellow_at = master.id, now, now, None, None
    master.repeat_count = (master.repeat_count or 0) + absorbed
    master.updated_at = now
    store.move_keys(case.id, master.id)
    session.connection().execute(
        update(CANDIDATES).where(CANDIDATES.c.case_id == case.id, CANDIDATES.c.candidate_id == master.id)
        .values(state="merged", decided_by_id=getattr(actor, "id", None), decided_at=now))
    record("case_merged", actor=actor, case_id=case.id, at=now, into=master.id, into_number=master.number,
           auto=auto, reason=reason)
    record("duplicate_merged_in", actor=actor, case_id=master.id, at=now, duplicate=case.id,
           duplicate_number=case.number, channel=case.channel, reporter=case.reporter_name,
           repeat_count=master.repeat_count, auto=auto)
    settings = current_app.config["SETTINGS"]
    if master.repeat_count >= settings.DEDUP_URGENT_REPEATS and master.urgency != "urgent":
        master.urgency = "urgent"
        record("priority_raised", actor=actor, case_id=master.id, at=now, urgency="urgent",
               repeat_count=master.repeat_count)
    _tell_holders(master, case, actor)
    session.flush()
    return master


def _tell_holders(master: Case, duplicate: Case, actor: Any) -> None:
    from app.notifications.operations import notify
    holders = [uid for uid in session.scalars(select(Task.claimed_by_id).where(
        Task.case_id == master.id, Task.state == "open", Task.claimed_by_id.is_not(None)))]
    if holders:
        notify(holders, "duplicate", f"{master.number}：又一次重复反映（{duplicate.number}，共 {master.repeat_count} 次）"
               f" / repeated again ({duplicate.number}, {master.repeat_count} repeats)", case_id=master.id, actor=actor)


def keep_separate(case: Case, candidate_id: int, actor: Any, reason: str | None = None) -> None:
    """The dispatcher judged the candidate a different problem: it is not proposed again."""
    now = utcnow()
    result = session.connection().execute(
        update(CANDIDATES).where(CANDIDATES.c.case_id == case.id, CANDIDATES.c.candidate_id == candidate_id,
                                 CANDIDATES.c.state == "open")
        .values(state="dismissed", decided_by_id=getattr(actor, "id", None), decided_at=now))
    if result.rowcount != 1:
        raise Conflict(f"case {candidate_id} is not an open duplicate candidate of case {case.id}")
    record("duplicate_dismissed", actor=actor, case_id=case.id, at=now, candidate=candidate_id, reason=reason)


def _status_word(status: str) -> str:
    return {"closed": "办结", "rejected": "不予立案", "merged": "合并"}.get(status, status)


ENDED = {"closed": ("已办结", "has been resolved"), "rejected": ("经核实不予立案", "was not filed after checking")}


def inform_merged_reporters(master: Case, actor: Any) -> int:
    """The master case ended: owe each reporter of a case merged into it a notice (once).

    Channel adapters deliver them (``GET /api/v1/reporter-notices``); the merged case's audit
    trail records that its reporter is to be told. Returns how many notices were made.
    """
    from app.cases.channels import reporter_identity
    if master.status not in ENDED:
        return 0
    followers = [m for m in session.scalars(select(Case).where(Case.merged_into_id == master.id).order_by(Case.id))
                 if not session.scalar(select(ReporterNotice.id).where(ReporterNotice.case_id == m.id,
                                                                     ReporterNotice.master_id == master.id))]
    if not followers:
        return 0
    zh, en = ENDED[master.status]
    notes = _outcome_notes(master)
    now = utcnow()
    for case in followers:
        contact = case.reporter_phone or reporter_identity(case.channel, case.extension_data, None)
        message = (f"您反映的问题（工单 {case.number}）已与工单 {master.number} 合并处理，该工单{zh}。{notes}".strip()
                   + f" / Your report {case.number} was merged into {master.number}, which {en}.")
        session.add(ReporterNotice(case_id=case.id, master_id=master.id, channel=case.channel,
                                   external_id=case.external_id, reporter_name=case.reporter_name, contact=contact,
                                   message=message, created_at=now))
        record("reporter_informed", actor=actor, case_id=case.id, at=now, master=master.id, outcome=master.status,
               channel=case.channel)
    session.flush()
    return len(followers)


def _outcome_notes(master: Case) -> str:
    """The result the citizen may read: the handler's result notes, or the reason for rejecting."""
    try:
        data = host.workflow_data(master)
    except (LookupError, host.EngineError):
        return ""
    for key in ("result_notes", "reject_reason"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return f"办理结果：{value.strip()[:500]}" if key == "result_notes" else f"原因：{value.strip()[:500]}"
    return ""


def mark_delivered(notice: ReporterNotice, actor: Any) -> ReporterNotice:
    if notice.delivered_at is not None:
        raise Conflict(f"notice {notice.id} was delivered already")
    notice.delivered_at, notice.delivered_by_id = utcnow(), getattr(actor, "id", None)
    record("reporter_notice_delivered", actor=actor, case_id=notice.case_id, notice=notice.id, channel=notice.channel)
    session.flush()
    return notice
