"""Who is asking, and what their roles let them reach.

A :class:`Principal` is loaded once per request (one query for the user and role assignments).
Browser users log in with a session cookie; API clients send ``Authorization: Bearer <token>``,
a signed token carrying the user id and a generation number that a password change bumps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request, session as web_session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.db import session
from app.core.errors import Unauthorized
from app.orgs.models import User, subtree_bounds


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
    if user is None or not user.active:
        return None
    session.expunge(user)  # a plain value from here on: it may outlive this session (token cache)
    grants = tuple(Grant(r.role, r.org_unit_id, r.unit_path) for r in user.roles)
    return Principal(user, grants)


def authenticate(username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def _token_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="tongguan-api-token")


def issue_token(user: User) -> str:
    return _token_serializer().dumps({"uid": user.id, "gen": user.token_generation})


# API clients send one token per request; the user and grants behind it are cached briefly per
# process so a burst of calls does not re-read them each time. A password change or a role change
# takes effect within PRINCIPAL_TTL seconds.
PRINCIPAL_TTL = 5.0
_principal_cache: dict[str, tuple[float, Principal]] = {}


def principal_from_token(token: str) -> Principal:
    now = time.monotonic()
    hit = _principal_cache.get(token)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = _principal_from_token(token)
    if len(_principal_cache) > 10_000:
        _principal_cache.clear()
    _principal_cache[token] = (now + PRINCIPAL_TTL, principal)
    return principal


def clear_principal_cache() -> None:
    _principal_cache.clear()


def _principal_from_token(token: str) -> Principal:
    try:
        payload: Any = _token_serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise Unauthorized("token expired; request a new one") from None
    except BadSignature:
        raise Unauthorized("invalid token") from None
    principal = load_principal(int(payload.get("uid", 0)))
    if principal is None or principal.user.token_generation != payload.get("gen"):
        raise Unauthorized("token no longer valid")
    return principal


def api_principal() -> Principal:
    """The caller of an API request (cached on ``g``); 401 without a valid bearer token."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized("send 'Authorization: Bearer <token>' (POST /api/v1/auth/token gives one)")
    g.principal = principal_from_token(header[7:].strip())
    return g.principal


def web_principal() -> Principal | None:
    """The logged-in browser user, or None."""
    if "principal" in g:
        return g.principal
    uid = web_session.get("uid")
    principal = load_principal(uid) if uid else None
    if principal is not None and web_session.get("gen") != principal.user.token_generation:
        principal = None
    g.principal = principal
    return principal
