"""The dispatcher's duplicate decisions (智能判重): the candidates panel, merge, keep apart."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect, request, url_for

from app.cases.models import Case
from app.core.auth import Principal
from app.core.db import session as db
from app.core.errors import AppError, Forbidden
from app.core.ids import parse_id
from app.core.i18n import get_locale, gettext as _
from app.duplicates.operations import MERGE_ROLES, check_may_decide, keep_separate, merge_by
from app.duplicates.queries import duplicate_candidates
from app.engine import host
from app.tasks.queries import can_view_case
from app.web.helpers import (current_principal, engine_incident_message, get_or_404,
                             localize_message, login_required, safe_next)
from app.web.labels import duplicate_reason

from app.web.cases import bp


# ---------------------------------------------------------------------------- duplicates (智能判重)

@dataclass
class Candidate:
    """One earlier case the detector proposes, as the panel shows it."""

    case_id: int
    number: str
    score: float
    reasons: list[str]
    details: dict[str, Any]
    title: str
    status: str
    channel: str
    address: str
    created_at: Any
    repeat_count: int
    visible: bool  # the viewer may see the candidate (else only its number, score and reasons)
    may_merge: bool  # the viewer may merge the case into it (dispatchers, supervisors; both in their units)
    master: Case | None = None  # it was merged meanwhile: merging into it goes to this case

    @property
    def percent(self) -> int:
        return round(100 * self.score)

    @property
    def reason_texts(self) -> list[str]:
        return [duplicate_reason(code, self.details) for code in self.reasons]


@dataclass
class DuplicatePanel:
    case: Case
    candidates: list[Candidate] = field(default_factory=list)
    may_decide: bool = False  # the viewer decides on this case's duplicates (not only reads them)


def duplicate_panel(principal: Principal, case: Case) -> DuplicatePanel | None:
    """The candidates of an open case for its page and its filing task; None when there are none."""
    if case.status != "open":
        return None
    rows = duplicate_candidates(case.id)
    if not rows:
        return None
    may_decide = _may_decide(principal, case)
    panel = DuplicatePanel(case, may_decide=may_decide)
    for row in rows:
        other = db.get(Case, row["case_id"])
        if other is None:
            continue
        visible = can_view_case(principal, other)
        master = db.get(Case, row["merged_into"]) if row.get("merged_into") else None
        # merge_by checks the same: the decider sees this case, the candidate and the case it follows
        may_merge = may_decide and visible and (master is None or can_view_case(principal, master))
        panel.candidates.append(Candidate(
            case_id=other.id, number=other.number, score=float(row["score"]), reasons=list(row["reasons"]),
            details=dict(row.get("details") or {}), title=row["title"], status=row["status"], channel=row["channel"],
            address=row["address"], created_at=row["created_at"], repeat_count=row.get("repeat_count") or 0,
            visible=visible, may_merge=may_merge, master=master))
    return panel


def _may_decide(principal: Principal, *cases: Case) -> bool:
    if not principal.has_role(*MERGE_ROLES):
        return False
    try:
        check_may_decide(principal, *cases)
    except Forbidden:
        return False
    return True


def _decision_refused(exc: Exception) -> str:
    """Why a merge or a dismissal was refused, in the page's language (field messages say it best)."""
    if isinstance(exc, AppError):
        details = [localize_message(m) for messages in (exc.errors or {}).values() for m in messages]
        if details:
            return ("; " if get_locale() == "en" else "；").join(details)
        return localize_message(exc.message)
    return localize_message(str(exc))


@bp.post("/cases/<id:case_id>/merge")
@login_required
def merge(case_id: int) -> Any:
    """合并: this case follows the chosen candidate from now on (one handling, the master counts the repeat)."""
    principal = current_principal()
    case = get_or_404(Case, case_id, _("找不到该案件"))
    back = safe_next(request.form.get("next")) or url_for("cases.show", case_id=case_id)
    reason = (request.form.get("reason") or "").strip()[:1000] or None
    into = parse_id(request.form.get("into", ""))
    if into is None:
        flash(_("请选择要合并到的案件"), "error")
        return redirect(back)
    number = case.number
    try:
        master = merge_by(principal, case, into, reason)
    except host.EngineIncidentError:  # the process failed while cancelling: kept for an administrator
        flash(engine_incident_message(), "warning")
        return redirect(back)
    except (AppError, host.EngineError) as exc:  # not allowed, already decided, closed meanwhile, ...
        db.rollback()
        flash(_("未合并：{reason}", reason=_decision_refused(exc)), "error")
        return redirect(back)
    flash(_("已将 {number} 合并至 {master}，由主案件统一办理（重复反映 {n} 次）", number=number,
            master=master.number, n=master.repeat_count), "success")
    if can_view_case(principal, master):
        return redirect(url_for("cases.show", case_id=master.id))
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/cases/<id:case_id>/duplicates/<id:candidate_id>/dismiss")
@login_required
def keep_apart(case_id: int, candidate_id: int) -> Any:
    """不是重复: the candidate is a different problem and is not proposed again."""
    principal = current_principal()
    case = get_or_404(Case, case_id, _("找不到该案件"))
    back = safe_next(request.form.get("next")) or url_for("cases.show", case_id=case_id)
    reason = (request.form.get("reason") or "").strip()[:1000] or None
    try:
        check_may_decide(principal, case)
        keep_separate(case, candidate_id, principal.user, reason)
    except AppError as exc:
        db.rollback()
        flash(_("未保存：{reason}", reason=_decision_refused(exc)), "error")
        return redirect(back)
    other = db.get(Case, candidate_id)
    flash(_("已确认 {other} 不是 {number} 的重复，二者分别办理", other=other.number if other else "#" + str(candidate_id),
            number=case.number), "success")
    return redirect(back)
