"""GeoReport services: the active categories of the catalogue (GB/T 47678.5 components and events).

``service_code`` is the category key made URL-safe: ``event:06001`` ↔ ``event-06001``. The group is
the category's major class; every service is ``realtime`` (the case number is known at once) and
has metadata when the Open311 extension form has attributes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.catalog import service as catalog
from app.open311 import attributes

SERVICE_CODE = re.compile(r"^(component|event)-(\d{5})$")
KIND_NAMES = {"component": ("部件", "Component"), "event": ("事件", "Event")}


@dataclass(frozen=True)
class Service:
    code: str  # service_code, e.g. event-06001
    key: str  # catalogue key, e.g. event:06001
    name: str
    group: str
    keywords: str

    def as_dict(self, metadata: bool, locale: str = "zh") -> dict[str, Any]:
        kind, number = self.key.split(":", 1)
        zh, en = KIND_NAMES.get(kind, (kind, kind))
        description = (f"{en} {number} of GB/T 47678.5 ({self.group}): {self.name}" if locale == "en"
                       else f"GB/T 47678.5 {zh} {number}（{self.group}）：{self.name}")
        return {"service_code": self.code, "service_name": self.name, "description": description,
                "metadata": metadata, "type": "realtime", "keywords": self.keywords, "group": self.group}


#: the service_code of a public case filed without a category (a patrol report not classified
#: yet): GeoReport requires one, and no client can file with it (it is not in the service list)
UNCATEGORIZED = "uncategorized"


def uncategorized_name(locale: str = "zh") -> str:
    return "Not categorised yet" if locale == "en" else "未分类"


def code_to_key(service_code: str) -> str | None:
    """``event-06001`` → ``event:06001``; None when it is not a service code at all."""
    m = SERVICE_CODE.match(service_code)
    return f"{m.group(1)}:{m.group(2)}" if m else None


def key_to_code(key: str | None) -> str | None:
    return key.replace(":", "-", 1) if key else None


def _service(category: Any) -> Service:
    kind = category.kind
    words = [KIND_NAMES.get(kind, (kind,))[0], category.major_class, category.initials]
    return Service(code=f"{kind}-{category.code}", key=category.key, name=category.name,
                   group=category.major_class, keywords=", ".join(w for w in words if w))


def list_services() -> list[Service]:
    """Every active category, in catalogue order (kind, then code)."""
    return [_service(c) for c in _categories().values()]


def find_service(service_code: str) -> Service | None:
    """The active service of ``service_code``; None when unknown or no longer active."""
    key = code_to_key(service_code)
    if key is None:
        return None
    category = _categories().get(key)
    return _service(category) if category is not None else None


def service_name(key: str | None) -> str | None:
    """The name of a case's category, active or from an older version of the catalogue."""
    if not key:
        return None
    category = _categories().get(key)
    if category is None:
        category = _any_version(key)
    return category.name if category is not None else None


def has_metadata() -> bool:
    return bool(attributes.attributes())


# ---------------------------------------------------------------------------- the catalogue

def _categories() -> dict[str, Any]:
    """Active categories by key, from the catalogue's in-memory index (app.catalog.service)."""
    return catalog.catalogue().categories


def _any_version(key: str) -> Any:
    return catalog.lookup_category(key, include_retired=True)
