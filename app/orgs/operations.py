"""Operations on the org tree and users."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.core.audit import record
from app.core.db import session
from app.core.errors import ValidationFailed
from app.orgs import directory
from app.orgs.models import ROLES, UNIT_KINDS, OrgUnit, RoleAssignment, User
from app.security.passwords import password_problems


def create_unit(code: str, name: str, kind: str, parent: OrgUnit | None, *, name_en: str | None = None,
                dept_type: str | None = None, lat: float | None = None, lng: float | None = None) -> OrgUnit:
    if kind not in UNIT_KINDS:
        raise ValidationFailed("invalid unit", errors={"kind": [f"one of {', '.join(UNIT_KINDS)}"]})
    if "/" in code or not code:
        raise ValidationFailed("invalid unit", errors={"code": ["must be non-empty and contain no '/'"]})
    unit = OrgUnit(code=code, name=name, name_en=name_en, kind=kind, dept_type=dept_type, parent=parent,
                   path=(parent.path if parent else "/") + code + "/", lat=lat, lng=lng)
    session.add(unit)
    session.flush()
    directory.invalidate()
    return unit


def create_user(username: str, display_name: str, password: str, roles: list[tuple[str, str]],
                locale: str = "zh") -> User:
    errors: dict[str, list[str]] = {}
    if session.scalar(select(User.id).where(User.username == username)):
        errors["username"] = ["already taken"]
    problems = password_problems(password, username, current_app.config["SETTINGS"].PASSWORD_MIN_LENGTH)
    if problems:
        errors["password"] = problems
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_([c for _r, c in roles])))}
    for role, code in roles:
        if role not in ROLES:
            errors.setdefault("roles", []).append(f"unknown role {role}")
        if code not in units:
            errors.setdefault("roles", []).append(f"unknown unit {code}")
    if errors:
        raise ValidationFailed("invalid user", errors=errors)
    user = User(username=username, display_name=display_name, locale=locale)
    user.set_password(password)
    session.add(user)
    session.flush()
    for role, code in roles:
        unit = units[code]
        session.add(RoleAssignment(user_id=user.id, role=role, org_unit_id=unit.id, unit_path=unit.path))
    record("user_created", user=username, roles=[f"{r}@{c}" for r, c in roles])
    session.flush()
    return user


def set_user_locale(user_id: int, locale: str) -> None:
    """Remember a user's interface language."""
    user = session.get(User, user_id)
    if user is not None:
        user.locale = locale
        session.flush()
