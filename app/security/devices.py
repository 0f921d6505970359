"""Device cookies: the browsers a user has logged in from are not slowed down by others' guessing.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies": per-username and per-address
locks stop a guesser, but they also stop everyone else. One person's wrong logins would lock out a
whole operations centre behind one NAT address (or every user, behind a proxy without
``TRUSTED_PROXIES``), and anyone could lock a named dispatcher out by guessing at their name.

So a successful login on the login page gives the browser a long-lived, signed, ``HttpOnly``
cookie naming the user (``Secure`` and ``__Host-`` in production). A login attempt that presents
it for the username it tries is *trusted*: it is exempt from that username's and that address's
locks, and its wrong passwords count against the cookie alone. After
``LOGIN_DEVICE_MAX_FAILURES`` of them in a row the cookie's row is deleted, so the cookie is worth
nothing and later attempts are untrusted (subject to both locks, as attempts without a cookie
always are). A stolen or forged cookie, or one made for another user, gives no exemption.

The server keeps one :class:`~app.security.models.LoginDevice` row per cookie entry (the SHA-256
of its random secret), so the budget, the expiry and the rotation hold on every worker: each
successful login replaces the entry with a new secret, and a copy of the old one gives nothing.
A browser remembers up to :data:`MAX_USERS` users (a shared console of a shift).

The API's token endpoint has no cookies: its attempts are always untrusted.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Response, current_app, has_request_context, request
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, select, update

from app.core import clock
from app.core.db import session
from app.orgs.models import User
from app.security.models import LoginDevice
from app.security.sessions import secret_hash

MAX_USERS = 8  # users one browser's cookie remembers; the oldest goes first
COOKIE_MAX_CHARS = 4000  # browsers keep cookies up to 4096 bytes
_SALT = "tongguan.login-device"


def cookie_name() -> str:
    """``__Host-device`` in production (Secure, path /, this host only), ``device`` otherwise."""
    return "__Host-device" if current_app.config["SETTINGS"].is_production else "device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)  # type: ignore[arg-type]


def _name(username: str) -> str:
    return username.strip().casefold()


def _entries() -> list[tuple[str, str]]:
    """The (username, secret) pairs of this browser's device cookie; none when it is missing,
    malformed, forged (bad signature) or older than LOGIN_DEVICE_MAX_AGE."""
    if not has_request_context():
        return []
    raw = request.cookies.get(cookie_name())
    if not raw or len(raw) > COOKIE_MAX_CHARS:
        return []
    try:
        data: Any = _serializer().loads(raw, max_age=current_app.config["SETTINGS"].LOGIN_DEVICE_MAX_AGE)
    except BadData:
        return []
    if not isinstance(data, list):
        return []
    return [(e[0], e[1]) for e in data[-MAX_USERS:]
            if isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) and 0 < len(x) <= 100 for x in e)]


def trusted(username: str, now: datetime | None = None) -> LoginDevice | None:
    """The device row that makes a login attempt for ``username`` trusted, if this browser has one:
    the cookie's entry for that name, still on record for that very user, not expired."""
    name = _name(username)
    hashes = [secret_hash(s) for u, s in _entries() if u == name]
    if not hashes:
        return None
    now = now or clock.wall_now()
    found = session.execute(select(LoginDevice, User.username).join(User, User.id == LoginDevice.user_id)
                            .where(LoginDevice.key_hash.in_(hashes), LoginDevice.expires_at > now)).first()
    if found is None or _name(found[1]) != name:
        return None
    device: LoginDevice = found[0]
    if device.failures >= current_app.config["SETTINGS"].LOGIN_DEVICE_MAX_FAILURES:
        return None
    return device


def record_failure(device: LoginDevice) -> bool:
    """Count a wrong password from a trusted browser; True when that spent its budget (the cookie
    is then worth nothing: its row is gone). Atomic, so two workers both count."""
    table = LoginDevice.__table__
    failures = session.execute(update(table).where(table.c.id == device.id)
                               .values(failures=table.c.failures + 1).returning(table.c.failures)).scalar_one_or_none()
    if failures is not None and failures < current_app.config["SETTINGS"].LOGIN_DEVICE_MAX_FAILURES:
        return False
    session.execute(delete(table).where(table.c.id == device.id))
    return True


def remember(user: User, used: LoginDevice | None) -> str:
    """After a successful login: a new device entry for ``user`` (the one used, if any, is
    replaced: rotation), and the new value of this browser's cookie."""
    settings = current_app.config["SETTINGS"]
    now = clock.wall_now()
    name = _name(user.username)
    presented = _entries()
    others = [(u, s) for u, s in presented if u != name]
    gone = [secret_hash(s) for u, s in presented if u == name] + ([used.key_hash] if used is not None else [])
    secret = secrets.token_urlsafe(32)
    entries = [*others, (name, secret)][-MAX_USERS:]
    value = _serializer().dumps([list(e) for e in entries])
    while len(value) > COOKIE_MAX_CHARS and len(entries) > 1:  # long names: fewer users fit
        entries = entries[1:]
        value = _serializer().dumps([list(e) for e in entries])
    kept = {s for _u, s in entries}
    gone += [secret_hash(s) for _u, s in others if s not in kept]  # the oldest users this browser forgets
    table = LoginDevice.__table__
    if gone:
        session.execute(delete(table).where(table.c.key_hash.in_(gone)))
    session.execute(table.insert().values(key_hash=secret_hash(secret), user_id=user.id, created_at=now,
                                          expires_at=now + timedelta(seconds=settings.LOGIN_DEVICE_MAX_AGE),
                                          failures=0))
    return value


def forget_presented(user: User) -> int:
    """This browser's cookie stops being trusted for ``user`` (its session was used to guess the
    password); returns how many entries ended."""
    hashes = [secret_hash(s) for u, s in _entries() if u == _name(user.username)]
    if not hashes:
        return 0
    table = LoginDevice.__table__
    result = session.execute(delete(table).where(table.c.key_hash.in_(hashes), table.c.user_id == user.id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_cookie(response: Response, value: str) -> None:
    settings = current_app.config["SETTINGS"]
    response.set_cookie(cookie_name(), value, max_age=settings.LOGIN_DEVICE_MAX_AGE, path="/", httponly=True,
                        secure=settings.is_production, samesite="Strict")


def purge_expired(now: datetime) -> int:
    """Delete device entries past their expiry (the hourly purge)."""
    result = session.execute(delete(LoginDevice).where(LoginDevice.expires_at < now)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
