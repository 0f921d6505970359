"""The browser interface: server-rendered pages (Flask + Jinja2), Chinese first, English available.

Views are thin: load the object (404), check access (403), call an operation from
``app/cases`` or ``app/tasks``. They never commit: the request commits once when it succeeds,
and a refused form is re-rendered with a 4xx status so nothing is stored.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g
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


def register(app: Flask) -> None:
    from app.web import admin, auth, cases, inbox, tasks
    from app.web.helpers import due_light, localize_message
    from app.web.labels import STAGES, category_label, label

    for module in (auth, inbox, tasks, cases, admin):
        app.register_blueprint(module.bp)

    app.jinja_env.globals.update(label=label, category_label=category_label, STAGES=STAGES,
                                 due_light=due_light, localize=localize_message)

    @app.context_processor
    def inject_principal() -> dict[str, Any]:
        return {"principal": _principal_for_templates()}
