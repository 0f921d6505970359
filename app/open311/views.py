"""``/open311/v2``: GeoReport v2 over HTTP. Thin views: read the parameters, call a query or an
operation, write the answer in the format the URL's extension names (``.xml`` or ``.json``).

Every answer of this blueprint, errors included, is in GeoReport's format: an error is
``<errors><error><code/><description/></error></errors>`` (or its JSON array) with 400, 403 or
404; nothing here answers with a page or a 500.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound as RoutingNotFound

from app.cases.models import LOCAL_TZ
from app.core import clock
from app.core.db import commit_before_answer, session
from app.core.errors import AppError
from app.core.ids import parse_id
from app.engine.host import NoProcessDeployed
from app.open311 import attributes, operations, queries, services
from app.open311.errors import Open311Error, bad_request, from_app_error, not_found
from app.open311.serialize import FORMATS, answer

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_SPAN = timedelta(days=90)
CASE_NUMBER = re.compile(r"^TG\d{8}(\d+)$")


# ---------------------------------------------------------------------------- request helpers

def _fmt() -> str:
    """The answer's format: the URL's extension; XML (the spec's mandatory format) otherwise."""
    fmt = (request.view_args or {}).get("fmt")
    if fmt is None:
        tail = request.path.rsplit("/", 1)[-1]
        fmt = tail.rsplit(".", 1)[-1] if "." in tail else None
    return fmt if fmt in FORMATS else "xml"


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise not_found(f"format {fmt!r} is not served: use .xml or .json")


def _locale() -> str:
    return "en" if request.accept_languages.best_match(["zh", "en"]) == "en" else "zh"


def _param(name: str) -> str | None:
    value = request.values.get(name)
    return value.strip() if value and value.strip() else None


@bp.before_request
def check_jurisdiction() -> None:
    """One jurisdiction is served: jurisdiction_id may be left out, but a wrong one is a 404."""
    given = _param("jurisdiction_id")
    expected = current_app.config["SETTINGS"].OPEN311_JURISDICTION
    if given is not None and given != expected:
        raise not_found(f"jurisdiction_id {given!r} not found: this endpoint serves {expected!r}")


# ---------------------------------------------------------------------------- discovery and services

@bp.get("/")
@bp.get("/discovery.<fmt>")
def discovery(fmt: str = "xml") -> Any:
    _check_format(fmt)
    settings = current_app.config["SETTINGS"]
    changed = attributes.form_changed_at()
    changeset = datetime.fromtimestamp(changed, LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if changed else "2026-11-29 00:00"
    body = {
        "changeset": changeset,
        "contact": "城市运行管理中心（12345） / City operations centre (12345)",
        "key_service": "API 密钥由城运中心管理员签发（管理 › API 密钥） / API keys are issued by an administrator "
                       "of the operations centre (Admin › API keys)",
        "endpoints": [{"specification": SPECIFICATION, "url": request.url_root.rstrip("/") + bp.url_prefix,
                       "changeset": changeset, "type": "production" if settings.ENV == "production" else "test",
                       "formats": ["text/xml", "application/json"]}],
    }
    return answer("discovery", body, fmt)


@bp.get("/services.<fmt>")
def service_list(fmt: str) -> Any:
    _check_format(fmt)
    metadata, locale = services.has_metadata(), _locale()
    return answer("services", [s.as_dict(metadata, locale) for s in services.list_services()], fmt)


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str) -> Any:
    _check_format(fmt)
    service = services.find_service(code)
    if service is None:
        raise not_found(f"service_code {code!r} not found (GET services.{fmt} lists them)")
    body = {"service_code": service.code, "attributes": [a.as_dict() for a in attributes.attributes(_locale())]}
    return answer("service_definition", body, fmt)


# ---------------------------------------------------------------------------- requests

@bp.post("/requests.<fmt>")
def create_request(fmt: str) -> Any:
    _check_format(fmt)
    key = operations.authenticate(_param("api_key"))
    code = _param("service_code")
    if code is None:
        raise bad_request("service_code: required (GET services lists them)")
    service = services.find_service(code)
    if service is None:
        raise not_found(f"service_code {code!r} not found (GET services.{fmt} lists them)")
    locale = _locale()
    filed = operations.file_request(service, request.values, operations.attribute_values(request.values), key,
                                    request.headers.get("Idempotency-Key"), locale)
    commit_before_answer()
    body = [{"service_request_id": str(filed.case.id), "token": filed.token,
             "service_notice": operations.service_notice(filed.case, locale), "account_id": filed.account_id}]
    return answer("requests", body, fmt, 201 if filed.created else 200)


def request_id(text: str) -> int | None:
    """A service_request_id: the case's id, or its number (TG + date + id); None if neither."""
    m = CASE_NUMBER.match(text)
    return parse_id(m.group(1) if m else text)


def _ids(text: str) -> tuple[int, ...]:
    ids: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        ident = request_id(part)
        if ident is None:
            raise bad_request(f"service_request_id: {part[:40]!r} is not a request id")
        ids.append(ident)
    if len(ids) > queries.MAX_RESULTS:
        raise bad_request(f"service_request_id: at most {queries.MAX_RESULTS} ids at once")
    return tuple(ids)


def _moment(name: str) -> datetime | None:
    text = _param(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise bad_request(f"{name}: {text[:40]!r} is not a W3C date-time such as 2026-11-01T00:00:00Z") from None
    return moment.replace(tzinfo=LOCAL_TZ) if moment.tzinfo is None else moment


def _list(name: str) -> list[str]:
    return [p.strip() for p in (_param(name) or "").split(",") if p.strip()]


def request_filters() -> queries.Filters:
    """GET requests' parameters, checked; service_request_id overrides all the others."""
    ids = _param("service_request_id")
    if ids is not None:
        return queries.Filters(ids=_ids(ids))
    errors: list[str] = []
    keys = []
    for code in _list("service_code"):
        key = services.code_to_key(code)
        if key is None:
            errors.append(f"service_code: {code[:40]!r} is not a service code such as event-06001")
        keys.append(key or "")
    statuses = _list("status")
    wrong = [s for s in statuses if s not in ("open", "closed")]
    if wrong:
        errors.append(f"status: {', '.join(wrong)[:60]} is not open or closed")
    start, end = None, None
    try:
        start, end = _moment("start_date"), _moment("end_date")
    except Open311Error as exc:
        errors.extend(exc.descriptions)
    if errors:
        raise bad_request(*errors)
    if start is None and end is None:
        start = clock.now() - DEFAULT_SPAN
    elif start is None:
        assert end is not None
        start = end - DEFAULT_SPAN
    elif end is None:
        end = start + DEFAULT_SPAN
    elif end < start:
        raise bad_request("end_date: must not be before start_date")
    elif end - start > DEFAULT_SPAN:
        raise bad_request("start_date and end_date: may not span more than 90 days")
    return queries.Filters(category_keys=tuple(keys), start=start, end=end, statuses=tuple(statuses))


@bp.get("/requests.<fmt>")
def list_requests(fmt: str) -> Any:
    _check_format(fmt)
    cases = queries.find_cases(request_filters())
    return answer("requests", queries.request_dicts(cases, _locale()), fmt)


@bp.get("/requests/<service_request_id>.<fmt>")
def get_request(service_request_id: str, fmt: str) -> Any:
    _check_format(fmt)
    ident = request_id(service_request_id)
    case = queries.public_case(ident) if ident is not None else None
    if case is None:
        raise not_found(f"service_request_id {service_request_id[:40]!r} not found")
    return answer("requests", queries.request_dicts([case], _locale()), fmt)


@bp.get("/tokens/<token>.<fmt>")
def get_token(token: str, fmt: str) -> Any:
    _check_format(fmt)
    row = operations.token_request(token)
    if row is None:
        raise not_found(f"token {token[:40]!r} not found")
    return answer("requests", [{"service_request_id": str(row.case_id), "token": row.token}], fmt)


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Any:
    """Any other URL below /open311/v2: 404 (or 405 for a known resource) in GeoReport's format."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in ("GET", "POST"):
        if method == request.method:
            continue
        try:
            endpoint, _args = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "open311.unknown":
            raise Open311Error(405, f"{request.method} is not allowed on {request.path}; use {method}")
    raise not_found(f"no resource {request.path}: see {bp.url_prefix}/discovery.xml")


# ---------------------------------------------------------------------------- errors, in GeoReport's format

def _error(exc: Open311Error) -> Any:
    session.rollback()
    return answer("errors", exc.body(), _fmt(), exc.status)


@bp.errorhandler(Open311Error)
def open311_error(exc: Open311Error) -> Any:
    return _error(exc)


@bp.errorhandler(AppError)
def app_error(exc: AppError) -> Any:
    return _error(from_app_error(exc))


@bp.errorhandler(NoProcessDeployed)
def no_process(exc: NoProcessDeployed) -> Any:
    current_app.logger.error("open311: %s", exc)
    return _error(Open311Error(503, "the service cannot take requests right now; try again later"))


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Any:
    if isinstance(exc, RoutingNotFound):
        return _error(not_found(f"no resource {request.path}"))
    if isinstance(exc, MethodNotAllowed):
        return _error(Open311Error(405, f"{request.method} is not allowed on {request.path}"))
    return _error(Open311Error(exc.code or 400, exc.description or exc.name))


@bp.errorhandler(Exception)
def unexpected(exc: Exception) -> Any:
    # GeoReport's "general service error": 400 in its format, nothing stored (the request rolls back)
    current_app.logger.exception("open311: unexpected error")
    return _error(bad_request("general service error: the request was not processed; it was logged for the "
                              "operations centre"))
