"""The inbox: my claimed tasks and the tasks my roles may claim, sortable by deadline and
narrowed by light, tier and unit."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from app.cases.models import TIERS
from app.core.auth import Principal
from app.orgs.directory import UnitInfo, directory
from app.sla.deadlines import LIGHTS
from app.tasks.queries import SORTS, TaskFilters, inbox_page
from app.web.helpers import Pager, current_principal, login_required, page_arg, page_size
from app.web.queries import inbox_count, task_titles, unit_name

bp = Blueprint("inbox", __name__)

TABS = ("mine", "claimable")


@bp.get("/")
def home() -> Any:
    return redirect(url_for("inbox.index"))


def filter_units(principal: Principal) -> list[tuple[UnitInfo, int]]:
    """The units a user may narrow the inbox to (those under their grants), with their depth."""
    units = sorted((u for u in directory().by_code.values() if principal.covers_any(u.path)), key=lambda u: u.path)
    return [(u, u.path.count("/") - 2) for u in units]


def inbox_filters() -> tuple[TaskFilters, dict[str, str]]:
    """``light=``, ``tier=`` and ``unit=`` of the filter bar; values that are not offered are ignored."""
    light = request.args.get("light") if request.args.get("light") in LIGHTS else None
    tier = request.args.get("tier") if request.args.get("tier") in TIERS else None
    unit = directory().by_code.get(request.args.get("unit") or "")
    chosen = {"light": light or "", "tier": tier or "", "unit": unit.code if unit else ""}
    return TaskFilters(light=light, tier=tier, unit_path=unit.path if unit else None), chosen


@bp.get("/inbox")
@login_required
def index() -> Any:
    principal = current_principal()
    filters, chosen = inbox_filters()
    counts = {scope: inbox_count(principal, scope, filters) for scope in TABS}
    tab = request.args.get("tab")
    if tab not in TABS:  # start where the work is: my tasks, else the ones I could claim
        tab = "mine" if counts["mine"] or not counts["claimable"] else "claimable"
    sort = request.args.get("sort", "due")
    sort = sort if sort in SORTS else "due"
    pager = Pager(page_arg(), page_size(), counts[tab])
    rows = inbox_page(principal, tab, sort, limit=pager.per_page, offset=pager.offset, filters=filters)
    titles = task_titles(task for task, _case in rows)
    active = {k: v for k, v in chosen.items() if v}
    return render_template("inbox.html", tab=tab, sort=sort, counts=counts, rows=rows, titles=titles, pager=pager,
                           chosen=chosen, active=active, lights=LIGHTS, tiers=TIERS,
                           units=[(u, depth, unit_name(u)) for u, depth in filter_units(principal)])
