"""Test fixtures: one migrated database per test session (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), demo data and the process bundle deployed once; tests create their own
cases, so they do not depend on each other and can commit for real (threads, live server)."""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app

PG_URL = os.environ.get("TEST_DATABASE_URL")


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    # the whole suite logs in from 127.0.0.1, wrong passwords included (fuzzing): the login
    # throttle's per-address limit is checked by tests/security with an app of its own
    application = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40,
                              "ATTACHMENT_DIR": tmp_path_factory.mktemp("attachments"),
                              "LOGIN_MAX_FAILURES_IP": 100_000})
    runner = application.test_cli_runner()
    for args in (["db", "upgrade"], ["catalog", "load"], ["demo", "load"], ["processes", "deploy"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Api:
    """A JSON client that logs in as a demo user through the real token endpoint."""

    _tokens: dict[str, str] = {}

    def __init__(self, app: Flask, username: str) -> None:
        self.app, self.username = app, username
        self.client = app.test_client()
        if username not in self._tokens:
            r = self.client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
            assert r.status_code == 200, r.get_json()
            self._tokens[username] = r.get_json()["token"]
        self.headers = {"Authorization": f"Bearer {self._tokens[username]}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def claim_and_complete(self, task_id: int, data: dict[str, Any]) -> Any:
        r = self.post(f"/api/v1/tasks/{task_id}/claim")
        assert r.status_code == 200, r.get_json()
        return self.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})


@pytest.fixture()
def api(app: Flask) -> Callable[[str], Api]:
    return lambda username: Api(app, username)


_counter = iter(range(1, 10**9))


@pytest.fixture()
def make_case(api: Callable[[str], Api]) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        body = {"channel": "hotline", "title": f"井盖破损 #{next(_counter)}", "description": "人行道上的污水井盖破损，有安全隐患",
                "address": "示范市东湖区湖滨街道滨江路 12 号", "category_code": "component:01002", "grid_unit": "d1-s1-c1",
                "reporter": {"name": "张先生", "phone": "13800138000"}}
        body.update(overrides)
        r = api(overrides.pop("_as", "demo_operator")).post("/api/v1/cases", json={k: v for k, v in body.items() if k != "_as"})
        assert r.status_code == 201, r.get_json()
        return r.get_json()
    return make


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, "no csrf_token in page"
    return m.group(1)


@pytest.fixture()
def login() -> Callable[[FlaskClient, str], Any]:
    def do_login(client: FlaskClient, username: str, password: str = "demo") -> Any:
        page = client.get("/login")
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))},
                           follow_redirects=False)
    return do_login


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free loopback port (for the browser test)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture()
def at_time() -> Iterator[Callable[[str], Any]]:
    """Fix the product clock (deadlines, lights, timers) at an ISO moment; released after the test."""
    from datetime import datetime

    from app.core import clock

    def set_time(iso: str) -> Any:
        moment = datetime.fromisoformat(iso)
        clock.set_now(moment)
        return moment

    yield set_time
    clock.set_now(None)
