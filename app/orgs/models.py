"""Org tree, users and role assignments.

Each unit keeps its materialised ``path`` (``/city/d1/d1-s1/``) so "this unit and everything below
it" is one indexed range query, used by inbox scoping and permission checks.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Float, Boolean, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.db import Base, utcnow

UNIT_KINDS = ("city", "district", "street", "community", "department")
TIERS = ("city", "district", "street", "community")

ROLES: dict[str, tuple[str, str]] = {
    "operator": ("受理员", "Operator"),
    "grid_worker": ("网格员", "Grid worker"),
    "dispatcher": ("派遣员", "Dispatcher"),
    "handler": ("处置人员", "Handler"),
    "supervisor": ("督办员", "Supervisor"),
    "designer": ("流程设计员", "Process designer"),
    "leader": ("领导", "Leader"),
    "admin": ("管理员", "Administrator"),
}


def subtree_bounds(path: str) -> tuple[str, str]:
    """Range [lo, hi) covering ``path`` and every path below it (paths end with '/')."""
    return path, path[:-1] + "0"  # '0' is the character right after '/'


class OrgUnit(Base):
    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    dept_type: Mapped[str | None] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    path: Mapped[str] = mapped_column(String(1000), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    def display_name(self, locale: str = "zh") -> str:
        return (self.name_en or self.name) if locale == "en" else self.name

    @property
    def tier(self) -> str | None:
        return self.kind if self.kind in TIERS else None


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(5), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[RoleAssignment]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class RoleAssignment(Base):
    """A role held at a unit; it covers that unit and all units below it."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "org_unit_id", name="uq_role_assignment"),
        Index("ix_role_assignments_role_path", "role", "unit_path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_path: Mapped[str] = mapped_column(String(1000))

    user: Mapped[User] = relationship(back_populates="roles")
    org_unit: Mapped[OrgUnit] = relationship()
