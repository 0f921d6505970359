"""Read-only views of the catalogue tables for the admin page and the command line."""
from __future__ import annotations

from sqlalchemy import select

from app.catalog.models import CatalogVersion
from app.core.db import session


def all_versions(catalog: str | None = None) -> list[CatalogVersion]:
    """Every stored version, by catalogue and newest first."""
    stmt = select(CatalogVersion).order_by(CatalogVersion.catalog, CatalogVersion.version.desc())
    if catalog is not None:
        stmt = stmt.where(CatalogVersion.catalog == catalog)
    return list(session.scalars(stmt).all())
