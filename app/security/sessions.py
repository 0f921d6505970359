"""Server-side browser sessions and API tokens.

The browser's (signed) cookie carries only a random session secret; a bearer token *is* a random
secret. The server keeps the SHA-256 of each secret in ``auth_sessions``, so a session or token is
good exactly as long as its row says: logout or a revoke ends it on every worker at once, and the
timeouts are checked on the server, against the real time (``clock.wall_now``: business time may be
moved ahead by tests and ``sweep --at``).

Reading a session costs one indexed look-up. Its ``last_seen_at`` (and the idle limit that follows
from it) is written at most once per :data:`TOUCH_EVERY`, so pages and API calls do not each add a
write; the idle timeout is therefore exact to within that minute. That refresh is not part of the
request's transaction: it is written once the request has committed or rolled back, in a short
transaction of its own (:func:`write_refreshes`). Inside the request it would take SQLite's write
lock from the first look-up to the final commit (the whole engine computation of a POST; the house
rule is that a request holds it only for its final writes), keep the session row locked on
PostgreSQL for as long, and vanish with the rollback of any 4xx answer.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import logging

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.core import clock
from app.core.db import session
from app.orgs.models import User
from app.security.models import AuthSession

TOUCH_EVERY = timedelta(seconds=60)
log = logging.getLogger(__name__)


def secret_hash(secret: str) -> str:
    """The stored form of a session secret or token (a hash: the secrets are 256 random bits)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def client_ip() -> str | None:
    """The client's address (the peer, or the address trusted proxies name: TRUSTED_PROXIES)."""
    return (request.remote_addr or None) if has_request_context() else None


def _user_agent() -> str | None:
    if not has_request_context():
        return None
    agent = request.headers.get("User-Agent", "")
    return agent[:200] or None


def open_session(user_id: int, kind: str, *, max_age: int, idle: int | None) -> tuple[AuthSession, str]:
    """A new session row for ``user_id`` and the secret only the client gets (flushed)."""
    now = clock.wall_now()
    secret = secrets.token_urlsafe(32)
    row = AuthSession(key_hash=secret_hash(secret), kind=kind, user_id=user_id, created_at=now, last_seen_at=now,
                      expires_at=now + timedelta(seconds=max_age),
                      idle_expires_at=now + timedelta(seconds=idle) if idle else None,
                      ip=client_ip(), user_agent=_user_agent())
    session.add(row)
    session.flush()
    return row, secret


def open_web_session(user_id: int) -> tuple[AuthSession, str]:
    settings = current_app.config["SETTINGS"]
    return open_session(user_id, "web", max_age=settings.SESSION_MAX_AGE, idle=settings.SESSION_IDLE_TIMEOUT)


def open_api_token(user_id: int) -> tuple[AuthSession, str]:
    return open_session(user_id, "api", max_age=current_app.config["SETTINGS"].TOKEN_MAX_AGE, idle=None)


def find_live(secret: str, kind: str) -> AuthSession | None:
    """The live session of ``secret``, its last-seen time moved on if a minute has passed."""
    found = find_live_with_user(secret, kind)
    return found[0] if found is not None else None


def find_live_with_user(secret: str, kind: str) -> tuple[AuthSession, User] | None:
    """The live session of ``secret`` and its user with their roles: one query for the session
    and user, one for the roles (what every page and uncached API call needs)."""
    if not secret or len(secret) > 100:
        return None
    found = session.execute(select(AuthSession, User).join(User, User.id == AuthSession.user_id)
                            .options(selectinload(User.roles))
                            .where(AuthSession.key_hash == secret_hash(secret), AuthSession.kind == kind)).first()
    now = clock.wall_now()
    if found is None or not found[0].live_at(now):
        return None
    row, user = found
    if now - row.last_seen_at >= TOUCH_EVERY:
        _touch(row, now)
    return row, user


def _touch(row: AuthSession, now: datetime) -> None:
    """Move the session's last-seen time (and idle limit) on: after the request, or at once outside one."""
    values: dict[str, datetime] = {"last_seen_at": now}
    if row.idle_expires_at is not None:
        values["idle_expires_at"] = now + timedelta(seconds=current_app.config["SETTINGS"].SESSION_IDLE_TIMEOUT)
    for name, value in values.items():  # what this request shows; not a change for the request to flush
        set_committed_value(row, name, value)
    if has_request_context():
        g.setdefault("session_refreshes", {})[row.id] = values
    else:
        _write_refresh(row.id, values)


def _write_refresh(row_id: int, values: dict[str, datetime]) -> None:
    """One short transaction on a connection of its own; a no-op when the session ended meanwhile
    or another worker has refreshed it within the minute."""
    table = AuthSession.__table__
    cutoff = values["last_seen_at"] - TOUCH_EVERY
    with current_app.extensions["db_engine"].begin() as conn:
        conn.execute(update(table).where(table.c.id == row_id, table.c.revoked_at.is_(None),
                                         table.c.last_seen_at <= cutoff).values(**values))


def write_refreshes(_exc: BaseException | None = None) -> None:
    """Write the last-seen refreshes of this request (teardown: its transaction has ended by now,
    committed or rolled back, so the refresh neither waits for it nor goes with its rollback)."""
    pending: dict[int, dict[str, datetime]] | None = g.pop("session_refreshes", None)
    if not pending:
        return
    from app.core import sqlite_writers
    if getattr(sqlite_writers._held, "count", 0):  # the request's transaction did not end (a failed hook)
        log.warning("session last-seen refresh skipped: this thread still holds the SQLite writer lock")
        return
    for row_id, values in pending.items():
        try:
            _write_refresh(row_id, values)
        except SQLAlchemyError:  # the answer has gone out; the next request refreshes again
            log.warning("session last-seen refresh of session %s failed", row_id, exc_info=True)


def init_app(app: Flask) -> None:
    app.teardown_request(write_refreshes)


def revoke(row_id: int, reason: str) -> bool:
    """End one session or token now; False if it had ended already."""
    result = session.execute(update(AuthSession).where(AuthSession.id == row_id, AuthSession.revoked_at.is_(None))
                             .values(revoked_at=clock.wall_now(), revoked_reason=reason)
                             .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_user(user_id: int, reason: str, *, keep: int | None = None, kind: str | None = None) -> int:
    """End every live session and token of a user (but ``keep``); returns how many were ended."""
    now = clock.wall_now()
    stmt = (update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
                                      AuthSession.expires_at > now)
            .values(revoked_at=now, revoked_reason=reason).execution_options(synchronize_session=False))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    if kind is not None:
        stmt = stmt.where(AuthSession.kind == kind)
    count = session.execute(stmt).rowcount  # type: ignore[attr-defined]
    from app.core.auth import forget_user_tokens
    forget_user_tokens(user_id)
    return int(count)


def live_sessions(user_id: int) -> list[AuthSession]:
    """A user's sessions and tokens that are still good, newest first (the account page)."""
    now = clock.wall_now()
    rows = session.scalars(select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
                                                     AuthSession.expires_at > now)
                           .order_by(AuthSession.id.desc())).all()
    return [r for r in rows if r.live_at(now)]


KEEP_ENDED = timedelta(days=7)  # ended sessions stay listed this long (the audit trail keeps the history)


def purge_ended(now: datetime | None = None) -> int:
    """Delete sessions and tokens that ended more than :data:`KEEP_ENDED` ago, failure counters
    that have started over anyway and expired device cookies; returns how many sessions went
    (scheduler, hourly)."""
    from sqlalchemy import delete, or_

    from app.security.models import LoginThrottle
    now = now or clock.wall_now()
    cutoff = now - KEEP_ENDED
    gone = session.execute(delete(AuthSession).where(or_(AuthSession.expires_at < cutoff, AuthSession.revoked_at < cutoff,
                                                         AuthSession.idle_expires_at < cutoff))
                           .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    quiet = now - timedelta(seconds=current_app.config["SETTINGS"].LOGIN_WINDOW)
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < quiet,
                                                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < quiet))
                    .execution_options(synchronize_session=False))
    from app.security.devices import purge_expired
    purge_expired(now)
    return int(gone)
