"""Tongguan (统管): case management for a city's unified operations, driven by BPMN."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from app.config import Settings, load_settings
from app.core.jsonio import OrjsonProvider

csrf = CSRFProtect()


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application from small named steps; ``overrides`` replace settings (tests)."""
    settings = load_settings(overrides)
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config.update(SECRET_KEY=settings.SECRET_KEY, SETTINGS=settings, TOKEN_MAX_AGE=settings.TOKEN_MAX_AGE,
                      JSON_AS_ASCII=False, WTF_CSRF_TIME_LIMIT=None,
                      # a report may carry a few photos; each file is checked against ATTACHMENT_MAX_BYTES
                      MAX_CONTENT_LENGTH=5 * settings.ATTACHMENT_MAX_BYTES + 1024 * 1024,
                      TESTING=settings.ENV == "testing")
    register_extensions(app, settings)
    register_effect_handlers()
    register_input_checks(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    from app.scheduler import start_embedded
    start_embedded(app)
    return app


def register_extensions(app: Flask, settings: Settings) -> None:
    from app.core import db
    db.init_app(app, settings.sqlalchemy_url, settings.SQL_ECHO)
    from app.kpis import recorder  # noqa: F401 - keeps the KPI facts exact in every transaction
    from app.engine import sandbox
    sandbox.configure(settings.SCRIPT_TIME_LIMIT_MS, settings.EXPRESSION_TIME_LIMIT_MS,
                      settings.ENGINE_STEP_TIME_LIMIT_MS, settings.MAX_STATE_BYTES)
    csrf.init_app(app)
    from app.security import headers, sessions
    headers.init_app(app, settings)  # cookie flags, trusted proxies, security headers
    sessions.init_app(app)  # last-seen refreshes written after the request's transaction
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SpiffWorkflow logs every task state change at INFO: far too much, and slow on the hot path
    for name in ("spiff", "spiff.workflow", "spiff.task"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # APScheduler logs every run of the sweep job at INFO; the sweep logs what it fired itself
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    from app.core import i18n
    i18n.init_app(app)  # after logging is set up: it warns about catalogues not compiled


def register_effect_handlers() -> None:
    """What the product does when a process asks for an effect (``remind``, ``supervise``): each
    feature hands its handlers to the engine, which imports no feature (see app.engine.effects).
    Here, so every process that builds the app has them: web workers, CLI, scheduler, tests."""
    from app.supervision.operations import register_effect_handlers as supervision_effects
    supervision_effects()


def register_input_checks(app: Flask) -> None:
    """Checks every request passes before a view reads it (after CSRF): no control characters."""
    from app.core.text import check_request
    app.before_request(check_request)


def register_blueprints(app: Flask) -> None:
    from app.core.ids import IdConverter, YearConverter
    app.url_map.converters["id"] = IdConverter  # <id:case_id>: 1 … 2^31−1, else no route (404)
    app.url_map.converters["year"] = YearConverter  # <year:year>: four digits, else no route (404)
    from app.api.routes import bp as api_bp
    from app.designer.api_drafts import bp as designer_drafts_bp
    from app.open311.views import bp as open311_bp
    from app.web import register as register_web
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    csrf.exempt(open311_bp)  # Open311 clients authenticate with their api_key
    app.register_blueprint(api_bp)
    csrf.exempt(designer_drafts_bp)  # bearer tokens, as the rest of /api/v1
    app.register_blueprint(designer_drafts_bp)
    from app.designer.views import bp as designer_migrations_bp
    app.register_blueprint(designer_migrations_bp)  # the migration page (/designer/migrations)
    app.register_blueprint(open311_bp)
    register_web(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or request.accept_mimetypes.best == "application/json"


def register_errorhandlers(app: Flask) -> None:
    from app.core.errors import AppError, Conflict
    from app.engine.host import CaseConflict, EngineIncidentError, NoProcessDeployed

    def respond(status: int, body: dict[str, Any]) -> Any:
        if _wants_json():
            return jsonify(body), status
        return render_template("error.html", status=status, body=body), status

    @app.errorhandler(AppError)
    def app_error(exc: AppError) -> Any:
        response = respond(exc.status, exc.to_dict())
        extra_headers = getattr(exc, "headers", None)  # e.g. Retry-After of a login lockout
        if extra_headers:
            body, status = response
            response = (body, status, extra_headers)
        return response

    @app.errorhandler(NoProcessDeployed)
    def no_process(exc: NoProcessDeployed) -> Any:
        return respond(503, {"error": "no_process", "message": str(exc)})

    @app.errorhandler(CaseConflict)
    def case_conflict(exc: CaseConflict) -> Any:
        return app_error(Conflict(str(exc)))

    @app.errorhandler(EngineIncidentError)
    def engine_incident(exc: EngineIncidentError) -> Any:
        # the action reached the process, which failed: the incident is kept (a 2xx answer
        # commits it) and the case stays at its last good state for an administrator to retry
        return respond(202, {"status": "incident", "incident": exc.incident.id,
                             "message": "流程在此步出错，已记录并通知管理员 / the process failed on this step; "
                                        "an administrator was notified and can retry it"})

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return respond(400, {"error": "csrf", "message": "页面已过期，请刷新后重试 / the form expired; reload the page"})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return respond(exc.code or 500, {"error": exc.name.lower().replace(" ", "_"), "message": exc.description})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        app.logger.exception("unexpected error")
        return respond(500, {"error": "internal", "message": "服务器内部错误，已记录 / internal error, logged"})


def register_commands(app: Flask) -> None:
    from app.cli import register
    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.core.i18n import get_locale, gettext
    from app.orgs.models import ROLES
    from app.web.helpers import format_dt

    from app.cases.privacy import reporter_visible
    app.jinja_env.globals.update(_=gettext, get_locale=get_locale, ROLES=ROLES, reporter_visible=reporter_visible)
    app.jinja_env.filters["dt"] = format_dt
