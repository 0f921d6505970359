"""Security headers on every response (ASVS V14.4); HSTS and Secure cookies in production only."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.security.conftest import STRONG, web_login

COMMON = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
          "Referrer-Policy": "strict-origin-when-cross-origin"}


def _check(response: Any, production: bool = False) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, response.headers)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and "unsafe" not in csp
    assert ("Strict-Transport-Security" in response.headers) is production


def test_headers_on_pages_api_static_and_errors(client: FlaskClient, anon: Callable[[], FlaskClient],
                                                make_user: Callable[..., str]) -> None:
    for url in ("/login", "/healthz", "/api/v1/openapi.json", "/static/app.css", "/no-such-page", "/api/v1/tasks"):
        _check(client.get(url))
    assert client.get("/api/v1/tasks").headers["Content-Disposition"].startswith("attachment")  # JSON: a download
    assert "Content-Disposition" not in client.get("/login").headers
    logged_in = anon()
    web_login(logged_in, make_user())
    for url in ("/inbox", "/cases", "/account", "/notifications"):
        r = logged_in.get(url)
        assert r.status_code == 200, url
        _check(r)
    _check(logged_in.post("/logout"))  # a refused form (no CSRF token) too


def _set_cookie(response: Any, name: str) -> str:
    """The one Set-Cookie header of the cookie ``name`` (a login sets the session and the device cookie)."""
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def test_development_cookie_is_httponly_and_samesite_but_not_secure(anon: Callable[[], FlaskClient],
                                                                    make_user: Callable[..., str]) -> None:
    r = web_login(anon(), make_user())
    cookie = _set_cookie(r, "session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development and tests run over plain http
    device = _set_cookie(r, "device")
    assert "HttpOnly" in device and "SameSite=Strict" in device and "Path=/" in device and "Secure" not in device
    assert "Max-Age=7776000" in device  # LOGIN_DEVICE_MAX_AGE: 90 days


@pytest.fixture()
def production(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from app import create_app
    application = create_app({"ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": "p" * 40,
                              "ATTACHMENT_DIR": tmp_path_factory.mktemp("prod-attachments")})
    yield application
    application.extensions["db_engine"].dispose()


def test_production_sends_hsts_and_secure_host_only_cookies(production: Flask, make_user: Callable[..., str]) -> None:
    client = production.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    _check(client.get("/login"), production=True)
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=31536000")
    username = make_user()
    https = production.test_client()  # a Secure cookie only travels over https
    https.environ_base.update({"REMOTE_ADDR": "203.0.113.8", "wsgi.url_scheme": "https"})
    page = https.get("https://localhost/login")
    from tests.web.pages import csrf, html
    r = https.post("https://localhost/login", data={"username": username, "password": STRONG,
                                                    "csrf_token": csrf(html(page))},
                   headers={"Referer": "https://localhost/login"})  # Flask-WTF checks it over https
    assert r.status_code == 302, html(r)
    cookie = _set_cookie(r, "__Host-session")
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Domain" not in cookie and "Path=/" in cookie
    device = _set_cookie(r, "__Host-device")
    assert "Secure" in device and "HttpOnly" in device and "Domain" not in device and "Path=/" in device
    assert https.get("https://localhost/inbox").status_code == 200


def test_trusted_proxy_gives_the_client_address(database_url: str, make_user: Callable[..., str],
                                                audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    from app import create_app
    proxied = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40, "TRUSTED_PROXIES": 1})
    try:
        events = audit_since()
        client = proxied.test_client()
        client.post("/api/v1/auth/token", json={"username": "ghost-proxied", "password": "x"},
                    headers={"X-Forwarded-For": "203.0.113.9"})
        assert events("login_failed")[0]["ip"] == "203.0.113.9"
    finally:
        proxied.extensions["db_engine"].dispose()
    events = audit_since()  # without TRUSTED_PROXIES the header is ignored
    direct = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40})
    try:
        direct.test_client().post("/api/v1/auth/token", json={"username": "ghost-direct", "password": "x"},
                                  headers={"X-Forwarded-For": "203.0.113.10"})
        assert events("login_failed")[0]["ip"] == "127.0.0.1"
    finally:
        direct.extensions["db_engine"].dispose()
