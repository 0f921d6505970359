"""/api/v1/categories and /api/v1/topics: the active catalogue for intake clients and typeaheads.

Answered from the in-memory index (app.catalog.service), so a client may call it per keystroke.
"""
from __future__ import annotations

from typing import Any


from app.api import schemas
from app.api.routes import _query, bp
from app.catalog.models import GB_DIRECTORY, TOPICS_12345
from app.catalog.service import CategoryInfo, TopicInfo, active_versions, search_categories, search_topics
from app.core.auth import api_principal

DEFAULT_LIMIT = 20


def _limit(args: dict[str, Any]) -> int:
    if args["limit"] is not None:
        return int(args["limit"])
    return DEFAULT_LIMIT if args["q"].strip() else schemas.CATALOG_MAX_LIMIT


def category_item(c: CategoryInfo) -> dict[str, Any]:
    return {"key": c.key, "kind": c.kind, "code": c.code, "name": c.name, "major_class": c.major_class,
            "initials": c.initials}


def topic_item(t: TopicInfo) -> dict[str, Any]:
    return {"code": t.code, "name": t.name, "level": t.level, "parent_code": t.parent_code, "path": t.path_name,
            "initials": t.initials, "leaf": t.leaf}


@bp.get("/categories")
def list_categories() -> Any:
    api_principal()
    args = _query(schemas.CategoryQuerySchema())
    found = search_categories(args["q"], args["kind"], _limit(args))
    version = active_versions().get(GB_DIRECTORY)
    return {"items": [category_item(c) for c in found], "version": version.version if version else None}


@bp.get("/topics")
def list_topics() -> Any:
    api_principal()
    args = _query(schemas.TopicQuerySchema())
    found = search_topics(args["q"], _limit(args))
    version = active_versions().get(TOPICS_12345)
    return {"items": [topic_item(t) for t in found], "version": version.version if version else None}
