"""Who is asking, and what their roles let them reach.

A :class:`Principal` is loaded once per request (one query for the user and role assignments).
Browser users log in with a session cookie that carries only the secret of a server-side session;
API clients send ``Authorization: Bearer <token>``, a random token stored hashed. Both are rows of
``auth_sessions`` (:mod:`app.security.sessions`) that logout, a password change or an
administrator revokes.
"""
from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass

from flask import g, request, session as web_session
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.db import session
from app.core.errors import Unauthorized
from app.orgs.models import User, subtree_bounds
from app.security.models import AuthSession
from app.security.sessions import find_live_with_user, open_api_token


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: int
    unit_path: str

    def covers(self, path: str) -> bool:
        return path.startswith(self.unit_path)


@dataclass
class Principal:
    user: User
    grants: tuple[Grant, ...]

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def has_role(self, *roles: str) -> bool:
        return any(g.role in roles for g in self.grants)

    def covers(self, role: str | tuple[str, ...], path: str) -> bool:
        """Does the user hold ``role`` at ``path`` or above it?"""
        roles = (role,) if isinstance(role, str) else role
        return any(g.role in roles and g.covers(path) for g in self.grants)

    def covers_any(self, path: str) -> bool:
        return any(g.covers(path) for g in self.grants)

    def ranges(self, role: str | None = None) -> list[tuple[str, str, str]]:
        """(role, lo, hi) path ranges this user reaches, for scoping queries."""
        return [(g.role, *subtree_bounds(g.unit_path)) for g in self.grants if role is None or g.role == role]


def load_principal(user_id: int) -> Principal | None:
    user = session.scalar(select(User).options(selectinload(User.roles)).where(User.id == user_id))
    return principal_of(user)


def principal_of(user: User | None) -> Principal | None:
    """The principal of a user loaded with their roles; None for a missing or inactive user."""
    if user is None or not user.active:
        return None
    session.expunge(user)  # a plain value from here on: it may outlive this session (token cache)
    grants = tuple(Grant(r.role, r.org_unit_id, r.unit_path) for r in user.roles)
    return Principal(user, grants)


# Unknown usernames are checked against this hash, so they take as long as a wrong password for a
# real user (no enumeration by timing). Made with the same method and cost as real hashes.
@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None; the same work either way."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def issue_token(user: User) -> tuple[str, AuthSession]:
    """A new bearer token for ``user`` (stored hashed, lives TOKEN_MAX_AGE, revocable)."""
    row, token = open_api_token(user.id)
    return token, row


# API clients send one token per request; the user and grants behind it are cached briefly per
# process so a burst of calls does not re-read them each time. A revoke, a password change or a
# role change takes effect within PRINCIPAL_TTL seconds in other worker processes (at once in
# the process that made it: it drops what it cached).
PRINCIPAL_TTL = 5.0
_principal_cache: dict[str, tuple[float, Principal, int]] = {}


def principal_from_token(token: str) -> tuple[Principal, int]:
    """The principal of a bearer token and the id of the token's row."""
    now = time.monotonic()
    hit = _principal_cache.get(token)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    principal, row_id = _principal_from_token(token)
    if len(_principal_cache) > 10_000:
        _principal_cache.clear()
    _principal_cache[token] = (now + PRINCIPAL_TTL, principal, row_id)
    return principal, row_id


def clear_principal_cache() -> None:
    _principal_cache.clear()


def forget_token(token: str) -> None:
    """This process stops trusting a cached token at once (it was revoked)."""
    _principal_cache.pop(token, None)


def forget_user_tokens(user_id: int) -> None:
    """This process drops every cached token of a user (their sessions were revoked)."""
    for token, (_exp, principal, _row) in list(_principal_cache.items()):
        if principal.id == user_id:
            _principal_cache.pop(token, None)


def _principal_from_token(token: str) -> tuple[Principal, int]:
    found = find_live_with_user(token, "api")
    if found is None:
        raise Unauthorized("invalid, expired or revoked token; request a new one (POST /api/v1/auth/token)")
    principal = principal_of(found[1])
    if principal is None:
        raise Unauthorized("token no longer valid")
    return principal, found[0].id


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def api_principal() -> Principal:
    """The caller of an API request (cached on ``g``); 401 without a valid bearer token."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    token = bearer_token()
    if token is None:
        raise Unauthorized("send 'Authorization: Bearer <token>' (POST /api/v1/auth/token gives one)")
    g.principal, g.auth_session_id = principal_from_token(token)
    return g.principal


SESSION_KEY = "sid"  # the browser cookie's only credential: the secret of its auth_sessions row
ENDED_KEY = "session_ended"


def web_principal() -> Principal | None:
    """The logged-in browser user, or None (no session, or it ended: logout, timeout, revoke)."""
    if "principal" in g:
        return g.principal
    secret = web_session.get(SESSION_KEY)
    principal = None
    if secret:
        found = find_live_with_user(str(secret), "web")
        if found is not None:
            principal = principal_of(found[1])
            g.auth_session_id = found[0].id
        if principal is None:
            web_session.pop(SESSION_KEY, None)  # the cookie is rewritten without the dead secret
            web_session[ENDED_KEY] = True  # the login page says why the user has to log in again
    g.principal = principal
    return principal


def token_or_page_principal() -> Principal:
    """The caller of an API that pages use too: by bearer token (clients, scripts), else by the
    browser session, whose changes must carry the page's CSRF token (header ``X-CSRFToken``;
    a CSRFError is a 400; safe methods pass)."""
    if bearer_token() is not None:
        return api_principal()
    principal = web_principal()
    if principal is None:
        raise Unauthorized("send 'Authorization: Bearer <token>' (POST /api/v1/auth/token gives one), or log in")
    from app import csrf  # the app's CSRFProtect (app/__init__.py)
    csrf.protect()
    return principal
