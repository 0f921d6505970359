"""Helpers for page tests: read a response as HTML and take a CSRF token from a page."""
from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient


def html(response: Any) -> str:
    return response.get_data(as_text=True)  # type: ignore[no-any-return]


def csrf(page: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert m, "no csrf_token in the page"
    return m.group(1)


def token(client: FlaskClient, url: str = "/inbox") -> str:
    """A CSRF token of the current session, read from a page as a browser would."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return csrf(page.get_data(as_text=True))
