"""Everything Open311 changes: API keys (issue, revoke, the demo key) and filing a request.

Operations flush, never commit: the request (or the CLI's transaction) commits once. A request
is filed through :func:`app.cases.operations.create_case`, the one intake operation, so an Open311
case is validated, deduplicated, routed and audited exactly like any other.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import insert, or_, select, update

from app.cases import channels
from app.cases import operations as case_ops
from app.cases.models import Case
from app.core.audit import record
from app.core.db import session, utcnow
from app.core.errors import AppError, NotFound, ValidationFailed
from app.core.ids import parse_id
from app.open311 import attributes
from app.open311.errors import Open311Error, bad_request, forbidden, from_app_error
from app.open311.models import NAME_MAX, ApiKey, Open311Request
from app.open311.services import Service
from app.orgs.directory import directory

DEMO_KEY = "demo"
PREFIX_LENGTH = 8
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key
DESCRIPTION_MAX = 4000
TITLE_PREVIEW = 30

# ============================================================================ API keys


def key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def issue_key(name: str, actor: Any = None) -> tuple[ApiKey, str]:
    """A new key for the client ``name``; returns the row and the plaintext, shown this once."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed("名称有误 / invalid name", errors={"name": [
            f"请填写客户端名称（最多 {NAME_MAX} 个字） / give the client's name (at most {NAME_MAX} characters)"]})
    plaintext = secrets.token_urlsafe(24)
    key = ApiKey(name=name, key_hash=key_hash(plaintext), prefix=plaintext[:PREFIX_LENGTH],
                 created_by_id=getattr(actor, "id", None), created_at=utcnow())
    session.add(key)
    session.flush()
    record("open311_key_issued", actor=actor, key_id=key.id, name=name, prefix=key.prefix)
    return key, plaintext


def revoke_key(key: ApiKey, actor: Any = None) -> ApiKey:
    """Stop accepting ``key`` from now on; the cases it filed stay as they are."""
    if key.revoked_at is not None:
        raise ValidationFailed("密钥已吊销 / key already revoked", errors={"key": [
            f"密钥 {key.prefix}… 已于此前吊销 / key {key.prefix}… is revoked already"]})
    key.revoked_at = utcnow()
    session.flush()
    clear_key_cache()  # this process at once; the others within KEY_TTL seconds
    record("open311_key_revoked", actor=actor, key_id=key.id, name=key.name, prefix=key.prefix)
    return key


def find_key(ref: str) -> ApiKey:
    """A key by its id or the first characters shown for it (its prefix)."""
    ref = (ref or "").strip()
    ident = parse_id(ref)
    if ident is not None:
        key = session.get(ApiKey, ident)
        if key is not None:
            return key
    if ref:
        found = session.scalars(select(ApiKey).where(ApiKey.prefix.startswith(ref[:PREFIX_LENGTH], autoescape=True))
                                .order_by(ApiKey.id)).all()
        found = [k for k in found if k.prefix.startswith(ref) or ref.startswith(k.prefix)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValidationFailed("前缀不唯一 / ambiguous prefix", errors={"key": [
                f"{len(found)} 个密钥以 {ref} 开头，请用编号 / {len(found)} keys start with {ref}; use the id"]})
    raise NotFound(f"没有这个密钥 / no key {ref!r}")


def list_keys() -> list[ApiKey]:
    """Every key, active ones first, newest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


def ensure_demo_key() -> bool:
    """The demo city's key, ``demo`` (demo data only); True when it was created now."""
    if session.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash(DEMO_KEY))) is not None:
        return False
    session.add(ApiKey(name="演示客户端 demo client", key_hash=key_hash(DEMO_KEY), prefix=DEMO_KEY,
                       created_at=utcnow()))
    session.flush()
    record("open311_key_issued", actor=None, name="demo", prefix=DEMO_KEY, via="demo data")
    return True


@dataclass(frozen=True)
class KeyInfo:
    """What a request needs of its key (a plain value, cached per process for KEY_TTL seconds)."""

    id: int
    prefix: str
    revoked: bool


# Every POST names its key; like the API's bearer tokens (app.core.auth), the key behind it is
# cached briefly per process, so a revocation takes effect within KEY_TTL seconds.
KEY_TTL = 5.0
_key_cache: dict[str, tuple[float, KeyInfo | None]] = {}
_last_used_written: dict[int, float] = {}


def clear_key_cache() -> None:
    _key_cache.clear()
    _last_used_written.clear()


def _key_info(digest: str) -> KeyInfo | None:
    now = time.monotonic()
    cache_key = f"{id(current_app.extensions.get('db_engine'))}:{digest}"  # tests run several databases
    hit = _key_cache.get(cache_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = session.execute(select(ApiKey.id, ApiKey.prefix, ApiKey.revoked_at).where(ApiKey.key_hash == digest)).first()
    info = KeyInfo(row.id, row.prefix, row.revoked_at is not None) if row is not None else None
    if len(_key_cache) > 10_000:
        _key_cache.clear()
    _key_cache[cache_key] = (now + KEY_TTL, info)
    return info


def authenticate(plaintext: str | None) -> KeyInfo:
    """The active key of ``api_key``; 403 in GeoReport's format without one.

    ``last_used_at`` is written at most once a minute per key and process (one conditional UPDATE)."""
    if not plaintext:
        raise forbidden("api_key is missing: POST requests needs the api_key an administrator issued to your app")
    key = _key_info(key_hash(plaintext))
    if key is None:
        raise forbidden("Invalid api_key received -- can't proceed with create_request")
    if key.revoked:
        raise forbidden("api_key has been revoked -- can't proceed with create_request")
    tick = time.monotonic()
    if tick - _last_used_written.get(key.id, -1e9) > LAST_USED_EVERY.total_seconds():
        _last_used_written[key.id] = tick
        now = utcnow()
        session.execute(update(ApiKey).where(ApiKey.id == key.id, or_(ApiKey.last_used_at.is_(None),
                                                                      ApiKey.last_used_at < now - LAST_USED_EVERY))
                        .values(last_used_at=now).execution_options(synchronize_session=False))
    return key


@dataclass(frozen=True)
class KeyActor:
    """The Open311 client behind a request, as the audit trail names it: ``open311:<prefix>``.

    It is no user (``id`` is None, so the case has no ``created_by``); the audit events of the new
    case carry this name, and ``open311_requests`` links the case to the key itself."""

    key_id: int
    prefix: str
    id: None = None

    @property
    def username(self) -> str:
        return f"open311:{self.prefix}"


# ============================================================================ POST requests

ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
#: our field names (create_case's data) → the GeoReport parameter to name in an error
PARAMETERS = {"title": "description", "description": "description", "address": "address_string",
              "lat": "lat", "lng": "long", "category_code": "service_code", "reporter.name": "first_name/last_name",
              "reporter.phone": "phone", "reporter": "first_name/last_name/phone"}


@dataclass
class Filed:
    case: Case
    created: bool
    token: str | None
    account_id: str | None


def attribute_values(form: Any) -> dict[str, list[str]]:
    """``attribute[CODE]=v`` and ``attribute[CODE][]=v1&attribute[CODE][]=v2`` as {CODE: [values]}."""
    out: dict[str, list[str]] = {}
    for name in form:
        m = ATTRIBUTE.match(name)
        if m:
            out.setdefault(m.group(1), []).extend(form.getlist(name))
    return out


def _text(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None  # an empty parameter is an absent one


def _coordinate(values: Mapping[str, Any], name: str, limit: float, errors: list[str]) -> float | None:
    text = _text(values, name)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        errors.append(f"{name}: must be a number (WGS84 degrees), not {text[:40]!r}")
        return None
    if not -limit <= number <= limit:
        errors.append(f"{name}: must be between -{limit:g} and {limit:g}")
        return None
    return number


def _near(lat: float, lng: float, locale: str) -> str:
    """An address for a point: its coordinates and the nearest community (the case's grid)."""
    units = directory()
    info = units.by_code.get(units.nearest(lat, lng) or "")
    names = []
    while info is not None and info.kind in ("community", "street", "district"):
        names.insert(0, info.name)
        info = units.by_code.get(info.parent_code or "")
    place = "".join(names)
    return f"坐标 {lat:.6f}, {lng:.6f}" + (f"（{place}附近）" if place else "")


def _reporter_name(first: str | None, last: str | None) -> str | None:
    if first and last:
        cjk = re.search(r"[\u4e00-\u9fff]", first + last)
        return f"{last}{first}" if cjk else f"{first} {last}"  # 姓在前: 张 + 三 → 张三
    return first or last


def case_data(service: Service, values: Mapping[str, Any], attrs: dict[str, list[str]],
              locale: str = "zh") -> dict[str, Any]:
    """The one translation of a GeoReport POST into create_case's data (400 names what is wrong).

    Attribute answers and the standard parameters email, device_id, account_id, address_id and
    media_url become the case's ``extension`` (the Open311 channel form); the reporter's name and
    phone go where every channel keeps them.
    """
    errors: list[str] = []
    lat = _coordinate(values, "lat", 90, errors)
    lng = _coordinate(values, "long", 180, errors)
    if (lat is None) != (lng is None) and not errors:
        errors.append("lat and long: send both, or neither")
    address_string, address_id = _text(values, "address_string"), _text(values, "address_id")
    if lat is None and lng is None and not address_string and not address_id and not errors:
        errors.append("location: send lat and long, or address_string, or address_id")
    description = _text(values, "description")
    if description is not None and len(description) > DESCRIPTION_MAX:
        errors.append(f"description: at most {DESCRIPTION_MAX} characters")
    answers, attr_errors = attributes.coerce_attributes(attrs)
    errors.extend(f"attribute[{code}]: {message}" for code, message in attr_errors.items())
    extension = {name: _text(values, name) for name in attributes.STANDARD_FIELDS}
    extension = {k: v for k, v in extension.items() if v is not None} | answers
    # checked here too (create_case checks it again) so one answer names every wrong parameter
    for field, messages in channels.validate_extension(attributes.CHANNEL, extension, locale).items():
        errors.extend(f"{_extension_parameter(field)}: {m}" for m in messages if field.split(".", 1)[-1] not in attr_errors)
    if errors:
        raise bad_request(*errors)

    if address_string:
        address = address_string
    elif lat is not None and lng is not None:
        address = _near(lat, lng, locale)
    else:
        address = f"地址编号 {address_id}"
    text = description or service.name
    preview = text if len(text) <= TITLE_PREVIEW else text[:TITLE_PREVIEW] + "…"
    title = service.name if not description else f"{service.name}：{' '.join(preview.split())}"
    phone = _text(values, "phone")
    reporter = {"name": _reporter_name(_text(values, "first_name"), _text(values, "last_name")),
                "phone": re.sub(r"[\s()]", "", phone) if phone else None}
    plain = {"channel": attributes.CHANNEL, "title": title[:200], "description": text, "address": address,
             "lat": lat, "lng": lng, "category_code": service.key,
             "reporter": {k: v for k, v in reporter.items() if v} or None}
    try:
        data: dict[str, Any] = _case_schema().load(plain)
    except ValidationError as exc:
        raise bad_request(*_schema_errors(exc.messages)) from None
    data["extension"] = extension
    return data


_schema: Any = None


def _case_schema() -> Any:
    """The plain API's schema of a new case (one instance: building one costs more than a load)."""
    global _schema
    if _schema is None:
        from app.api.schemas import CaseCreateSchema
        _schema = CaseCreateSchema()
    return _schema


def _schema_errors(messages: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in (messages.items() if isinstance(messages, dict) else [("", messages)]):
        name = f"{prefix}.{key}" if prefix and key else (key or prefix)
        if isinstance(value, dict):
            out.extend(_schema_errors(value, name))
        else:
            for message in value if isinstance(value, list) else [value]:
                out.append(f"{PARAMETERS.get(name, name)}: {message}")
    return out


def _extension_parameter(field: str) -> str:
    """``extension.email`` → ``email``; ``extension.duration`` → ``attribute[duration]``."""
    name = field.split(".", 1)[1] if field.startswith("extension.") else field
    if name in attributes.STANDARD_FIELDS or name == "extension":
        return name
    return f"attribute[{name}]"


def file_request(service: Service, values: Mapping[str, Any], attrs: dict[str, list[str]], key: KeyInfo,
                 idempotency_key: str | None = None, locale: str = "zh") -> Filed:
    """File a GeoReport POST as a case; a repeated Idempotency-Key answers with the first case."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 120:
        raise bad_request("Idempotency-Key: 1 to 120 characters")
    data = case_data(service, values, attrs, locale)
    actor = KeyActor(key.id, key.prefix)
    try:
        case, created, _started = case_ops.create_case(data, cast(Any, actor), idempotency_key, locale=locale)
    except AppError as exc:
        rename = {**PARAMETERS, **{f: _extension_parameter(f) for f in (exc.errors or {}) if f.startswith("extension")}}
        raise from_app_error(exc, rename) from None
    if created:
        token = secrets.token_urlsafe(12)
        session.execute(insert(Open311Request).values(case_id=case.id, api_key_id=key.id, token=token,
                                                      created_at=utcnow()))
    else:
        token = session.scalar(select(Open311Request.token).where(Open311Request.case_id == case.id))
    return Filed(case, created, token, _text(values, "account_id"))


def service_notice(case: Case, locale: str = "zh") -> str:
    if locale == "en":
        return f"Received as work order {case.number}; quote this number to follow it up."
    return f"已受理，工单编号 {case.number}，可凭编号查询办理进度。"


def token_request(token: str) -> Open311Request | None:
    return session.scalar(select(Open311Request).where(Open311Request.token == token))


__all__ = ["Open311Error", "issue_key", "revoke_key", "find_key", "list_keys", "ensure_demo_key", "authenticate",
           "file_request", "case_data", "service_notice", "token_request", "KeyActor"]
