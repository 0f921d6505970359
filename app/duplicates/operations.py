"""Operations of duplicate detection: check a new case, merge a duplicate, keep two cases separate.

They flush, never commit: the request that calls them commits once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
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
from app.duplicates.models import DuplicateCandidate
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
class Checked:
    candidates: list[tuple[int, Match]]
    auto_merged_into: int | None


def check_new_case(case: Case, values: dict[str, Any], reporter: str | None, actor: Any) -> Checked:
    """Find likely duplicates of a case just created, keep them for the dispatcher, file the case.

    With ``DEDUP_AUTO_MERGE`` an exact repeat from the same reporter of a case still open is
    merged at once (a caller who rings twice, a message delivered under two ids).
    """
    now = case.created_at
    fp = case_fingerprint(values, reporter, now)
    current = rules()
    matches = best_matches(fp, store.find(fp, current, now, exclude=case.id), current)
    store.add(case.id, fp)
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
                    merge_case(session.get(Case, case.id) or case, master, actor, reason="auto: exact repeat from the same reporter", auto=True)
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
    check_may_decide(principal, case, into)
    return merge_case(case, into, principal.user, reason=reason)


def master_of(case: Case) -> Case:
    """The case a merged case follows (itself when not merged)."""
    seen = set()
    while case.merged_into_id is not None and case.id not in seen:
        seen.add(case.id)
        case = session.get(Case, case.merged_into_id) or case
    return case


def merge_case(case: Case, into: Case, actor: Any, reason: str | None = None, auto: bool = False) -> Case:
    """Merge ``case`` into ``into``: one handling, the master counts the repeat.

    The duplicate's process is cancelled and its open tasks end; cases merged into it before now
    follow the master too; the master's repeat count rises and, at ``DEDUP_URGENT_REPEATS``, so
    does its urgency. The holders of the master's open tasks are told.
    """
    master = master_of(into)
    if master.id == case.id:
        raise ValidationFailed("a case cannot be merged into itself", errors={"into": ["不能合并到本案件 / same case"]})
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
