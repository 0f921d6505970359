"""Channels and their extension forms (标准工单 + 扩展表单).

Every channel's work order has the same standard fields; what only that channel knows (a hotline
call id, a WeChat OpenID, a city-management case number) is its **extension**, defined as data in
``forms/channels/<channel>.json`` (the JSON Schema dialect of the task forms). A property marked
``"x-reporter-id": true`` identifies the reporter within the channel (used to find repeats).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import current_app

from app.cases.models import CHANNELS
from app.catalog.service import lookup_category, lookup_topic
from app.forms.schema import validate

CHANNEL_DIR = "channels"
EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}}
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _path(channel: str) -> Path:
    return Path(current_app.config["SETTINGS"].FORMS_DIR) / CHANNEL_DIR / f"{channel}.json"


def channel_form(channel: str) -> dict[str, Any]:
    """The channel's extension form (re-read when its file changes); an empty form if it has none."""
    if channel not in CHANNELS:
        raise KeyError(channel)
    path = _path(channel)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return EMPTY_FORM
    hit = _cache.get(channel)
    if hit is None or hit[0] != mtime:
        hit = _cache[channel] = (mtime, json.loads(path.read_text(encoding="utf-8")))
    return hit[1]


def validate_extension(channel: str, extension: Any, locale: str = "zh") -> dict[str, list[str]]:
    """Field errors, named ``extension.<field>`` (empty when valid)."""
    if extension is None:
        extension = {}
    if not isinstance(extension, dict):
        return {"extension": ["expected an object"]}
    form = channel_form(channel)
    errors = validate(form, extension, locale)
    errors.update(_catalogue_errors(form, extension, errors))
    return {f"extension.{name}": messages for name, messages in errors.items()}


def _catalogue_errors(form: dict[str, Any], extension: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Picker fields (``x-widget`` category or topic) must name an entry of the active catalogue."""
    out: dict[str, list[str]] = {}
    for name, prop in form.get("properties", {}).items():
        value = extension.get(name)
        if not isinstance(value, str) or not value or name in errors:
            continue
        if prop.get("x-widget") == "topic" and lookup_topic(value) is None:
            out[name] = ["不在 12345 话题目录中 / not a topic of the 12345 topic tree"]
        elif prop.get("x-widget") == "category" and lookup_category(value) is None:
            out[name] = ["不在分类目录中 / not in the category catalogue"]
    return out


def reporter_identity(channel: str, extension: dict[str, Any], phone: str | None) -> str | None:
    """Who reported it, as stably as the channel knows: a phone number, else the channel's user id."""
    if phone:
        return f"phone:{''.join(ch for ch in phone if ch.isdigit())[-11:]}"
    props = channel_form(channel).get("properties", {})
    for name, prop in props.items():
        if prop.get("x-reporter-id") and extension.get(name):
            value = str(extension[name])
            digits = "".join(ch for ch in value if ch.isdigit())
            return f"phone:{digits[-11:]}" if prop.get("pattern", "").startswith("^[0-9+") and digits else f"{channel}:{value}"
    return None


def displayed_fields(channel: str, extension: dict[str, Any], locale: str = "zh") -> list[tuple[str, str]]:
    """(label, value) pairs of a case's extension for the case page, in the form's order."""
    form = channel_form(channel)
    props = form.get("properties", {})
    order = form.get("x-order") or list(props)
    rows = []
    for name in [*order, *[k for k in extension if k not in order]]:
        if name not in extension or extension[name] in (None, ""):
            continue
        prop = props.get(name, {})
        label = prop.get("x-title-en" if locale == "en" else "title") or prop.get("title") or name
        value = extension[name]
        if "enum" in prop and value in prop["enum"]:
            titles = prop.get("x-enum-titles-en" if locale == "en" else "x-enum-titles") or prop["enum"]
            value = titles[prop["enum"].index(value)]
        elif isinstance(value, bool):
            value = ("yes" if value else "no") if locale == "en" else ("是" if value else "否")
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif prop.get("format") == "date-time" and isinstance(value, str):
            value = _local_time(value)
        elif prop.get("x-widget") == "topic" and (topic := lookup_topic(str(value))) is not None:
            value = topic.path_name
        elif prop.get("x-widget") == "category" and (category := lookup_category(str(value), include_retired=True)):
            value = f"{category.name}（{value}）"
        rows.append((str(label), str(value)))
    return rows


def _local_time(value: str) -> str:
    """An ISO moment as the case page writes times: local, to the minute."""
    from datetime import datetime

    from app.cases.models import LOCAL_TZ
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL_TZ)
    return f"{moment:%Y-%m-%d %H:%M}"
