"""``/cases``, the list, and ``/cases/<id>``, the case page: tasks, the seven steps, the timeline,
photos and files, the duplicate panel."""
from __future__ import annotations

from typing import Any

from flask import render_template

from app.attachments.operations import INLINE_TYPES, case_attachments
from app.cases.channels import displayed_fields
from app.cases.models import CASE_STATUSES, CHANNELS, Case
from app.core.errors import Forbidden
from app.core.i18n import get_locale, gettext as _
from app.duplicates.queries import merged_cases
from app.kpis.evaluation import case_evaluation
from app.tasks.queries import can_claim, can_view_case, candidates, open_tasks
from app.web.helpers import (ActionState, Pager, current_principal, get_or_404,
                             login_required, page_arg, page_size)
from app.web.labels import STAGES, file_size
from app.web.step_photos import case_page_photos
from app.web.queries import case_definitions, case_list, display_names, task_titles
from app.web.timeline import timeline
from app.web.exports import LIST_LIGHTS, LIST_TIERS, case_filters, narrowing_filters

from app.web.cases import bp
from app.web.cases.duplicates import duplicate_panel
from app.web.cases.intake_form import extension_title, upload_limits


@bp.get("/cases")
@login_required
def index() -> Any:
    principal = current_principal()
    f = case_filters()
    args = (f["status"], f["channel"], f["text"])
    page, per_page = page_arg(), page_size()
    cases, total = case_list(principal, *args, page, per_page, f["light"], f["tier"], f["sort"], f["narrowing"])
    pager = Pager(page, per_page, total)
    if pager.page != page:  # past the last page: show the last one
        cases, total = case_list(principal, *args, pager.page, per_page, f["light"], f["tier"], f["sort"], f["narrowing"])
    return render_template("cases/list.html", cases=cases, pager=pager,
                           status=f["status"], channel=f["channel"], q=f["text"] or "", statuses=CASE_STATUSES,
                           channels=CHANNELS, light=f["light"], lights=LIST_LIGHTS, tier=f["tier"], tiers=LIST_TIERS,
                           sort=f["sort"], narrowing=f["narrowing"], narrowing_args=narrowing_filters(f["narrowing"]))


# ---------------------------------------------------------------------------- the case page

def load_case(case_id: int) -> Case:
    case = get_or_404(Case, case_id, _("找不到该案件"))
    if not can_view_case(current_principal(), case):
        raise Forbidden(_("此案件不在您的单位范围内"))
    return case


@bp.get("/cases/<id:case_id>")
@login_required
def show(case_id: int) -> Any:
    return render_case_page(load_case(case_id))


def render_case_page(case: Case, action: ActionState | None = None, status: int = 200) -> Any:
    principal = current_principal()
    definition = case_definitions([case.id]).get(case.id)
    tasks = open_tasks(case.id)
    who = candidates(tasks)
    names = display_names(u for users in who.values() for u in users)
    claimable = {t.id for t in tasks if t.claimed_by_id is None and can_claim(principal, t)}
    supervised = {t.id for t in tasks if principal.covers("supervisor", t.unit_path)}
    locale = get_locale()
    return render_template(
        "cases/show.html", case=case, tasks=tasks, task_names=task_titles(tasks), candidates=who, names=names,
        claimable=claimable, supervised=supervised, can_park=bool(supervised) and case.status == "open",
        steps=stepper(case), events=timeline(case, definition), action=action,
        extension_title=extension_title(case.channel) if case.channel in CHANNELS else None,
        extension_rows=displayed_fields(case.channel, case.extension_data, locale) if case.channel in CHANNELS else [],
        attachments=[a for a in case_attachments(case.id) if a.task_id is None], merged=merged_cases(case.id),
        evaluation=case_evaluation(case.id, locale),
        **case_page_photos(case.id, definition),
        inline_types=INLINE_TYPES, file_size=file_size, duplicates=duplicate_panel(principal, case),
        limits=upload_limits()), status



def stepper(case: Case) -> list[dict[str, str]]:
    """The seven steps with a state each: done, current, todo (or skipped after a rejection)."""
    codes = [code for code, _zh in STAGES]
    if case.status == "closed":
        return [{"code": c, "name": n, "state": "done"} for c, n in STAGES]
    if case.status == "rejected":
        cut = codes.index("verify")
        return [{"code": c, "name": n, "state": "done" if i <= cut else "skipped"} for i, (c, n) in enumerate(STAGES)]
    current = codes.index(case.stage) if case.stage in codes else -1
    return [{"code": c, "name": n, "state": "done" if i < current else "current" if i == current else "todo"}
            for i, (c, n) in enumerate(STAGES)]
