"""Fixtures of the Open311 tests: a form-encoded POST with the demo key, and set-up done in an app
context (cases of other channels come from the shared ``make_case``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.open311.helpers import V2, base_params


@pytest.fixture()
def post311(client: FlaskClient) -> Callable[..., Any]:
    """POST requests.<fmt> form-encoded, as GeoReport clients do."""
    def post(fmt: str = "json", headers: dict[str, str] | None = None, **params: Any) -> Any:
        return client.post(f"{V2}/requests.{fmt}", data=base_params(**params), headers=headers or {})
    return post


@pytest.fixture()
def filed(post311: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """File a request and return the JSON answer's single entry."""
    def file(**params: Any) -> dict[str, Any]:
        r = post311("json", **params)
        assert r.status_code == 201, r.get_data(as_text=True)
        body = r.get_json()
        assert isinstance(body, list) and len(body) == 1
        return body[0]  # type: ignore[no-any-return]
    return file


@pytest.fixture()
def in_app(app: Flask) -> Callable[[Callable[[], Any]], Any]:
    """Run ``fn`` in an app context inside one committed transaction (to set up states)."""
    def run(fn: Callable[[], Any]) -> Any:
        from app.core.db import session, transaction
        with app.app_context():
            try:
                with transaction():
                    return fn()
            finally:
                session.remove()
    return run
