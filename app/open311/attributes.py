"""The channel extension form ``forms/channels/open311.json`` seen as GeoReport v2 attributes.

The form is a JSON Schema in the dialect of the task forms. Its properties marked
``"x-open311": "standard"`` hold GeoReport's standard parameters (email, device_id, ...); the others
are the attributes every service offers, translated to GeoReport datatypes:

=========================================  ===================
JSON Schema                                GeoReport datatype
=========================================  ===================
string with ``enum``                       singlevaluelist
boolean                                    singlevaluelist (true / false)
array of an ``enum``                       multivaluelist
number, integer                            number
string, ``format`` date-time or date       datetime
string, ``x-widget: textarea``             text
string                                     string
=========================================  ===================

Form posts carry strings: :func:`coerce_attributes` turns them into the schema's types, so the
answers are checked by the same JSON Schema validation as every other form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from app.cases import channels
from app.forms.schema import field_order

CHANNEL = "open311"
STANDARD_FIELDS = ("email", "device_id", "account_id", "address_id", "media_url")
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "on", "是"), ("false", "0", "no", "off", "否")


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    required: bool
    order: int
    description: str
    datatype_description: str | None
    values: tuple[tuple[str, str], ...]  # (key, name) of list datatypes

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variable": True, "code": self.code, "datatype": self.datatype,
                               "required": self.required, "datatype_description": self.datatype_description,
                               "order": self.order, "description": self.description}
        if self.values:
            out["values"] = [{"key": k, "name": n} for k, n in self.values]
        return out


def channel_form() -> dict[str, Any]:
    """The extension form (app.cases.channels re-reads it when its file changes)."""
    return channels.channel_form(CHANNEL)


def form_changed_at() -> float | None:
    """When the form's file last changed (the discovery document's changeset), None without one."""
    try:
        return (Path(current_app.config["SETTINGS"].FORMS_DIR) / "channels" / f"{CHANNEL}.json").stat().st_mtime
    except FileNotFoundError:
        return None


def _datatype(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind == "boolean" or (kind == "string" and "enum" in prop):
        return "singlevaluelist"
    if kind == "array":
        return "multivaluelist"
    if kind in ("number", "integer"):
        return "number"
    if kind == "string" and prop.get("format") in ("date-time", "date"):
        return "datetime"
    if kind == "string" and prop.get("x-widget") == "textarea":
        return "text"
    return "string"


def _text(node: dict[str, Any], key: str, en: bool) -> str | None:
    return (node.get(f"x-{key}-en") if en else None) or node.get(key)


def _values(prop: dict[str, Any], en: bool) -> tuple[tuple[str, str], ...]:
    if prop.get("type") == "boolean":
        return (("true", "Yes" if en else "是"), ("false", "No" if en else "否"))
    keys = prop.get("enum") or (prop.get("items") or {}).get("enum") or []
    titles = (prop.get("x-enum-titles-en") if en else None) or prop.get("x-enum-titles") or []
    return tuple((str(k), str(titles[i]) if i < len(titles) else str(k)) for i, k in enumerate(keys))


def attributes(locale: str = "zh") -> list[Attribute]:
    """The form's attributes in their display order (standard parameters left out)."""
    schema = channel_form()
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    en = locale == "en"
    out: list[Attribute] = []
    for name in field_order(schema):
        prop = props[name]
        if prop.get("x-open311") == "standard":
            continue
        out.append(Attribute(code=name, datatype=_datatype(prop), required=name in required, order=len(out) + 1,
                             description=_text(prop, "title", en) or name,
                             datatype_description=_text(prop, "description", en),
                             values=_values(prop, en)))
    return out


def coerce_attributes(raw: dict[str, list[str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed answers from ``attribute[CODE]`` form values; errors name the attribute.

    ``raw`` maps each code to the strings posted for it (several for a multivaluelist).
    """
    schema = channel_form()
    props = schema.get("properties", {})
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for code, strings in raw.items():
        prop = props.get(code)
        if prop is None or prop.get("x-open311") == "standard":
            errors[code] = "is not an attribute of this service"
            continue
        strings = [s.strip() for s in strings if s.strip() != ""]
        if not strings:
            continue  # an empty answer is no answer (GeoReport's "optional" rule)
        kind = prop.get("type")
        if kind == "array":
            values[code] = strings
            continue
        if len(strings) > 1:
            errors[code] = "takes one value"
            continue
        text = strings[0]
        try:
            if kind == "boolean":
                if text.lower() not in TRUE_WORDS + FALSE_WORDS:
                    raise ValueError("true or false")
                values[code] = text.lower() in TRUE_WORDS
            elif kind == "integer":
                values[code] = int(text)
            elif kind == "number":
                number = float(text)
                if not math.isfinite(number):
                    raise ValueError(text)
                values[code] = number
            else:
                values[code] = text
        except ValueError:
            errors[code] = {"boolean": "must be true or false", "integer": "must be a whole number"}.get(
                str(kind), "must be a number")
    return values, errors
