"""API tokens are stored (hashed) with an expiry and can be revoked: by their holder, by an
administrator for a user, from the command line."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.security.conftest import WallClock, api_token, web_login


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_random_stored_hashed_and_expires(app: Flask, anon: Callable[[], FlaskClient],
                                                   make_user: Callable[..., str], wall_clock: WallClock) -> None:
    from app.core.db import session
    from app.security.models import AuthSession
    from app.security.sessions import secret_hash
    client = anon()
    r = api_token(client, make_user())
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["token_type"] == "Bearer" and len(body["token"]) >= 40
    with app.app_context():
        row = session.scalar(select(AuthSession).where(AuthSession.key_hash == secret_hash(body["token"])))
        assert row is not None and row.kind == "api" and row.idle_expires_at is None
        assert (row.expires_at - row.created_at).total_seconds() == app.config["SETTINGS"].TOKEN_MAX_AGE
    assert client.get("/api/v1/tasks", headers=_bearer(body["token"])).status_code == 200

    from app.core.auth import clear_principal_cache
    wall_clock.advance(seconds=app.config["SETTINGS"].TOKEN_MAX_AGE - 5)
    clear_principal_cache()
    assert client.get("/api/v1/tasks", headers=_bearer(body["token"])).status_code == 200
    wall_clock.advance(seconds=6)
    clear_principal_cache()  # a worker's cache trusts a token for at most PRINCIPAL_TTL seconds
    r = client.get("/api/v1/tasks", headers=_bearer(body["token"]))
    assert r.status_code == 401 and "request a new one" in r.get_json()["message"]


def test_revoke_the_presented_token(anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    keep = api_token(client, username).get_json()["token"]
    drop = api_token(client, username).get_json()["token"]
    assert client.get("/api/v1/tasks", headers=_bearer(drop)).status_code == 200  # cached in this process now
    r = client.post("/api/v1/auth/revoke", headers=_bearer(drop))
    assert r.status_code == 200 and r.get_json() == {"revoked": 1, "user": username}
    assert client.get("/api/v1/tasks", headers=_bearer(drop)).status_code == 401  # at once: the cache forgot it
    assert client.post("/api/v1/auth/revoke", headers=_bearer(drop)).status_code == 401
    assert client.get("/api/v1/tasks", headers=_bearer(keep)).status_code == 200  # the user's other token stays
    assert client.post("/api/v1/auth/revoke", headers=_bearer(keep), json={}).status_code == 200


def test_a_revoked_token_is_refused_by_another_worker_once_its_cache_expires(
        app: Flask, database_url: str, anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    from app import create_app
    from app.core import auth
    other = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40})
    try:
        client = anon()
        token = api_token(client, make_user()).get_json()["token"]
        assert other.test_client().get("/api/v1/tasks", headers=_bearer(token)).status_code == 200
        assert client.post("/api/v1/auth/revoke", headers=_bearer(token)).status_code == 200
        auth.clear_principal_cache()  # what PRINCIPAL_TTL (5 s) later means for the other worker
        assert other.test_client().get("/api/v1/tasks", headers=_bearer(token)).status_code == 401
    finally:
        other.extensions["db_engine"].dispose()


def test_admin_revokes_all_sessions_and_tokens_of_a_user(api: Callable[[str], object], anon: Callable[[], FlaskClient],
                                                         make_user: Callable[..., str]) -> None:
    username = make_user()
    browser, script = anon(), anon()
    web_login(browser, username)
    token = api_token(script, username).get_json()["token"]
    assert script.get("/api/v1/tasks", headers=_bearer(token)).status_code == 200

    refused = script.post("/api/v1/auth/revoke", headers=_bearer(token), json={"user": "demo_admin"})
    assert refused.status_code == 403  # only administrators revoke someone else
    admin = api("demo_admin")
    r = admin.post("/api/v1/auth/revoke", json={"user": username})  # type: ignore[attr-defined]
    assert r.status_code == 200 and r.get_json() == {"revoked": 2, "user": username}
    assert browser.get("/inbox").status_code == 302
    assert script.get("/api/v1/tasks", headers=_bearer(token)).status_code == 401
    assert admin.post("/api/v1/auth/revoke", json={"user": "nobody-here"}).status_code == 404  # type: ignore[attr-defined]
    assert admin.post("/api/v1/auth/revoke", json={"user": 5}).status_code == 422  # type: ignore[attr-defined]
    assert admin.post("/api/v1/auth/revoke", json={"user": username, "x": 1}).status_code == 422  # type: ignore[attr-defined]
    assert admin.post("/api/v1/auth/revoke", json=[1]).status_code == 422  # type: ignore[attr-defined]
    assert anon().post("/api/v1/auth/revoke").status_code == 401


def test_cli_revokes_a_users_sessions_and_unlocks(app: Flask, anon: Callable[[], FlaskClient],
                                                  make_user: Callable[..., str]) -> None:
    username = make_user()
    browser, script = anon(), anon()
    web_login(browser, username)
    token = api_token(script, username).get_json()["token"]
    result = app.test_cli_runner().invoke(args=["users", "revoke", username])
    assert result.exit_code == 0 and "2 sessions and tokens" in result.output
    assert browser.get("/inbox").status_code == 302
    assert script.get("/api/v1/tasks", headers=_bearer(token)).status_code == 401
    missing = app.test_cli_runner().invoke(args=["users", "revoke", "nobody-here"])
    assert missing.exit_code != 0 and "no user nobody-here" in missing.output


def test_old_signed_tokens_and_garbage_are_refused(anon: Callable[[], FlaskClient]) -> None:
    client = anon()
    for token in ("eyJ1aWQiOjEsImdlbiI6MH0.Zx1.abc", "x" * 500, "", "\u4e2d\u6587"):
        r = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
