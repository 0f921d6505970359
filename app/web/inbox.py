"""The inbox: my claimed tasks and the tasks my roles may claim, sortable by deadline."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from app.tasks.queries import SORTS, inbox_page
from app.web.helpers import Pager, current_principal, login_required, page_arg, page_size
from app.web.queries import inbox_count, task_titles

bp = Blueprint("inbox", __name__)

TABS = ("mine", "claimable")


@bp.get("/")
def home() -> Any:
    return redirect(url_for("inbox.index"))


@bp.get("/inbox")
@login_required
def index() -> Any:
    principal = current_principal()
    counts = {scope: inbox_count(principal, scope) for scope in TABS}
    tab = request.args.get("tab")
    if tab not in TABS:  # start where the work is: my tasks, else the ones I could claim
        tab = "mine" if counts["mine"] or not counts["claimable"] else "claimable"
    sort = request.args.get("sort", "due")
    sort = sort if sort in SORTS else "due"
    pager = Pager(page_arg(), page_size(), counts[tab])
    rows = inbox_page(principal, tab, sort, limit=pager.per_page, offset=pager.offset)
    titles = task_titles(task for task, _case in rows)
    return render_template("inbox.html", tab=tab, sort=sort, counts=counts, rows=rows, titles=titles, pager=pager)
