"""Login throttling shared by every worker: failure counters in the database.

Each failed login counts against the username tried (whether it exists or not, so the lockout
tells nothing about which names exist) and against the client address. From the
``LOGIN_MAX_FAILURES``-th failure of a username (``LOGIN_MAX_FAILURES_IP``-th of an address) it is
locked for ``LOGIN_LOCKOUT`` seconds, twice as long with each further failure, at most
``LOGIN_LOCKOUT_MAX``. While locked every attempt is refused without looking at the password, so
the right password does not help a guesser. A counter starts over once it has been quiet (no
failure, no lock) for ``LOGIN_WINDOW`` seconds; a successful login clears its username's counter,
never the address's (one good account must not reset a guesser's address).

Wrong current passwords on the account page (a password change) count against the username too:
a stolen session cookie must not allow unlimited guessing. Logins from a browser with a device
cookie for the username are not counted or locked here (:mod:`app.security.devices`).

Counting is one upsert per key, atomic on SQLite and PostgreSQL alike, so two workers that see
failures at the same moment both count.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core import clock
from app.core.db import session
from app.security.models import LoginThrottle

KEY_MAX = 120


def user_key(username: str) -> str:
    return ("user:" + username.strip().casefold())[:KEY_MAX]


def ip_key(address: str | None) -> str:
    return ("ip:" + (address or "unknown"))[:KEY_MAX]


@dataclass(frozen=True)
class Lock:
    key: str
    until: datetime

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the lock ends (at least 1), for ``Retry-After``."""
        return max(1, math.ceil((self.until - now).total_seconds()))


def current_lock(username: str, address: str | None, now: datetime | None = None) -> Lock | None:
    """The lock that holds longest on this username or address right now, if any."""
    return _longest_lock([user_key(username), ip_key(address)], now)


def current_user_lock(username: str, now: datetime | None = None) -> Lock | None:
    """The username's lock right now, if any (the account page's current-password check)."""
    return _longest_lock([user_key(username)], now)


def _longest_lock(keys: list[str], now: datetime | None) -> Lock | None:
    now = now or clock.wall_now()
    rows = session.execute(select(LoginThrottle.key, LoginThrottle.locked_until)
                           .where(LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now)).all()
    if not rows:
        return None
    key, until = max(rows, key=lambda r: r[1])
    return Lock(key, until)


def _upsert(key: str, now: datetime, window: int) -> Any:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = LoginThrottle.__table__
    quiet_since = now - timedelta(seconds=window)
    quiet = (table.c.last_failure_at < quiet_since) & (
        table.c.locked_until.is_(None) | (table.c.locked_until < quiet_since))
    stmt = insert(table).values(key=key, failures=1, last_failure_at=now, locked_until=None)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
        "failures": case((quiet, 1), else_=table.c.failures + 1),
        "locked_until": case((quiet, None), else_=table.c.locked_until),
        "last_failure_at": now})
    return stmt.returning(table.c.failures)


def record_failure(username: str, address: str | None) -> list[Lock]:
    """Count one failed login; returns the locks this failure started (empty: none yet)."""
    settings = current_app.config["SETTINGS"]
    return _count([(user_key(username), settings.LOGIN_MAX_FAILURES),
                   (ip_key(address), settings.LOGIN_MAX_FAILURES_IP)])


def record_user_failure(username: str) -> list[Lock]:
    """Count one wrong current password on the account page against the username only (the
    guesser holds a session of that user; the address tells nothing more)."""
    return _count([(user_key(username), current_app.config["SETTINGS"].LOGIN_MAX_FAILURES)])


def _count(limits: list[tuple[str, int]]) -> list[Lock]:
    settings = current_app.config["SETTINGS"]
    now = clock.wall_now()
    started: list[Lock] = []
    for key, limit in limits:
        failures = int(session.execute(_upsert(key, now, settings.LOGIN_WINDOW)).scalar_one())
        if failures >= limit:
            seconds = min(settings.LOGIN_LOCKOUT * 2 ** min(failures - limit, 30), settings.LOGIN_LOCKOUT_MAX)
            until = now + timedelta(seconds=seconds)
            session.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(locked_until=until)
                            .execution_options(synchronize_session=False))
            started.append(Lock(key, until))
    return started


def clear_user(username: str) -> None:
    """A successful login: the username's failures are forgiven."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == user_key(username))
                    .execution_options(synchronize_session=False))


def unlock(username: str) -> bool:
    """An administrator lifts a username's lock (``flask users unlock``)."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.key == user_key(username))
                             .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]
