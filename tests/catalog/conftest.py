"""Fixtures for the catalogue: a private database for tests that load and switch versions.

Tests that change which version is active must not do it in the session's shared database (later
tests expect the shipped directory there), so ``catalog_app`` gives each test its own migrated,
empty SQLite database, copied from one migrated once per session.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import ROOT

SHARED_TOPICS = ROOT.parent / "shared" / "data" / "messages" / "taxonomy_3level.csv"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "template.sqlite"
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "c" * 40})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    app.extensions["db_engine"].dispose()
    return path


@pytest.fixture()
def catalog_app(migrated_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app on its own empty, migrated database (no catalogue, no demo data)."""
    path = tmp_path / "catalog.sqlite"
    shutil.copyfile(migrated_template, path)
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "c" * 40})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture()
def shared_topics() -> Path:
    """The real 12345 tree of ../shared/data (not shipped with the product); skip when absent."""
    if not SHARED_TOPICS.is_file():
        pytest.skip(f"{SHARED_TOPICS} is absent")
    return SHARED_TOPICS


@pytest.fixture()
def signed_in(app: Flask, login: Callable[..., Any]) -> Callable[[str], FlaskClient]:
    """A fresh test client logged in as a demo user, in Chinese."""
    from tests.web.pages import csrf, html

    def make(username: str) -> FlaskClient:
        client = app.test_client()
        r = login(client, username)
        assert r.status_code == 302, html(r)
        client.post("/lang/zh", data={"csrf_token": csrf(html(client.get("/inbox")))})
        return client
    return make
