"""Versioned reference data: one row per loaded version of a catalogue, with its categories or topics.

A version is never changed after it is loaded, except for its ``active`` flag: exactly one version
of each catalogue is active, and old versions keep their rows so a case classified under an older
directory still finds its category. ``initials`` and ``pinyin`` hold every reading of polyphonic
characters (bounded), space-separated, the most likely reading first.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow

GB_DIRECTORY = "gb47678_5"
TOPICS_12345 = "topics_12345"
CATALOGS = (GB_DIRECTORY, TOPICS_12345)
CATEGORY_KINDS = ("component", "event")


class CatalogVersion(Base):
    __tablename__ = "catalog_versions"
    __table_args__ = (
        UniqueConstraint("catalog", "version", name="uq_catalog_versions_version"),
        UniqueConstraint("catalog", "sha256", name="uq_catalog_versions_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    loaded_by: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class CatalogCategory(Base):
    """One component or event of a version of the GB/T 47678.5 directory; ``key`` is ``kind:code``."""

    __tablename__ = "catalog_categories"
    __table_args__ = (UniqueConstraint("version_id", "key", name="uq_catalog_categories_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(40))
    major_code: Mapped[str] = mapped_column(String(2))
    major_class: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    initials: Mapped[str] = mapped_column(String(500))
    pinyin: Mapped[str] = mapped_column(Text)


class CatalogTopic(Base):
    """One node of a version of the 12345 topic tree (levels 1 to 3).

    ``code`` is derived from the names on the path (one 6-hex segment per level, dot-separated),
    so the same topic keeps its code in every version of the tree.
    """

    __tablename__ = "catalog_topics"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_catalog_topics_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer)
    parent_code: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    path_name: Mapped[str] = mapped_column(String(700))
    initials: Mapped[str] = mapped_column(String(500))
    pinyin: Mapped[str] = mapped_column(Text)
