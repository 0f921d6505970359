"""Fixtures for page tests."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.pages import csrf, html


@pytest.fixture()
def browser(app: Flask, login: Callable[..., Any]) -> Callable[[str], FlaskClient]:
    """A fresh logged-in test client per demo user, in Chinese whatever the user chose before."""
    def make(username: str) -> FlaskClient:
        client = app.test_client()
        r = login(client, username)
        assert r.status_code == 302, html(r)
        client.post("/lang/zh", data={"csrf_token": csrf(html(client.get("/inbox")))})
        return client
    return make
