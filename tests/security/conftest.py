"""Fixtures for the login-security tests: users of their own (the demo users' tokens are shared by
the whole suite), a client address per test (the login throttle counts per address), and the wall
clock that session and login timeouts read."""
from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.pages import csrf, html

STRONG = "correct horse battery staple"
_addresses = itertools.count(1)


def new_address() -> str:
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}"  # TEST-NET-2: documentation addresses, never routed


@pytest.fixture()
def make_user(app: Flask) -> Callable[..., str]:
    """Create a user (password STRONG unless given) with roles; returns the username."""
    from app.core.db import transaction
    from app.orgs.operations import create_user

    def make(roles: tuple[tuple[str, str], ...] = (("operator", "city"),), password: str = STRONG) -> str:
        username = f"sec_{uuid.uuid4().hex[:10]}"
        with app.app_context(), transaction():
            create_user(username, "安全测试用户", password, list(roles))
        return username
    return make


@pytest.fixture()
def anon(app: Flask) -> Callable[[], FlaskClient]:
    """A fresh test client coming from an address of its own."""
    def make() -> FlaskClient:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = new_address()
        return client
    return make


def web_login(client: FlaskClient, username: str, password: str = STRONG) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(html(page))})


def api_token(client: FlaskClient, username: str, password: str = STRONG) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


class WallClock:
    """The real-time clock of session and login timeouts, fixed and moved by a test."""

    def __init__(self) -> None:
        from app.core import clock
        self._clock = clock
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        clock.set_wall_now(self.now)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        self._clock.set_wall_now(self.now)
        return self.now


@pytest.fixture()
def wall_clock() -> Iterator[WallClock]:
    from app.core import auth, clock
    yield WallClock()
    clock.set_wall_now(None)
    auth.clear_principal_cache()  # tokens cached at a moved clock must not outlive the test


@pytest.fixture()
def audit_since(app: Flask) -> Callable[[], Callable[..., list[dict[str, Any]]]]:
    """Mark the audit trail now; the returned function lists events added since (by action)."""
    from sqlalchemy import func, select

    from app.core.audit import AuditEvent
    from app.core.db import session

    def mark() -> Callable[..., list[dict[str, Any]]]:
        with app.app_context():
            start = session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))

        def events(*actions: str) -> list[dict[str, Any]]:
            with app.app_context():
                rows = session.scalars(select(AuditEvent).where(AuditEvent.id > start, AuditEvent.action.in_(actions))
                                       .order_by(AuditEvent.id)).all()
                return [{"action": r.action, "actor": r.actor_name, **r.detail} for r in rows]
        return events
    return mark
