"""Browser sessions live on the server: logout, timeouts and password changes end them at once,
whatever copy of the cookie is still around."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.security.conftest import STRONG, WallClock, api_token, web_login
from tests.web.pages import csrf, html


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _client_with_cookie(app: Flask, value: str) -> FlaskClient:
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def test_a_cookie_copied_before_logout_stops_working(app: Flask, anon: Callable[[], FlaskClient],
                                                     make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    assert web_login(client, username).status_code == 302
    copied = _cookie(client)
    assert _client_with_cookie(app, copied).get("/inbox").status_code == 200  # the copy works while logged in

    r = client.post("/logout", data={"csrf_token": csrf(html(client.get("/inbox")))})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    stale = _client_with_cookie(app, copied).get("/inbox")
    assert stale.status_code == 302 and "/login" in stale.headers["Location"]
    assert _client_with_cookie(app, copied).get("/api/v1/tasks").status_code == 401  # and no API either


def test_the_cookie_carries_only_a_random_session_secret(app: Flask, anon: Callable[[], FlaskClient],
                                                         make_user: Callable[..., str]) -> None:
    from app.core.db import session
    from app.orgs.models import User
    from app.security.models import AuthSession
    from app.security.sessions import secret_hash
    username = make_user()
    client = anon()
    web_login(client, username)
    with client.session_transaction() as flask_session:
        secret = flask_session["sid"]
        assert set(flask_session) <= {"sid", "locale", "csrf_token", "_fresh"}
    with app.app_context():
        user = session.scalar(select(User).where(User.username == username))
        row = session.scalar(select(AuthSession).where(AuthSession.user_id == user.id))
        assert row is not None and row.kind == "web" and row.key_hash == secret_hash(secret) != secret
        assert len(secret) >= 40 and row.ip == client.environ_base["REMOTE_ADDR"]


def test_login_rotates_the_session(app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    """No fixation: a cookie planted before the login is not the logged-in session, and logging in
    over an older session ends that one."""
    first, second = make_user(), make_user()
    client = anon()
    client.get("/login")
    before = _cookie(client)
    web_login(client, first)
    as_first = _cookie(client)
    assert as_first != before
    with client.session_transaction() as s:
        first_secret = s["sid"]
    web_login(client, second)
    with client.session_transaction() as s:
        assert s["sid"] != first_secret
    assert _client_with_cookie(app, as_first).get("/inbox").status_code == 302  # the first session ended
    assert _client_with_cookie(app, before).get("/inbox").status_code == 302


def test_idle_timeout(app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str],
                      wall_clock: WallClock) -> None:
    idle = app.config["SETTINGS"].SESSION_IDLE_TIMEOUT
    client = anon()
    web_login(client, make_user())
    for _ in range(4):  # active every (idle - 2 min): the session stays, its idle limit moves on
        wall_clock.advance(seconds=idle - 120)
        assert client.get("/inbox").status_code == 200
    wall_clock.advance(seconds=idle + 1)
    r = client.get("/inbox")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert "会话已过期或已退出" in html(client.get("/login"))  # said once...
    assert "会话已过期或已退出" not in html(client.get("/login"))  # ... not on every later visit
    assert client.get("/inbox").status_code == 302  # the dead secret was dropped from the cookie


def test_idle_limit_is_written_at_most_once_a_minute(app: Flask, anon: Callable[[], FlaskClient],
                                                     make_user: Callable[..., str], wall_clock: WallClock) -> None:
    from app.core.db import session
    from app.security.models import AuthSession
    client = anon()
    web_login(client, make_user())
    with client.session_transaction() as s:
        from app.security.sessions import secret_hash
        key = secret_hash(s["sid"])

    def seen() -> Any:
        with app.app_context():
            return session.scalar(select(AuthSession.last_seen_at).where(AuthSession.key_hash == key))
    start = seen()
    wall_clock.advance(seconds=30)
    client.get("/inbox")
    assert seen() == start  # within the minute: no write
    wall_clock.advance(seconds=31)
    client.get("/inbox")
    assert seen() == wall_clock.now


def test_absolute_timeout(app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str],
                          wall_clock: WallClock) -> None:
    settings = app.config["SETTINGS"]
    client = anon()
    web_login(client, make_user())
    steps = settings.SESSION_MAX_AGE // (settings.SESSION_IDLE_TIMEOUT - 120)
    for _ in range(steps):  # never idle for long, yet...
        wall_clock.advance(seconds=settings.SESSION_IDLE_TIMEOUT - 120)
        assert client.get("/inbox").status_code == 200
    wall_clock.advance(seconds=settings.SESSION_MAX_AGE - steps * (settings.SESSION_IDLE_TIMEOUT - 120) + 1)
    assert client.get("/inbox").status_code == 302  # ... the session ends SESSION_MAX_AGE after login


def test_a_session_that_ended_says_so_on_the_login_page(anon: Callable[[], FlaskClient], make_user: Callable[..., str],
                                                        wall_clock: WallClock) -> None:
    client = anon()
    web_login(client, make_user())
    wall_clock.advance(hours=13)
    r = client.get("/inbox")
    page = client.get(r.headers["Location"])
    assert "会话已过期或已退出，请重新登录" in html(page)


def test_password_change_ends_the_other_sessions_and_tokens(app: Flask, anon: Callable[[], FlaskClient],
                                                            make_user: Callable[..., str]) -> None:
    username = make_user()
    laptop, phone, script = anon(), anon(), anon()
    web_login(laptop, username)
    web_login(phone, username)
    token = api_token(script, username).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/v1/tasks", headers=bearer).status_code == 200

    page = laptop.get("/account")
    assert page.status_code == 200 and html(page).count("data-session=") == 3
    new = "a longer passphrase for the laptop"
    r = laptop.post("/account", data={"csrf_token": csrf(html(page)), "current_password": STRONG, "password": new,
                                      "confirm": new})
    assert r.status_code == 302
    assert "其他 2 个会话和令牌已失效" in html(laptop.get("/account"))
    assert laptop.get("/inbox").status_code == 200  # the session that changed it stays
    assert phone.get("/inbox").status_code == 302
    assert script.get("/api/v1/tasks", headers=bearer).status_code == 401
    assert web_login(anon(), username).status_code == 401
    assert web_login(anon(), username, new).status_code == 302


def test_password_change_checks_the_current_password_and_the_policy(app: Flask, anon: Callable[[], FlaskClient],
                                                                    make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    web_login(client, username)
    cases = [({"current_password": "wrong", "password": "another fine passphrase", "confirm": "another fine passphrase"},
              "当前密码不正确"),
             ({"current_password": STRONG, "password": "short", "confirm": "short"}, "至少需要 12 个字符"),
             ({"current_password": STRONG, "password": "1qaz2wsx3edc4rfv", "confirm": "1qaz2wsx3edc4rfv"}, "最常见的密码"),
             ({"current_password": STRONG, "password": username, "confirm": username}, "用户名"),
             ({"current_password": STRONG, "password": "another fine passphrase", "confirm": "a different one here"},
              "两次输入的新密码不一致")]
    for form, message in cases:
        r = client.post("/account", data={"csrf_token": csrf(html(client.get("/account"))), **form})
        assert r.status_code == 422 and message in html(r), form
    assert web_login(anon(), username).status_code == 302  # unchanged


def test_end_all_other_sessions(app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    username = make_user()
    here, elsewhere = anon(), anon()
    web_login(here, username)
    web_login(elsewhere, username)
    r = here.post("/account/sessions/end-others", data={"csrf_token": csrf(html(here.get("/account")))})
    assert r.status_code == 302
    assert here.get("/inbox").status_code == 200 and elsewhere.get("/inbox").status_code == 302
    assert html(here.get("/account")).count("data-session=") == 1
    assert here.post("/account/sessions/end-others").status_code == 400  # CSRF protected


def test_account_page_needs_a_login(client: FlaskClient) -> None:
    r = client.get("/account")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_end_one_session_from_the_account_page(app: Flask, anon: Callable[[], FlaskClient],
                                               make_user: Callable[..., str]) -> None:
    import re
    username, stranger = make_user(), make_user()
    here, elsewhere, script = anon(), anon(), anon()
    web_login(here, username)
    web_login(elsewhere, username)
    token = api_token(script, username).get_json()["token"]
    page = html(here.get("/account"))
    ids = [int(i) for i in re.findall(r'data-session="(\d+)"', page)]
    assert len(ids) == 3
    token_id, other_web, mine = ids  # newest first: the token, the other browser, this one
    r = here.post(f"/account/sessions/{token_id}/end", data={"csrf_token": csrf(page)})
    assert r.status_code == 302
    assert script.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert elsewhere.get("/inbox").status_code == 200
    # someone else's session is not yours to end
    intruder = anon()
    web_login(intruder, stranger)
    refused = intruder.post(f"/account/sessions/{other_web}/end", data={"csrf_token": csrf(html(intruder.get("/account")))})
    assert refused.status_code == 404 and elsewhere.get("/inbox").status_code == 200
    # ending this very session logs out here
    r = here.post(f"/account/sessions/{mine}/end", data={"csrf_token": csrf(html(here.get("/account")))})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert here.get("/inbox").status_code == 302


def test_the_user_is_told_of_a_password_change_and_of_an_admins_revoke(
        app: Flask, api: Callable[[str], Any], anon: Callable[[], FlaskClient], make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    web_login(client, username)
    new = "a passphrase that is new"
    client.post("/account", data={"csrf_token": csrf(html(client.get("/account"))), "current_password": STRONG,
                                  "password": new, "confirm": new})
    page = html(client.get("/notifications"))
    assert "账户安全" in page and "您的密码已于" in page and client.environ_base["REMOTE_ADDR"] in page
    api("demo_admin").post("/api/v1/auth/revoke", json={"user": username})
    web_login(client, username, new)
    assert "管理员结束了您的全部登录和 API 令牌" in html(client.get("/notifications"))


def test_ended_sessions_are_purged_after_a_week(app: Flask, anon: Callable[[], FlaskClient],
                                                make_user: Callable[..., str], wall_clock: WallClock) -> None:
    """Sessions of eight and six days ago: the older ones go, the newer stays. (The clock goes back
    rather than forward: the suite's own tokens must not look a week old to the purge.)"""
    from app import scheduler
    from app.core.db import session
    from app.orgs.models import User
    from app.security.models import AuthSession
    username = make_user()
    gone, later = anon(), anon()
    wall_clock.advance(days=-8)
    web_login(gone, username)
    gone.post("/logout", data={"csrf_token": csrf(html(gone.get("/inbox")))})
    api_token(anon(), username)  # expired 12 h later, 7.5 days ago
    wall_clock.advance(days=2)
    web_login(later, username)  # idle since, ended six days ago

    def rows() -> list[str]:
        with app.app_context():
            user_id = session.scalar(select(User.id).where(User.username == username))
            return sorted(f"{r.kind}:{r.revoked_reason}" for r in
                          session.scalars(select(AuthSession).where(AuthSession.user_id == user_id)))
    assert rows() == ["api:None", "web:None", "web:logout"]
    wall_clock.advance(days=6)  # back to about now
    scheduler.session_purge_job(app)
    assert rows() == ["web:None"]


def _session_row(app: Flask, client: FlaskClient) -> Any:
    from app.core.db import session
    from app.security.models import AuthSession
    from app.security.sessions import secret_hash
    with client.session_transaction() as s:
        key = secret_hash(s["sid"])
    with app.app_context():
        return session.scalar(select(AuthSession).where(AuthSession.key_hash == key))


def test_a_page_within_the_minute_writes_nothing_and_the_refresh_is_one_update(
        app: Flask, anon: Callable[[], FlaskClient], make_user: Callable[..., str], wall_clock: WallClock) -> None:
    from sqlalchemy import event
    client = anon()
    web_login(client, make_user())
    writes: list[str] = []

    def spy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)
    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", spy)
    try:
        wall_clock.advance(seconds=59)
        assert client.get("/inbox").status_code == 200
        assert writes == []  # within the minute: not a single write
        wall_clock.advance(seconds=2)
        assert client.get("/inbox").status_code == 200
        assert len(writes) == 1 and "auth_sessions" in writes[0]  # one refresh, not a second flush of the row
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert _session_row(app, client).last_seen_at == wall_clock.now


def test_the_refresh_is_kept_when_the_request_fails(app: Flask, anon: Callable[[], FlaskClient],
                                                    make_user: Callable[..., str], wall_clock: WallClock) -> None:
    """A 4xx rolls the request back; the session's last-seen refresh is not part of it."""
    idle = app.config["SETTINGS"].SESSION_IDLE_TIMEOUT
    client = anon()
    web_login(client, make_user())
    wall_clock.advance(seconds=61)
    assert client.get("/cases/999999999").status_code == 404
    row = _session_row(app, client)
    assert row.last_seen_at == wall_clock.now
    assert row.idle_expires_at == wall_clock.now + timedelta(seconds=idle)


def test_the_refresh_holds_no_lock_while_the_view_runs(app_settings: dict[str, Any], anon: Callable[[], FlaskClient],
                                                       make_user: Callable[..., str], wall_clock: WallClock) -> None:
    """The reviewer's check, 61 s after login: on SQLite the request held the writer lock from the
    session look-up to its final commit (all of a POST's engine work), on PostgreSQL the session row.
    Now another connection can write, and lock that row, while the view runs."""
    from flask import g
    from sqlalchemy import text

    from app import create_app
    from app.core import sqlite_writers
    watched = create_app(app_settings)  # its own app: a hook that runs after the view, before the commit
    seen: dict[str, Any] = {}

    @watched.after_request
    def _while_the_request_is_open(response: Any) -> Any:
        session_id = g.get("auth_session_id")
        if session_id is None:
            return response
        engine = watched.extensions["db_engine"]
        seen["thread_holds_writer_lock"] = getattr(sqlite_writers._held, "count", 0)
        if engine.dialect.name == "sqlite":
            import sqlite3
            other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # fails at once if a write transaction is open
                other.execute("ROLLBACK")
                seen["other_writer"] = "ok"
            except sqlite3.OperationalError as exc:
                seen["other_writer"] = str(exc)
            finally:
                other.close()
        else:
            with engine.connect() as conn:
                try:
                    conn.execute(text("SELECT id FROM auth_sessions WHERE id = :id FOR UPDATE NOWAIT"),
                                 {"id": session_id})
                    seen["other_writer"] = "ok"
                except Exception as exc:  # noqa: BLE001 - the lock error, reported by the assertion
                    seen["other_writer"] = str(exc)
                conn.rollback()
        return response
    try:
        client = watched.test_client()
        client.environ_base["REMOTE_ADDR"] = anon().environ_base["REMOTE_ADDR"]
        web_login(client, make_user())
        wall_clock.advance(seconds=61)
        assert client.get("/account").status_code == 200
        assert seen == {"thread_holds_writer_lock": 0, "other_writer": "ok"}
        assert _session_row(watched, client).last_seen_at == wall_clock.now  # and the refresh was written
    finally:
        watched.extensions["db_engine"].dispose()
