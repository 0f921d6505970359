"""JSON Schema forms in the browser: what the field macros need, and values as HTML strings.

Validation and typing stay in :mod:`app.forms.schema` (shared with the API); this module only
prepares a schema for ``templates/forms/fields.html`` and turns values into input strings.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from app.core.i18n import get_locale, gettext as _
from app.forms.schema import field_order, is_photo_field, photo_minimum
from app.orgs.directory import directory
from app.orgs.tree import UnitGroup, unit_tree
from app.web.helpers import SHANGHAI, format_dt, limit_text

KINDS = ("text", "textarea", "integer", "number", "select", "checkboxes", "boolean", "datetime", "date",
         "category", "topic", "photo")


@dataclass
class FieldView:
    name: str
    kind: str
    title: str
    description: str | None
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    wide: bool = False
    #: an org-unit choice (``x-source: units:…``) shown as the tree, the proposal first
    groups: list[UnitGroup] | None = None


def field_kind(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type")
    if is_photo_field(prop):  # the step's photos: a file input, its held photos as ticked thumbnails
        return "photo"
    if kind == "array":
        return "checkboxes"
    if kind == "boolean":
        return "boolean"
    if kind in ("integer", "number"):
        return str(kind)
    if "enum" in prop:
        return "select"
    if prop.get("x-widget") == "textarea":
        return "textarea"
    if prop.get("x-widget") == "category":  # the GB/T 47678.5 category picker (app/static/category-picker.js)
        return "category"
    if prop.get("x-widget") == "topic":  # the same picker over the 12345 topic tree
        return "topic"
    if prop.get("format") == "date-time":
        return "datetime"
    if prop.get("format") == "date":
        return "date"
    return "text"


def _localized(prop: Mapping[str, Any], key: str, en: bool) -> Any:
    return prop.get(f"x-{key}-en") if en and prop.get(f"x-{key}-en") else prop.get(key)


def enum_options(prop: Mapping[str, Any], en: bool) -> list[tuple[str, str]]:
    """(value, label) pairs of a choice; a multi-choice keeps its titles on the field or its items."""
    source = prop.get("items", {}) if prop.get("type") == "array" else prop
    values = source.get("enum", [])
    titles = (en and (prop.get("x-enum-titles-en") or source.get("x-enum-titles-en"))) \
        or prop.get("x-enum-titles") or source.get("x-enum-titles") or []
    return [(str(v), str(titles[i]) if i < len(titles) else str(v)) for i, v in enumerate(values)]


def form_fields(schema: Mapping[str, Any]) -> list[FieldView]:
    """The fields of a (resolved) schema in display order, labelled in the current language."""
    en = get_locale() == "en"
    required = set(schema.get("required", []))
    props = schema.get("properties", {})
    out = []
    for name in field_order(schema):
        prop = props[name]
        kind = field_kind(prop)
        attrs: dict[str, Any] = {}
        for key, attr in (("maxLength", "maxlength"), ("minimum", "min"), ("maximum", "max")):
            if key in prop:
                attrs[attr] = prop[key]
        if kind == "integer":
            attrs["step"] = 1
        elif kind == "number":
            attrs["step"] = "any"
        elif kind == "photo":
            settings = current_app.config["SETTINGS"]
            attrs = {"data-min-photos": photo_minimum(prop), "data-max-photos": prop.get("maxItems", 1),
                     "data-max-file": int(settings.ATTACHMENT_MAX_BYTES),
                     "data-max-request": int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)}
        options = enum_options(prop, en) if kind in ("select", "checkboxes") else []
        out.append(FieldView(
            name=name, kind=kind, title=str(_localized(prop, "title", en) or name),
            description=_localized(prop, "description", en),
            required=name in required or (kind == "photo" and photo_minimum(prop) > 0),
            options=options, attrs=attrs,
            wide=kind in ("textarea", "checkboxes", "photo") or int(prop.get("maxLength", 0)) > 100,
            groups=_unit_groups(prop, options, None)))
    return out


def _unit_source(prop: Mapping[str, Any]) -> bool:
    source = (prop.get("items") or {}).get("x-source") if prop.get("type") == "array" else prop.get("x-source")
    return isinstance(source, str) and source.startswith("units:")


def _unit_groups(prop: Mapping[str, Any], options: list[tuple[str, str]], proposed: str | None) -> list[UnitGroup] | None:
    if not options or not _unit_source(prop):
        return None
    return unit_tree([v for v, _label in options], directory(), get_locale(), proposed)


def mark_proposals(fields: list[FieldView], schema: Mapping[str, Any], proposal: Mapping[str, Any]) -> None:
    """Put the rules' proposal first in the unit pickers it prefills, marked 建议: a field whose
    ``x-default-from`` is one of the form's ``x-proposal`` variables (triage's lead unit)."""
    names = set(schema.get("x-proposal") or [])
    props = schema.get("properties", {})
    for f in fields:
        source = props.get(f.name, {}).get("x-default-from")
        value = proposal.get(source) if source in names else None
        if f.groups is not None and isinstance(value, str) and value:
            f.groups = _unit_groups(props[f.name], f.options, value)


def html_value(fv: FieldView, value: Any) -> Any:
    """A typed value (or a posted string) as the input's string; lists for multi-choice."""
    if fv.kind == "photo":  # files are never prefilled; a refused form's photos are held (app.web.step_photos)
        return []
    if fv.kind == "checkboxes":
        if value is None:
            return []
        return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if value is None:
        return ""
    if fv.kind == "boolean":
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if fv.kind == "datetime" and isinstance(value, str) and value:
        if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", value):
            return value
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(SHANGHAI)
        return parsed.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, float) and value.is_integer() and fv.kind == "integer":
        return str(int(value))
    return str(value)


def html_values(fields: list[FieldView], values: Mapping[str, Any]) -> dict[str, Any]:
    return {f.name: html_value(f, values.get(f.name)) for f in fields}


def posted_values(fields: list[FieldView], form: Any) -> dict[str, Any]:
    """What the user typed, to re-render a refused form without losing anything."""
    return {f.name: form.getlist(f.name) if f.kind == "checkboxes" else [] if f.kind == "photo" else form.get(f.name, "")
            for f in fields}


def form_errors(fields: list[FieldView], errors: Mapping[str, list[str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Split errors into per-field messages and those for the form as a whole."""
    names = {f.name for f in fields}
    per_field = {k: list(v) for k, v in errors.items() if k in names}
    general = [f"{k}: {m}" if k != "_form" else m for k, v in errors.items() if k not in names for m in v]
    return per_field, general


def display_value(prop: Mapping[str, Any], value: Any) -> str | None:
    """A stored form value as people read it (choice titles, 是/否, unit names, Beijing time)."""
    if value is None or value == "" or value == []:
        return None
    en = get_locale() == "en"
    if is_photo_field(prop) and isinstance(value, list):  # the photos themselves are shown beside it
        return _("{n} 张照片", n=len(value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):  # a multi-choice: its items' titles, or unit names (协办单位)
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        titles = dict(enum_options(prop, en))
        return (", " if en else "、").join(
            titles.get(str(v)) or display_value(items, v) or str(v) for v in value)
    source = prop.get("x-source")
    if isinstance(source, str) and source.startswith("units:") and isinstance(value, str):
        unit = directory().by_code.get(value)
        if unit is not None:
            return (unit.name_en or unit.name) if en else unit.name
    if "enum" in prop:
        return dict(enum_options(prop, en)).get(str(value), str(value))
    if prop.get("format") == "date-time" and isinstance(value, str):
        return format_dt(value)
    if prop.get("format") == "time-limit" and isinstance(value, str):
        return limit_text(value)
    return str(value)
