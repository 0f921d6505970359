"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that
logged in as a user keeps logging in as that user while others' guessing has locked the username
or the address; a stolen, forged or other user's cookie gives nothing, and each cookie has a small
failure budget of its own."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from tests.security.conftest import WallClock, api_token, new_address, web_login
from tests.web.pages import csrf, html

ADDRESS_LIMIT = 8


@pytest.fixture()
def office(app_settings: dict[str, Any]) -> Iterator[Flask]:
    """An app whose address limit is the default's kind (the suite's app lifts it: every client
    of the suite is 127.0.0.1), on the suite's database."""
    from app import create_app
    application = create_app({**app_settings, "LOGIN_MAX_FAILURES_IP": ADDRESS_LIMIT})
    yield application
    application.extensions["db_engine"].dispose()


def _at(application: Flask, address: str) -> FlaskClient:
    client = application.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _device(client: FlaskClient) -> str:
    cookie = client.get_cookie("device")
    assert cookie is not None, "no device cookie"
    return cookie.value


def _lock_username(application: Flask, username: str) -> None:
    guesser = _at(application, new_address())
    for _ in range(application.config["SETTINGS"].LOGIN_MAX_FAILURES):
        assert api_token(guesser, username, "a wrong guess").status_code == 401
    assert api_token(_at(application, new_address()), username).status_code == 429


def _log_out(client: FlaskClient) -> None:
    assert client.post("/logout", data={"csrf_token": csrf(html(client.get("/inbox")))}).status_code == 302


def _sign(application: Flask, entries: list[list[str]], key: str | None = None) -> str:
    from app.security.devices import _SALT
    return URLSafeTimedSerializer(key or application.secret_key, salt=_SALT).dumps(entries)


def test_the_address_lock_does_not_refuse_a_user_with_a_device_cookie(
        office: Flask, make_user: Callable[..., str],
        audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    """One NAT address for the whole centre: a guesser there locks the address, the dispatchers
    who logged in from their browsers before still get in with the right password."""
    nat = new_address()
    dispatcher, newcomer = make_user(), make_user()
    desk = _at(office, nat)
    assert web_login(desk, dispatcher).status_code == 302
    _log_out(desk)
    guesser = _at(office, nat)
    for i in range(ADDRESS_LIMIT):
        assert web_login(guesser, f"guess-{secrets.token_hex(4)}-{i}", "123456").status_code == 401
    assert web_login(_at(office, nat), newcomer).status_code == 429  # no device cookie: the address is locked
    assert web_login(guesser, dispatcher).status_code == 429  # the guesser has no cookie for this name
    events = audit_since()
    r = web_login(desk, dispatcher)
    assert r.status_code == 302 and desk.get("/inbox").status_code == 200
    login = events("login")
    assert len(login) == 1 and login[0]["trusted_device"] is True and login[0]["ip"] == nat


def test_a_device_cookie_is_exempt_from_the_username_lock(app: Flask, anon: Callable[[], FlaskClient],
                                                          make_user: Callable[..., str]) -> None:
    """Anyone can lock a named dispatcher out by guessing at the name; not out of their own browser."""
    from app.core.db import session
    from app.security.models import LoginThrottle
    username = make_user()
    laptop = anon()
    assert web_login(laptop, username).status_code == 302
    _log_out(laptop)
    _lock_username(app, username)
    assert web_login(anon(), username).status_code == 429  # a browser without the cookie is refused
    assert web_login(laptop, username).status_code == 302  # the user's own browser is not
    assert api_token(laptop, username).status_code == 429  # the token endpoint takes no cookies: still locked
    with app.app_context():  # the trusted login did not lift the lock of untrusted clients
        row = session.get(LoginThrottle, f"user:{username}")
        assert row is not None and row.locked_until is not None


def test_a_device_cookie_of_another_user_gives_no_exemption(app: Flask, anon: Callable[[], FlaskClient],
                                                            make_user: Callable[..., str]) -> None:
    mine, victim = make_user(), make_user()
    attacker = anon()
    assert web_login(attacker, mine).status_code == 302
    _log_out(attacker)
    _lock_username(app, victim)
    assert web_login(attacker, victim).status_code == 429
    # the attacker's own entry, re-signed under the victim's name, still points at the attacker's row
    from app.security.devices import _SALT
    entries = URLSafeTimedSerializer(app.secret_key, salt=_SALT).loads(_device(attacker))
    assert [e[0] for e in entries] == [mine.casefold()]
    renamed = anon()
    renamed.set_cookie("device", _sign(app, [[victim.casefold(), entries[0][1]]]))
    assert web_login(renamed, victim).status_code == 429


def test_a_forged_device_cookie_gives_no_exemption(app: Flask, anon: Callable[[], FlaskClient],
                                                   make_user: Callable[..., str]) -> None:
    username = make_user()
    owner = anon()
    assert web_login(owner, username).status_code == 302
    real = _device(owner)
    _lock_username(app, username)
    for value in (_sign(app, [[username.casefold(), secrets.token_urlsafe(32)]]),  # signed, but no such device
                  _sign(app, [[username.casefold(), secrets.token_urlsafe(32)]], key="not the server's key" * 2),
                  real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB"),  # the real one, signature broken
                  "garbage"):
        forger = anon()
        forger.set_cookie("device", value)
        assert web_login(forger, username).status_code == 429, value
    assert web_login(owner, username).status_code == 302  # the real cookie still works


def test_a_copied_device_cookie_stops_working_once_its_owner_logs_in_again(
        app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    """Each login rotates the cookie: the copy a thief took names a device that no longer exists."""
    username = make_user()
    owner = anon()
    assert web_login(owner, username).status_code == 302
    stolen = _device(owner)
    _log_out(owner)
    assert web_login(owner, username).status_code == 302
    assert _device(owner) != stolen
    _lock_username(app, username)
    thief = anon()
    thief.set_cookie("device", stolen)
    assert web_login(thief, username).status_code == 429
    assert web_login(owner, username).status_code == 302


def test_the_per_device_failure_budget(app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str],
                                       audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    """A trusted browser's wrong passwords count against its cookie only; after the budget the
    cookie is worth nothing and the browser is as untrusted as any other."""
    from app.core.db import session
    from app.security.models import LoginThrottle
    budget = app.config["SETTINGS"].LOGIN_DEVICE_MAX_FAILURES
    username = make_user()
    browser = anon()
    assert web_login(browser, username).status_code == 302
    _log_out(browser)
    for _ in range(budget - 1):  # a success in between starts the budget over
        assert web_login(browser, username, "typo").status_code == 401
    assert web_login(browser, username).status_code == 302
    _log_out(browser)
    with app.app_context():  # trusted failures did not count against the username
        assert session.get(LoginThrottle, f"user:{username}") is None
    _lock_username(app, username)
    events = audit_since()
    statuses = [web_login(browser, username, "a guess").status_code for _ in range(budget)]
    assert statuses == [401] * budget  # exempt from the username's lock, each one counted on the cookie
    assert web_login(browser, username).status_code == 429  # the budget is spent: untrusted, and locked
    failed = events("login_failed")
    assert len(failed) == budget and all(e["trusted_device"] for e in failed)
    distrusted = events("device_distrusted")
    assert len(distrusted) == 1 and distrusted[0]["reason"] == "failures" and distrusted[0]["username"] == username


def test_the_budget_holds_across_two_workers(app: Flask, app_settings: dict[str, Any], anon: Callable[[], FlaskClient],
                                             make_user: Callable[..., str]) -> None:
    """The budget lives in the database: two apps on one database stand in for two workers."""
    from app import create_app
    other = create_app(app_settings)
    try:
        budget = app.config["SETTINGS"].LOGIN_DEVICE_MAX_FAILURES
        username = make_user()
        one = anon()
        assert web_login(one, username).status_code == 302
        two = other.test_client()
        two.environ_base["REMOTE_ADDR"] = one.environ_base["REMOTE_ADDR"]
        two.set_cookie("device", _device(one))
        _lock_username(app, username)
        for i in range(budget):
            assert web_login(one if i % 2 else two, username, "wrong").status_code == 401
        assert web_login(one, username).status_code == 429
        assert web_login(two, username).status_code == 429
    finally:
        other.extensions["db_engine"].dispose()


def test_a_shared_console_remembers_each_user(app: Flask, anon: Callable[[], FlaskClient],
                                              make_user: Callable[..., str]) -> None:
    """Shift workers share a console: each of them is trusted there, up to MAX_USERS per browser."""
    from app.security.devices import MAX_USERS
    users = [make_user() for _ in range(MAX_USERS + 1)]
    console = anon()
    for username in users:
        assert web_login(console, username).status_code == 302
        _log_out(console)
    first, *kept = users
    for username in (first, kept[0], kept[-1]):
        _lock_username(app, username)
    assert web_login(console, first).status_code == 429  # the oldest was forgotten
    assert web_login(console, kept[0]).status_code == 302
    _log_out(console)
    assert web_login(console, kept[-1]).status_code == 302


def test_device_cookies_expire_and_are_purged(app: Flask, anon: Callable[[], FlaskClient],
                                              make_user: Callable[..., str], wall_clock: WallClock) -> None:
    """A cookie made LOGIN_DEVICE_MAX_AGE ago is worth nothing and its row goes with the hourly purge.
    (The clock goes back rather than forward: the suite's own tokens must not look old to the purge.)"""
    from app.core.db import session
    from app.orgs.models import User
    from app.security.models import LoginDevice
    from app.security.sessions import purge_ended
    age = app.config["SETTINGS"].LOGIN_DEVICE_MAX_AGE
    username = make_user()
    browser = anon()
    wall_clock.advance(seconds=-(age + 120))
    assert web_login(browser, username).status_code == 302
    _log_out(browser)
    wall_clock.advance(seconds=age + 120)  # back to about now: the cookie expired two minutes ago

    def devices() -> int:
        with app.app_context():
            user_id = session.scalar(select(User.id).where(User.username == username))
            return int(session.scalar(select(func.count()).where(LoginDevice.user_id == user_id)))
    assert devices() == 1
    _lock_username(app, username)
    assert web_login(browser, username).status_code == 429  # expired: no exemption
    with app.app_context():
        purge_ended()
        session.commit()
    assert devices() == 0
