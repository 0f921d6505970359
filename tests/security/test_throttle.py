"""Login throttling: per username and per client address, shared by every worker through the
database; the right password during a lockout does not log in; the account page's current-password
check counts against the same username lock."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.security.conftest import STRONG, WallClock, api_token, new_address, web_login
from tests.web.pages import csrf, html


def _fail(client: FlaskClient, username: str, times: int) -> list[int]:
    return [api_token(client, username, "not the password").status_code for _ in range(times)]


def test_api_locks_a_username_after_five_failures(app: Flask, anon: Callable[[], FlaskClient],
                                                  make_user: Callable[..., str], wall_clock: WallClock) -> None:
    username = make_user()
    client = anon()
    assert _fail(client, username, 5) == [401] * 5
    locked = api_token(client, username)  # the right password, during the lockout
    assert locked.status_code == 429 and "token" not in locked.get_json()
    assert set(locked.get_json()) == {"error", "message"} and locked.get_json()["error"] == "too_many_attempts"
    assert 1 <= int(locked.headers["Retry-After"]) <= app.config["SETTINGS"].LOGIN_LOCKOUT
    assert api_token(anon(), username).status_code == 429  # from another address too: the name is locked
    wall_clock.advance(seconds=app.config["SETTINGS"].LOGIN_LOCKOUT + 1)
    assert api_token(client, username).status_code == 200  # the lock ends by itself


def test_the_lockout_grows_with_each_further_failure(app: Flask, anon: Callable[[], FlaskClient],
                                                     make_user: Callable[..., str], wall_clock: WallClock) -> None:
    settings = app.config["SETTINGS"]
    username = make_user()
    client = anon()
    _fail(client, username, 5)
    waits = []
    for _ in range(4):
        wait = int(api_token(client, username).headers["Retry-After"])
        waits.append(wait)
        wall_clock.advance(seconds=wait + 1)
        assert _fail(client, username, 1) == [401]  # one more wrong guess once the lock is over
    assert waits == [settings.LOGIN_LOCKOUT * 2 ** i for i in range(4)]
    wall_clock.advance(days=1)
    assert _fail(client, username, settings.LOGIN_MAX_FAILURES - 1) == [401] * (settings.LOGIN_MAX_FAILURES - 1)
    assert api_token(client, username).status_code == 200  # quiet for LOGIN_WINDOW: the counter started over


def test_success_resets_the_username_counter(anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    _fail(client, username, 4)
    assert api_token(client, username).status_code == 200
    assert _fail(client, username, 4) == [401] * 4  # four more before a lock, not one
    assert api_token(client, username).status_code == 200


def test_login_page_locks_too_and_says_so(app: Flask, anon: Callable[[], FlaskClient],
                                          make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    for _ in range(5):
        assert web_login(client, username, "wrong password").status_code == 401
    r = web_login(client, username)
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "登录失败次数过多" in html(r) and "分钟后再试" in html(r)
    assert client.get("/inbox").status_code == 302  # not logged in


def test_unknown_usernames_lock_like_real_ones(anon: Callable[[], FlaskClient]) -> None:
    client = anon()
    assert _fail(client, "nobody-at-all", 5) == [401] * 5
    assert api_token(client, "nobody-at-all").status_code == 429  # a lock tells nothing about existence


def test_a_client_address_is_locked_across_usernames(database_url: str, make_user: Callable[..., str]) -> None:
    from app import create_app
    from app.config import Settings
    assert Settings().LOGIN_MAX_FAILURES_IP == 20  # the default (the suite's app raises it: all its clients are 127.0.0.1)
    limited = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40,
                          "LOGIN_MAX_FAILURES_IP": 8})
    try:
        client, elsewhere = limited.test_client(), limited.test_client()
        client.environ_base["REMOTE_ADDR"], elsewhere.environ_base["REMOTE_ADDR"] = new_address(), new_address()
        statuses = [api_token(client, f"guess-{i}", "123456").status_code for i in range(8)]
        assert statuses == [401] * 8  # a different name each time: no username lock
        real = make_user()
        assert api_token(client, real).status_code == 429  # this address is locked, even for a real login
        assert api_token(elsewhere, real).status_code == 200  # other addresses are not
    finally:
        limited.extensions["db_engine"].dispose()


def test_lockout_holds_across_two_workers_sharing_the_database(app: Flask, database_url: str,
                                                               make_user: Callable[..., str]) -> None:
    """Two create_app()s on one database stand in for two gunicorn workers."""
    from app import create_app
    other = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40})
    try:
        username = make_user()
        one, two = app.test_client(), other.test_client()
        address = new_address()
        one.environ_base["REMOTE_ADDR"] = two.environ_base["REMOTE_ADDR"] = address
        statuses = [(one if i % 2 else two).post("/api/v1/auth/token", json={"username": username, "password": "x"})
                    .status_code for i in range(5)]
        assert statuses == [401] * 5
        assert api_token(one, username).status_code == 429
        assert api_token(two, username).status_code == 429
        assert web_login(two, username).status_code == 429
    finally:
        other.extensions["db_engine"].dispose()


def test_concurrent_failures_are_all_counted(app: Flask, database_url: str, make_user: Callable[..., str]) -> None:
    """Failures arriving at the same moment in two threads both count (the upsert is atomic)."""
    import threading
    from app import create_app
    other = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40})
    username = make_user()
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def guess(application: Flask) -> None:
        client = application.test_client()
        client.environ_base["REMOTE_ADDR"] = new_address()
        barrier.wait()
        for _ in range(2):
            statuses.append(api_token(client, username, "wrong").status_code)
    try:
        threads = [threading.Thread(target=guess, args=(a,)) for a in (app, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [401] * 4
        assert _fail(app.test_client(), username, 1) == [401]  # the fifth failure: now locked
        assert api_token(app.test_client(), username, STRONG).status_code == 429
    finally:
        other.extensions["db_engine"].dispose()


def test_cli_unlock(app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    _fail(client, username, 5)
    assert api_token(client, username).status_code == 429
    result = app.test_cli_runner().invoke(args=["users", "unlock", username])
    assert result.exit_code == 0 and f"{username} unlocked" in result.output
    assert api_token(client, username).status_code == 200


def _change(client: FlaskClient, current: str, new: str = "a long new passphrase 77") -> Any:
    page = client.get("/account")
    assert page.status_code == 200
    return client.post("/account", data={"csrf_token": csrf(html(page)), "current_password": current,
                                         "password": new, "confirm": new})


def test_wrong_current_passwords_on_the_account_page_lock_the_username_and_log_out(
        app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str], wall_clock: WallClock,
        audit_since: Callable[[], Callable[..., list[dict[str, Any]]]]) -> None:
    """A stolen session cookie must not allow unlimited guessing of the current password (the
    reviewer's 40 guesses, then the right one): the guesses count against the username's lock like
    failed logins, and the one that starts the lock ends the session."""
    settings = app.config["SETTINGS"]
    username = make_user()
    stolen, owner = anon(), anon()
    web_login(stolen, username)
    web_login(owner, username)
    events = audit_since()
    for i in range(settings.LOGIN_MAX_FAILURES - 1):
        r = _change(stolen, f"guess {i}")
        assert r.status_code == 422 and "当前密码不正确" in html(r)
    r = _change(stolen, "guess 4")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == settings.LOGIN_LOCKOUT
    assert "当前密码错误次数过多，已退出登录" in html(r)
    assert stolen.get("/account").status_code == 302  # logged out...
    assert stolen.get("/inbox").status_code == 302  # ... for good: the session row is revoked
    # while the name is locked nobody changes the password, the right current one included
    refused = _change(owner, STRONG)
    assert refused.status_code == 429 and "暂时不能修改密码" in html(refused) and "Retry-After" in refused.headers
    assert owner.get("/inbox").status_code == 200  # the other session was not the guesser's
    assert web_login(anon(), username).status_code == 429  # the same lock as failed logins
    assert [e["action"] for e in events("password_change_failed")] == ["password_change_failed"] * 5
    locked = events("login_locked")
    assert len(locked) == 1 and locked[0]["via"] == "account" and locked[0]["locked_key"] == f"user:{username}"
    logout = events("logout")
    assert len(logout) == 1 and logout[0]["reason"] == "password guessing" and logout[0]["actor"] == username
    assert events("password_change_refused")[0]["reason"] == "locked"
    assert events("password_changed") == []
    wall_clock.advance(seconds=settings.LOGIN_LOCKOUT + 1)
    assert _change(owner, STRONG).status_code == 302  # once the lock is over, the owner changes it


def test_the_guessing_browser_loses_its_device_cookie(app: Flask, anon: Callable[[], FlaskClient],
                                                      make_user: Callable[..., str]) -> None:
    """A thief who took the whole cookie jar gets no trusted logins from it after guessing."""
    username = make_user()
    thief, owner = anon(), anon()
    web_login(owner, username)
    web_login(thief, username)
    for i in range(app.config["SETTINGS"].LOGIN_MAX_FAILURES):
        _change(thief, f"guess {i}")
    assert web_login(thief, username).status_code == 429  # its device cookie is no longer trusted
    owner.post("/logout", data={"csrf_token": csrf(html(owner.get("/inbox")))})
    assert web_login(owner, username).status_code == 302  # the owner's is


def test_the_current_password_check_counts_with_failed_logins(app: Flask, anon: Callable[[], FlaskClient],
                                                              make_user: Callable[..., str]) -> None:
    """One counter per username: failed logins and wrong current passwords add up."""
    username = make_user()
    client = anon()
    web_login(client, username)
    assert _fail(anon(), username, 3) == [401] * 3
    assert _change(client, "guess").status_code == 422
    assert _change(client, "guess again").status_code == 429
    assert client.get("/inbox").status_code == 302
