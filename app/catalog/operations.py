"""Loading catalogue versions: everything that changes the catalogue tables passes through here.

Each load is one unit of work (the caller commits: the CLI, or the request): the content is
checked, hashed, and stored as a new version that becomes active — unless the same content is
stored already, in which case nothing is created. Old versions stay, inactive. Every change is
audited, and the in-memory index is rebuilt after the commit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from app.catalog import files, service
from app.catalog.models import (GB_DIRECTORY, TOPICS_12345, CatalogCategory, CatalogTopic, CatalogVersion)
from app.catalog.pinyin import name_keys
from app.core.audit import record
from app.core.db import session
from app.core.errors import NotFound, ValidationFailed

SHIPPED_DIRECTORY = Path(__file__).parent / "data" / "gb47678_5_directory.csv"
SOURCE_MAX = 500


@dataclass(frozen=True)
class LoadResult:
    """What a load did: ``created`` a new version, or found the same content in ``version``;
    ``active`` tells whether that version is the active one now."""

    catalog: str
    version: int
    created: bool
    active: bool
    activated: bool
    row_count: int
    sha256: str

    def summary(self) -> str:
        what = "loaded" if self.created else ("re-activated" if self.activated else "unchanged")
        state = "active" if self.active else "NOT active (use --activate to switch to it)"
        return f"{self.catalog} version {self.version} {what}: {self.row_count} rows, {state} (sha256 {self.sha256[:12]})"


def _actor_name(actor: Any) -> str | None:
    if actor is None or isinstance(actor, str):
        return actor
    return getattr(actor, "username", None)


def _store(catalog: str, sha: str, row_count: int, source: str, actor: Any, activate_existing: bool) -> tuple[CatalogVersion, bool, bool]:
    """The version of ``sha`` (new or existing); (version, created, activated)."""
    existing = session.scalar(select(CatalogVersion).where(CatalogVersion.catalog == catalog,
                                                           CatalogVersion.sha256 == sha))
    if existing is not None:
        if existing.active or not activate_existing:
            return existing, False, False
        _activate(existing, actor)
        return existing, False, True
    latest = session.scalar(select(func.max(CatalogVersion.version)).where(CatalogVersion.catalog == catalog)) or 0
    session.execute(update(CatalogVersion).where(CatalogVersion.catalog == catalog, CatalogVersion.active.is_(True))
                    .values(active=False))
    version = CatalogVersion(catalog=catalog, version=latest + 1, source=source[:SOURCE_MAX], sha256=sha,
                             row_count=row_count, loaded_by=_actor_name(actor), active=True)
    session.add(version)
    session.flush()
    record("catalog_loaded", actor=None if isinstance(actor, str) else actor, catalog=catalog,
           version=version.version, rows=row_count, sha256=sha, source=version.source,
           loaded_by=_actor_name(actor))
    service.changed()
    return version, True, False


def _activate(version: CatalogVersion, actor: Any) -> None:
    session.execute(update(CatalogVersion).where(CatalogVersion.catalog == version.catalog,
                                                 CatalogVersion.id != version.id).values(active=False))
    version.active = True
    session.flush()
    record("catalog_activated", actor=None if isinstance(actor, str) else actor, catalog=version.catalog,
           version=version.version, sha256=version.sha256, loaded_by=_actor_name(actor))
    service.changed()


def _result(version: CatalogVersion, created: bool, activated: bool) -> LoadResult:
    return LoadResult(catalog=version.catalog, version=version.version, created=created, active=version.active,
                      activated=activated, row_count=version.row_count, sha256=version.sha256)


# ---------------------------------------------------------------------------- GB/T 47678.5 directory

def load_directory(data: bytes | None = None, source: str | None = None, actor: Any = "cli",
                   activate: bool = False) -> LoadResult:
    """Load a GB/T 47678.5 directory CSV (default: the one shipped in ``app/catalog/data``).

    ``activate`` switches back to an older version whose content this is; otherwise such content
    is left as it is (so a set-up script that loads the shipped file never undoes a newer edition).
    """
    if data is None:
        data = SHIPPED_DIRECTORY.read_bytes()
        source = source or SHIPPED_DIRECTORY.name
    rows = files.read_directory(data)
    standards = sorted({r.standard for r in rows if r.standard})
    sha = files.content_sha256([(r.standard, r.kind, r.code, r.major_class, r.name) for r in rows])
    label = " ".join([", ".join(standards), f"({source})" if source else ""]).strip() or "upload"
    version, created, activated = _store(GB_DIRECTORY, sha, len(rows), label, actor, activate)
    if created:
        values = []
        for r in rows:
            initials, full = name_keys(r.name)
            values.append({"version_id": version.id, "kind": r.kind, "code": r.code, "key": r.key,
                           "major_code": r.code[:2], "major_class": r.major_class, "name": r.name,
                           "initials": initials, "pinyin": full})
        session.execute(insert(CatalogCategory), values)
    return _result(version, created, activated)


# ---------------------------------------------------------------------------- 12345 topic tree

def topic_code(path: tuple[str, ...]) -> str:
    """A topic's stable code: one 6-hex segment per level, from the names on its path
    (``a1b2c3.d4e5f6.0a1b2c``), so a topic keeps its code in every version of the tree."""
    return ".".join(hashlib.sha256(name.encode("utf-8")).hexdigest()[:6] for name in path)


def _topic_rows(paths: list[tuple[str, ...]], version_id: int) -> list[dict[str, Any]]:
    nodes: dict[tuple[str, ...], None] = {}
    for path in paths:
        for depth in range(1, len(path) + 1):
            nodes.setdefault(path[:depth], None)
    seen: dict[str, tuple[str, ...]] = {}
    out = []
    for node in nodes:
        code = topic_code(node)
        if code in seen:  # two different paths with one code: practically never; refuse, do not guess
            raise ValidationFailed("文件无法导入 / the file cannot be imported", errors={"file": [
                f"分类“{'/'.join(node)}”与“{'/'.join(seen[code])}”的代码冲突 / topics '{'/'.join(node)}' and "
                f"'{'/'.join(seen[code])}' have the same code"]})
        seen[code] = node
        initials, full = name_keys(node[-1])
        out.append({"version_id": version_id, "code": code, "level": len(node),
                    "parent_code": topic_code(node[:-1]) if len(node) > 1 else None, "name": node[-1],
                    "path_name": "/".join(node), "initials": initials, "pinyin": full})
    return out


def import_topics(data: bytes, source: str, actor: Any = "cli", activate: bool = False) -> LoadResult:
    """Load a 12345 topic tree CSV (一级分类,二级分类,三级分类); checked first, nothing stored if refused."""
    paths = files.read_topics(data)
    return load_topic_paths(paths, source, actor, activate)


def load_topic_paths(paths: list[tuple[str, ...]], source: str, actor: Any = "cli",
                     activate: bool = False) -> LoadResult:
    """Load a topic tree given as its leaf paths (each 1 to 3 names)."""
    if not paths:
        raise ValidationFailed("文件无法导入 / the file cannot be imported",
                               errors={"file": ["没有分类 / no topics"]})
    sha = files.content_sha256(paths)
    nodes = {p[:d] for p in paths for d in range(1, len(p) + 1)}
    version, created, activated = _store(TOPICS_12345, sha, len(nodes), source, actor, activate)
    if created:
        session.execute(insert(CatalogTopic), _topic_rows(paths, version.id))
    return _result(version, created, activated)


# ---------------------------------------------------------------------------- switching versions

def activate_version(catalog: str, number: int, actor: Any = "cli") -> CatalogVersion:
    """Make an older (or newer) stored version of ``catalog`` the active one again."""
    version = session.scalar(select(CatalogVersion).where(CatalogVersion.catalog == catalog,
                                                          CatalogVersion.version == number))
    if version is None:
        raise NotFound(f"{catalog} 没有第 {number} 版 / {catalog} has no version {number}")
    if not version.active:
        _activate(version, actor)
    return version
