"""Every login decision goes to the audit trail: success, failure (name tried, address), lockout,
refusal during a lockout, logout, token issue and revoke, password change, revocations."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.security.conftest import STRONG, api_token, web_login
from tests.web.pages import csrf, html


def test_login_logout_and_failures_are_audited(anon: Callable[[], FlaskClient], make_user: Callable[..., str],
                                               audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    username = make_user()
    events = audit_since()
    client = anon()
    address = client.environ_base["REMOTE_ADDR"]
    web_login(client, username, "wrong password")
    web_login(client, "ghost-user-x", "whatever it is")
    web_login(client, username)
    client.post("/logout", data={"csrf_token": csrf(html(client.get("/inbox")))})
    got = events("login", "login_failed", "logout")
    assert [e["action"] for e in got] == ["login_failed", "login_failed", "login", "logout"]
    assert got[0]["username"] == username and got[0]["ip"] == address and got[0]["via"] == "page"
    assert got[0]["actor"] is None and "password" not in got[0]  # never the password tried
    assert got[1]["username"] == "ghost-user-x"
    assert got[2]["actor"] == username and got[2]["ip"] == address and got[2]["session_id"]
    assert got[3]["actor"] == username and got[3]["session_id"] == got[2]["session_id"]


def test_lockout_and_refusals_are_audited(app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str],
                                          audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    username = make_user()
    events = audit_since()
    client = anon()
    for _ in range(5):
        api_token(client, username, "wrong")
    api_token(client, username, STRONG)
    assert [e["action"] for e in events("login_failed")] == ["login_failed"] * 5
    locked = events("login_locked")
    assert len(locked) == 1 and locked[0]["locked_key"] == f"user:{username}" and locked[0]["via"] == "api"
    refused = events("login_refused")
    assert len(refused) == 1 and refused[0]["reason"] == "locked" and refused[0]["username"] == username


def test_token_issue_revoke_and_password_change_are_audited(
        app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str],
        audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    username = make_user()
    events = audit_since()
    client = anon()
    token = api_token(client, username).get_json()["token"]
    client.post("/api/v1/auth/revoke", headers={"Authorization": f"Bearer {token}"})
    app.test_cli_runner().invoke(args=["users", "password", username], input="yet another good passphrase\n" * 2)
    got = events("token_issued", "token_revoked", "password_changed", "sessions_revoked")
    assert [e["action"] for e in got] == ["token_issued", "token_revoked", "password_changed", "sessions_revoked"]
    assert got[0]["actor"] == username and got[0]["expires_at"] and got[1]["session_id"] == got[0]["session_id"]
    assert got[2]["user"] == username and got[2]["actor"] is None and got[3]["reason"] == "password changed"


def test_audit_rows_of_refused_logins_survive_the_refusal(app: Flask, anon: Callable[[], FlaskClient],
                                                          audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    """A 401 rolls the request back; the failure's audit row and counter are committed before it."""
    from sqlalchemy import select

    from app.core.db import session
    from app.security.models import LoginThrottle
    events = audit_since()
    client = anon()
    api_token(client, "ghost-audit-y", "nope")
    assert len(events("login_failed")) == 1
    with app.app_context():
        row = session.get(LoginThrottle, "user:ghost-audit-y")
        assert row is not None and row.failures == 1
        assert session.scalar(select(LoginThrottle.failures).where(
            LoginThrottle.key == f"ip:{client.environ_base['REMOTE_ADDR']}")) == 1
