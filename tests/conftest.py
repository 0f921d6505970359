"""Test fixtures: one migrated database per test session (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), demo data and the process bundle deployed once; tests create their own
cases, so they do not depend on each other and can commit for real (threads, live server)."""
from __future__ import annotations

import io
import json
import os
import struct
import zlib
import re
import shutil
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
def app_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The settings every app of the test session is built with (other app processes included).
    The whole suite logs in from 127.0.0.1, wrong passwords included (fuzzing): the login
    throttle's per-address limit is checked by tests/security with an app of its own."""
    return {"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t" * 40,
            "ATTACHMENT_DIR": tmp_path_factory.mktemp("attachments"), "LOGIN_MAX_FAILURES_IP": 100_000,
            "HOTSPOT_MAX_AGE": 0}  # every test sees the hot spots of its own cases (tests/hotspots/test_snapshots.py: the stored lists)


@pytest.fixture(scope="session", autouse=True)
def catalogues_compiled() -> None:
    """Compile every language's .po afresh, as `make setup` does: no test reads a stale .mo."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from app.core.i18n import TRANSLATIONS
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as fh:
            catalogue = read_po(fh, locale=po.parents[1].name)
        tmp = po.with_suffix(f".mo.{os.getpid()}")
        with tmp.open("wb") as fh:
            write_mo(fh, catalogue)  # fuzzy entries left out, as pybabel compile does
        tmp.replace(po.with_suffix(".mo"))


@pytest.fixture(scope="session")
def app(catalogues_compiled: None, app_settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_settings)
    _app_started.append(application)
    runner = application.test_cli_runner()
    for args in (["db", "upgrade"], ["catalog", "load"], ["demo", "load"], ["processes", "deploy"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture(scope="session", autouse=True)
def definitions_stay_as_parsed() -> Iterator[None]:
    """After the whole run, every process version this process has in its cache must equal a
    fresh parse of it: running cases never changes what all cases of a version share (a worker
    that had not run a case yet would behave differently; issue 10's stuck case)."""
    yield
    if not _app_started:  # no test of this run needed the app
        return
    from app.engine import definitions
    application = _app_started[0]
    with application.app_context():
        for definition_id, loaded in list(definitions._cache.items()):
            assert definitions.wiring(loaded) == definitions.wiring(definitions.parse_definition(definition_id)), \
                f"running cases changed the cached definition {definition_id}"


_app_started: list[Flask] = []


@pytest.fixture(autouse=True)
def case_process_version_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that deploys or activates a version of the case process (the designer's tests, the
    API fuzzer calling ``versions/<n>/activate``) leaves the version new cases start on as it found
    it: the tests after it expect the shipped steps (issue 12: a fuzzed activation of a renamed
    version failed three page tests that ran later)."""
    if "app" not in request.fixturenames:
        yield
        return
    from app.core.db import session, transaction
    from app.engine.definitions import activate, active_definition_id
    from app.engine.models import ProcessDefinition
    application: Flask = request.getfixturevalue("app")
    pid = application.config["SETTINGS"].CASE_PROCESS_ID
    with application.app_context():
        before = active_definition_id(pid)
    yield
    with application.app_context(), transaction():
        if before is not None and active_definition_id(pid) != before:
            activate(session.get(ProcessDefinition, before), "test")


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG (what a step form's photo field takes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x00\x80\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


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
        return self.post(f"/api/v1/tasks/{task_id}/complete", json={"data": self.with_photos(task_id, data)})

    def upload_photo(self, case_id: int) -> int:
        """A real photo (a tiny PNG) uploaded to the case as this user; its attachment id."""
        r = self.client.post(f"/api/v1/cases/{case_id}/attachments", headers=self.headers,
                             data={"file": (io.BytesIO(tiny_png()), "现场.png")}, content_type="multipart/form-data")
        assert r.status_code == 201, r.get_json()
        return int(r.get_json()["id"])

    def with_photos(self, task_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` plus the photos its step's form requires (``"format": "photo"`` with ``minItems``)
        where ``data`` names none: uploaded as this user, as a phone app does before completing.
        Walks that are not about photos need not repeat them."""
        r = self.get(f"/api/v1/tasks/{task_id}")
        if r.status_code != 200:
            return data
        task = r.get_json()
        out = dict(data)
        for name, prop in task["form"].get("properties", {}).items():
            if prop.get("format") == "photo" and prop.get("minItems") and name not in out:
                out[name] = [self.upload_photo(task["case_id"]) for _ in range(prop["minItems"])]
        return out


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


_SERVE = """
import json, logging, pathlib, sys
from werkzeug.serving import make_server
from app import create_app
settings = json.loads(sys.argv[1])
settings["ATTACHMENT_DIR"] = pathlib.Path(settings["ATTACHMENT_DIR"])
server = make_server("127.0.0.1", 0, create_app(settings), threaded=False)
logging.getLogger("werkzeug").setLevel(logging.WARNING)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture()
def app_processes(app: Flask, app_settings: dict[str, Any], tmp_path: Any) -> Iterator[Callable[[int], list[str]]]:
    """Start ``n`` more app processes on the test database, each serving one request at a time
    like a sync gunicorn worker; returns their base URLs. They see none of this process's memory
    (definition cache, principal cache), as the workers of a real deployment don't."""
    import subprocess
    import sys
    from pathlib import Path
    started: list[subprocess.Popen[str]] = []

    def start(n: int) -> list[str]:
        urls = []
        for _ in range(n):
            log = tmp_path / f"app-process-{len(started)}.log"
            with open(log, "w") as err:
                proc = subprocess.Popen([sys.executable, "-c", _SERVE, json.dumps(app_settings, default=str)],
                                        stdout=subprocess.PIPE, stderr=err, text=True,
                                        cwd=Path(__file__).resolve().parents[1])
            started.append(proc)
            line = proc.stdout.readline() if proc.stdout else ""
            assert line.strip().isdigit(), f"app process did not start (exit {proc.poll()}): {log.read_text()[-2000:]}"
            urls.append(f"http://127.0.0.1:{line.strip()}")
        return urls

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def log_in(page: Any, live_server: str, username: str, password: str = "demo", lands: str | None = None) -> None:
    """Log a Chromium page in through the login form, as a person does, and wait for the page the
    product sends them to (the inbox; a leader's cockpit); ``lands`` (e.g. ``"/cockpit**"``) also
    checks which one it is."""
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click(".login-card button[type=submit]")
    if lands is not None:
        page.wait_for_url(f"{live_server}{lands}")
    else:
        page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (its own browser download does not work here);
    one per test module."""
    from playwright.sync_api import sync_playwright
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


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


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fuzz tests' figures (tests/fuzzing.py): operations, calls, answers by status, 5xx."""
    import sys
    fuzzing = sys.modules.get("tests.fuzzing")
    for tally in getattr(fuzzing, "TALLIES", {}).values():
        terminalreporter.write_line(tally.summary())
