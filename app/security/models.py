"""What the server remembers about logins: one row per browser session or API token, the failure
counters of the login throttle and the browsers users logged in from (device cookies). All live in
the database so every worker sees them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

SESSION_KINDS = ("web", "api")


class AuthSession(Base):
    """A browser session (``web``) or a bearer token (``api``).

    Only the SHA-256 of the random secret is stored: the cookie or the token carries the secret,
    so a copy of this table does not let anyone in. A row stops working when it is revoked
    (logout, password change, an administrator), when ``expires_at`` passes (absolute limit) or,
    for browser sessions, when ``idle_expires_at`` passes (moved on at most once a minute).
    """

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column()  # real time (clock.wall_now), set when opened
    last_seen_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    idle_expires_at: Mapped[datetime | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(40))

    def live_at(self, moment: datetime) -> bool:
        """Not revoked and within both time limits at ``moment``."""
        return (self.revoked_at is None and moment < self.expires_at
                and (self.idle_expires_at is None or moment < self.idle_expires_at))


class LoginThrottle(Base):
    """Recent failed logins of one username (``user:<name>``) or client address (``ip:<addr>``)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()


class LoginDevice(Base):
    """A browser that logged in as a user: the server's half of a device cookie.

    The cookie names the user and carries a random secret; only its SHA-256 is stored. A login
    that presents it for this user is exempt from the username and address locks
    (:mod:`app.security.devices`). ``failures`` counts its wrong passwords since its last
    successful login; at ``LOGIN_DEVICE_MAX_FAILURES`` the row is deleted and the cookie is worth
    nothing. Each successful login replaces the row (a new secret), so a copy of an older cookie
    gives nothing either.
    """

    __tablename__ = "login_devices"
    __table_args__ = (Index("ix_login_devices_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column()  # real time (clock.wall_now): the login that made it
    expires_at: Mapped[datetime] = mapped_column()
    failures: Mapped[int] = mapped_column(Integer, default=0)
