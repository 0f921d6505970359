"""Who calls the designer's API: a bearer token (clients, scripts), or the browser session of the
modeler's pages, whose changes must carry the page's CSRF token (header ``X-CSRFToken``)."""
from __future__ import annotations

from app.core.auth import Principal, api_principal, bearer_token, web_principal
from app.core.errors import Unauthorized


def token_or_page_principal() -> Principal:
    """The caller by bearer token, else by session (CSRF checked on changes: CSRFError is a 400)."""
    if bearer_token() is not None:
        return api_principal()
    principal = web_principal()
    if principal is None:
        raise Unauthorized("send 'Authorization: Bearer <token>' (POST /api/v1/auth/token gives one), or log in")
    from app import csrf  # the app's CSRFProtect (app/__init__.py); safe methods pass
    csrf.protect()
    return principal
