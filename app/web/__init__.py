"""The browser interface: server-rendered pages (Flask + Jinja2), Chinese first, English available.

Views are thin: load the object (404), check access (403), call an operation from
``app/cases`` or ``app/tasks``. They never commit: the request commits once when it succeeds,
and a refused form is re-rendered with a 4xx status so nothing is stored.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, send_from_directory
from sqlalchemy.exc import SQLAlchemyError

from app.core.auth import Principal, web_principal
from app.core.db import session as db


def _principal_for_templates() -> Principal | None:
    """The logged-in user for the top bar; error pages must render even when the database failed."""
    if "principal" in g:
        return g.principal  # type: ignore[no-any-return]
    try:
        return web_principal()
    except SQLAlchemyError:
        db.rollback()
        return None


def _unread_notifications(principal: Principal | None) -> int:
    """The header's unread badge: one count over a partial index, 0 when the database failed."""
    if principal is None:
        return 0
    from app.notifications.queries import unread_count
    try:
        return unread_count(principal.id)
    except SQLAlchemyError:
        db.rollback()
        return 0


def register(app: Flask) -> None:
    from app.web import admin, api_keys, auth, cases, inbox, notifications, supervision, tasks
    from app.web.helpers import (case_light, deadline_label, limit_text, localize_message, signing_pending,
                                 task_light)
    from app.web.labels import STAGES, category_label, label

    for module in (auth, inbox, tasks, cases, supervision, notifications, admin, api_keys):
        app.register_blueprint(module.bp)
    from app.web import catalog
    app.register_blueprint(catalog.bp)
    from app.web import exports  # CSV and Excel of the list pages
    app.register_blueprint(exports.bp)
    from app.web import attachments, report, step_photos  # unified intake: the grid worker's report, case attachments
    app.register_blueprint(report.bp)
    app.register_blueprint(attachments.bp)
    app.register_blueprint(step_photos.bp)  # photos inside step forms
    from app.web import designer  # the process designer's pages (流程设计)
    app.register_blueprint(designer.bp)
    from app.web import designer_drafts  # the draft pages: review, deploy, discard; activate a version
    app.register_blueprint(designer_drafts.bp)
    from app.kpis import views as kpi_views  # the KPI ranking, drill-downs and monthly reports (考核)
    app.register_blueprint(kpi_views.bp)

    @app.get("/favicon.ico")
    def favicon() -> Any:
        """Browsers ask for /favicon.ico on their own (for a JSON page or a file, which link no
        icon): the same icon as favicon.svg, as a 16 and 32 px ICO."""
        return send_from_directory(app.static_folder or "static", "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=7 * 24 * 3600)
    from app.web import hotspots  # the leaders' hot spots (热点问题)
    app.register_blueprint(hotspots.bp)
    from app.web import cockpit  # the leader's cockpit (驾驶舱)
    app.register_blueprint(cockpit.bp)
    from app.web import maps  # the map of the report pages and the case page
    app.register_blueprint(maps.bp)
    app.jinja_env.globals.update(map_options=maps.map_options)
    from app.web import cockpit_map  # the cockpit's map: /cockpit/map and the partial cockpit/_map.html
    app.register_blueprint(cockpit_map.bp)

    app.jinja_env.globals.update(label=label, category_label=category_label, STAGES=STAGES,
                                 task_light=task_light, case_light=case_light, deadline_label=deadline_label,
                                 signing_pending=signing_pending, limit_text=limit_text,
                                 localize=localize_message)

    @app.context_processor
    def inject_principal() -> dict[str, Any]:
        principal = _principal_for_templates()
        return {"principal": principal, "unread_notifications": _unread_notifications(principal)}
