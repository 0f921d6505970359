"""Login throttling: per username and per client address, shared by every worker through the
database; the right password during a lockout does not log in."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.security.conftest import STRONG, WallClock, api_token, new_address, web_login
from tests.web.pages import html


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
