"""Turning a form's JSON Schema into fields, initial values, typed data and field-level errors.

The same functions serve the browser (HTML form posts, strings) and the API (JSON), so a task
completed either way is checked by exactly the same rules.

A photo field (``"format": "photo"``) holds the ids of the step's photos: the browser sends the
files with the form, the API the ids of photos uploaded to the case first; app.attachments ties
them to the task. Its count is checked here (``minItems`` / ``maxItems``), like any field.

A form's ``pattern`` is written by a process designer and matched against what anyone types, so
it runs on RE2, a linear-time engine: ``^(a+)+$`` takes microseconds on any input instead of
doubling its time with every character. RE2 has no look-around and no back-references; such a
pattern is refused when the bundle is deployed (:func:`check_form_patterns`).
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from app.core.i18n import N_
from app.core.ids import MAX_INT64
from app.core.text import LINE_BREAKS, control_character, is_blank
from app.orgs.directory import directory
from app.orgs.tree import tree_order
from app.sla.calendar import parse_limit

_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None or bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?", value))


@_format_checker.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


class FormPatternError(ValueError):
    """A form's ``pattern`` (or other regular expression) that the form engine cannot run."""


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error is reported to the designer, not to stderr
_RE2_OPTIONS.max_mem = 8 << 20  # a pattern's compiled program (RE2's default: 8 MiB as well)
_patterns: dict[str, Any] = {}


def compile_pattern(pattern: str) -> Any:
    """The RE2 program of a form pattern (cached); :class:`FormPatternError` if RE2 cannot run it."""
    compiled = _patterns.get(pattern)
    if compiled is None:
        if not isinstance(pattern, str):
            raise FormPatternError(f"pattern {pattern!r} must be a string")
        try:
            compiled = re2.compile(pattern, options=_RE2_OPTIONS)
        except re2.error as exc:
            detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise FormPatternError(f"pattern {pattern!r} is not supported: {detail} (form patterns use RE2 syntax: "
                                   "no look-ahead/look-behind, no back-references)") from None
        if len(_patterns) > 2000:
            _patterns.clear()
        _patterns[pattern] = compiled
    return compiled


_REGEX_KEYWORDS = ("patternProperties", "propertyNames")


def check_form_patterns(schema: Any, where: str = "") -> None:
    """Compile every ``pattern`` of a form with RE2. Keywords that make the validator run Python
    regular expressions of its own (``patternProperties``, ``propertyNames``) are refused: a form
    is a flat list of named fields and needs neither."""
    stack = [(schema, where or "#")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and not isinstance(value, dict):
                    compile_pattern(value)
                elif key in _REGEX_KEYWORDS:
                    raise FormPatternError(f"{path}/{key}: not supported in forms (name each field in 'properties')")
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{path}/{key}"))
        elif isinstance(node, list):
            stack.extend((item, f"{path}/{i}") for i, item in enumerate(node))


#: the tags a step's photos carry (数字城管: 处置前 / 处置后 photos shown side by side)
PHOTO_TAGS = ("before", "after")
#: the most photos one field may ask for (a form may ask for fewer with ``maxItems``)
MAX_PHOTOS_PER_FIELD = 12


def is_photo_field(prop: Any) -> bool:
    return isinstance(prop, Mapping) and prop.get("format") == "photo"


def photo_fields(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The form's photo fields by name, in display order."""
    props = schema.get("properties", {})
    return {name: props[name] for name in field_order(schema) if is_photo_field(props[name])}


def photo_minimum(prop: Mapping[str, Any]) -> int:
    value = prop.get("minItems", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def check_photo_fields(schema: Mapping[str, Any]) -> None:
    """Refuse photo fields the form engine cannot serve (at deploy, naming the field): an array of
    attachment ids with a tag and at most :data:`MAX_PHOTOS_PER_FIELD` photos."""
    stack: list[tuple[Any, str]] = [(schema, "#")]
    while stack:  # a photo field anywhere but at the top of the form is refused, too
        node, path = stack.pop()
        if isinstance(node, dict):
            top = path.startswith("#/properties/") and path.count("/") == 2
            if node.get("format") == "photo" and not top:
                raise FormPatternError(f"{path}: a photo field must be a field of the form's 'properties'")
            stack.extend((v, f"{path}/{k}") for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, f"{path}/{i}") for i, v in enumerate(node))
    for name, prop in photo_fields(schema).items():
        where = f"#/properties/{name}"
        if prop.get("type") != "array" or prop.get("items") != {"type": "integer"}:
            raise FormPatternError(f'{where}: a photo field is {{"type": "array", "items": {{"type": "integer"}}}} '
                                   "(the ids of its photos)")
        if prop.get("x-photo-tag") not in PHOTO_TAGS:
            raise FormPatternError(f"{where}: x-photo-tag must be one of {', '.join(PHOTO_TAGS)}")
        most = prop.get("maxItems")
        if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= MAX_PHOTOS_PER_FIELD:
            raise FormPatternError(f"{where}: maxItems must be a whole number from 1 to {MAX_PHOTOS_PER_FIELD}")
        if not 0 <= photo_minimum(prop) <= most or ("minItems" in prop and prop["minItems"] != photo_minimum(prop)):
            raise FormPatternError(f"{where}: minItems must be a whole number from 0 to maxItems")


def _re2_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """The ``pattern`` keyword on RE2 (a pattern RE2 refuses never matches, it cannot crash)."""
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = compile_pattern(pattern).search(instance) is not None
    except FormPatternError:
        matched = False
    if not matched:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _no_regex_keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "object") and instance:
        yield ValidationError("patternProperties / propertyNames are not supported in forms")


FormValidator = validators.extend(Draft202012Validator, {
    "pattern": _re2_pattern, "patternProperties": _no_regex_keyword, "propertyNames": _no_regex_keyword})


@_format_checker.checks("time-limit", raises=ValueError)
def _is_time_limit(value: object) -> bool:
    """``4h`` / ``3d`` within the longest limit (app.sla.calendar.MAX_LIMIT_DAYS)."""
    if isinstance(value, str):
        parse_limit(value)
    return True


_resolved: dict[tuple[int, int, str | None], tuple[Any, dict[str, Any]]] = {}


def resolve(schema: Mapping[str, Any], locale: str = "zh", scope: str | None = None) -> dict[str, Any]:
    """A concrete copy of the schema: ``x-source`` unit lists become enums with titles.

    ``scope`` is the unit path of the task: fields marked ``"x-scope": "task"`` offer only units
    at or below it (a tier dispatches within its own area); ``"peers"`` the same, or a leaf
    unit's peers (see :func:`_unit_choices`). Cached per form, scope and
    org-directory snapshot (the directory object is replaced when the tree changes); callers must
    not modify the result.
    """
    units = directory()
    key = (id(schema), id(units), scope)
    hit = _resolved.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    out = _resolve(schema, units, scope)
    if len(_resolved) > 5000:
        _resolved.clear()
    _resolved[key] = (schema, out)
    return out


def _unit_choices(source: Any, units: Any, scope: str | None, mode: Any = None) -> list[Any] | None:
    """The units an ``x-source`` offers, in tree order. ``mode`` is the field's ``x-scope``:
    ``task`` — at or below the task's unit (``scope``); ``peers`` — the same, but a unit with
    nothing of those kinds below it (a community) offers its peers instead: the units below its
    parent (the other communities of its street), not itself, as a co-handler cannot be the lead."""
    if not (isinstance(source, str) and source.startswith("units:")):
        return None
    kinds = {k.strip() for k in source[6:].split(",") if k.strip()}
    within = scope if mode in ("task", "peers") else None
    chosen = [u for u in units.by_code.values() if u.kind in kinds and (within is None or u.path.startswith(within))]
    if mode == "peers" and within is not None and all(u.path == within for u in chosen):
        parent = within[:within.rstrip("/").rfind("/") + 1]
        if parent not in ("", "/"):
            chosen = [u for u in units.by_code.values() if u.kind in kinds and u.path.startswith(parent)
                      and u.path != parent and not u.path.startswith(within)]
    return tree_order(chosen, units)


def _resolve(schema: Mapping[str, Any], units: Any, scope: str | None) -> dict[str, Any]:
    out = copy.deepcopy(dict(schema))
    for prop in out.get("properties", {}).values():
        items = prop.get("items") if isinstance(prop.get("items"), dict) else None
        target = items if items is not None and "x-source" in items else prop
        chosen = _unit_choices(target.get("x-source"), units, scope, target.get("x-scope"))
        if chosen is None:
            continue
        target["enum"] = [u.code for u in chosen]
        prop["x-enum-titles"] = [u.name for u in chosen]
        prop["x-enum-titles-en"] = [u.name_en or u.name for u in chosen]
    return out


def field_order(schema: Mapping[str, Any]) -> list[str]:
    props = list(schema.get("properties", {}))
    order = [f for f in schema.get("x-order", []) if f in props]
    return order + [f for f in props if f not in order]


def initial_values(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Prefill: ``x-default-from`` takes a process variable, else the field's ``default``."""
    values: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        source = prop.get("x-default-from")
        if source and data.get(source) is not None:
            values[name] = data[source]
        elif "default" in prop:
            values[name] = prop["default"]
    return values


def coerce_form(schema: Mapping[str, Any], form: Any, locale: str = "zh") -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Typed values from an HTML form post (a MultiDict of strings)."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        if is_photo_field(prop):  # files, not strings: app.web.step_photos reads them
            continue
        if kind == "array":
            values = [v for v in form.getlist(name) if v != ""]
            if values:
                data[name] = values
            continue
        if kind == "boolean":
            raw = form.get(name)
            if raw is not None and raw != "":
                data[name] = raw in ("true", "on", "1", "yes")
            continue
        raw = form.get(name)
        if raw is None or raw.strip() == "":
            continue
        raw = raw.strip() if prop.get("x-widget") != "textarea" else raw
        try:
            if kind == "integer":
                data[name] = int(raw)
            elif kind == "number":
                number = float(raw)
                if not math.isfinite(number):  # "inf", "nan", "1e999": no place or amount is that
                    raise ValueError(raw)
                data[name] = number
            elif prop.get("format") == "date-time" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", raw):
                data[name] = raw + ":00+08:00"  # <input type=datetime-local> gives local Beijing time
            else:
                data[name] = raw
        except ValueError:
            errors.setdefault(name, []).append("integer" if kind == "integer" else "number")
    return data, {k: [message(v, {}, locale) for v in vs] for k, vs in errors.items()}


def validate(schema: Mapping[str, Any], data: Mapping[str, Any], locale: str = "zh") -> dict[str, list[str]]:
    """Field-level error messages (empty when the data is valid); unknown fields are refused.

    Beyond JSON Schema: text without control characters (tab and line breaks only in textareas),
    required text that shows something, whole numbers within 64 bits and finite numbers; a photo
    field with ``minItems`` is required, and its count errors say how many photos it takes."""
    errors: dict[str, list[str]] = {}
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    for name, prop in photo_fields(schema).items():
        if name not in data and (photo_minimum(prop) or name in required):
            errors.setdefault(name, []).append(message("photoMin", {"minItems": photo_minimum(prop) or 1}, locale))
    for key in data:
        if key not in props:
            errors.setdefault(key, []).append(message("unknown", {}, locale))
        else:
            kinds = _value_problems(props[key], data[key], key in required)
            if kinds:
                errors.setdefault(key, []).extend(message(k, {}, locale) for k in kinds)
    for err in _validator(schema).iter_errors(dict(data)):
        if err.validator == "required":
            missing = [f for f in err.validator_value if f not in (err.instance or {})
                       and not is_photo_field(props.get(f))]  # said above: how many photos it takes
            for name in missing:
                errors.setdefault(name, []).append(message("required", {}, locale))
            continue
        name = str(err.absolute_path[0]) if err.absolute_path else "_form"
        kind = "timeLimit" if err.validator == "format" and err.validator_value == "time-limit" else str(err.validator)
        if is_photo_field(props.get(name)):
            kind = {"minItems": "photoMin", "maxItems": "photoMax"}.get(kind, "photoIds")
        errors.setdefault(name, []).append(message(kind, err.schema if isinstance(err.schema, dict) else {}, locale))
    return {k: sorted(set(v), key=v.index) for k, v in errors.items()}


def _value_problems(prop: Mapping[str, Any], value: Any, required: bool) -> list[str]:
    """What :func:`validate` refuses beyond JSON Schema, as message kinds (see ``_MESSAGES``)."""
    if isinstance(value, str):
        multiline = prop.get("x-widget") == "textarea"
        bad = control_character(value, multiline)
        if bad is not None:
            return ["oneLine" if bad in LINE_BREAKS else "control"]
        return ["blank"] if (required or value) and is_blank(value) else []
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [] if -MAX_INT64 <= value <= MAX_INT64 else ["range"]
    if isinstance(value, float):
        return [] if math.isfinite(value) else ["finite"]
    if isinstance(value, list):
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        return sorted({kind for item in value for kind in _value_problems(items, item, False)})
    if isinstance(value, Mapping):
        inner = prop.get("properties") if isinstance(prop.get("properties"), Mapping) else {}
        return sorted({kind for key, item in value.items()
                       for kind in (["control"] if control_character(str(key), False) else [])
                       + _value_problems(inner.get(key, {}), item, False)})
    return []


_validators: dict[int, tuple[Any, Any]] = {}


def _validator(schema: Mapping[str, Any]) -> Any:
    """Validators are costly to build; keep one per schema object."""
    hit = _validators.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = FormValidator(schema, format_checker=_format_checker)
    if len(_validators) > 1000:
        _validators.clear()
    _validators[id(schema)] = (schema, validator)
    return validator


def complete_data(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of the form present in the result (absent → None), so gateways can test any field."""
    out = {name: None for name in schema.get("properties", {})}
    out.update(data)
    return out


# the Chinese texts without placeholders are msgids too (N_): the pages pass them through ``_()``
_MESSAGES = {
    "required": (N_("必填项"), "This field is required."),
    "unknown": (N_("表单中没有此字段"), "This field is not part of the form."),
    "enum": (N_("请从选项中选择"), "Choose one of the options."),
    "type": (N_("类型不正确"), "Wrong type of value."),
    "minLength": ("内容太短（至少 {minLength} 个字符）", "Too short (at least {minLength} characters)."),
    "maxLength": ("内容太长（最多 {maxLength} 个字符）", "Too long (at most {maxLength} characters)."),
    "pattern": (N_("格式不正确"), "Wrong format."),
    "minimum": ("不能小于 {minimum}", "Must be at least {minimum}."),
    "maximum": ("不能大于 {maximum}", "Must be at most {maximum}."),
    "format": ("格式不正确（{format}）", "Wrong format ({format})."),
    "uniqueItems": (N_("选项重复"), "Options are repeated."),
    "integer": (N_("请输入整数"), "Enter a whole number."),
    "number": (N_("请输入数字"), "Enter a number."),
    "control": (N_("不能包含控制字符"), "Must not contain control characters."),
    "oneLine": (N_("不能换行或包含制表符"), "Must be one line, without tabs."),
    "blank": (N_("不能为空，也不能只有空白或不可见字符"), "Must not be empty or only invisible characters."),
    "range": (N_("数值超出范围"), "The number is out of range."),
    "timeLimit": (N_("时限写作 <N>h（工作小时）或 <N>d（工作日），最多 365 个工作日"),
                  "Write the limit as <N>h (working hours) or <N>d (working days), at most 365 working days."),
    "finite": (N_("请输入有限的数字"), "Enter a finite number."),
    "photoMin": (N_("请至少上传 {minItems} 张照片"), "Upload at least {minItems} photo(s)."),
    "photoMax": (N_("最多上传 {maxItems} 张照片"), "Upload at most {maxItems} photos."),
    "photoIds": (N_("照片应为已上传到本案件的附件编号"), "Photos are the ids of attachments uploaded to this case."),
}


def message(kind: str, schema: Mapping[str, Any], locale: str = "zh") -> str:
    zh, en = _MESSAGES.get(kind, (N_("内容不符合要求"), "Invalid value."))
    template = en if locale == "en" else zh
    try:
        return template.format(**schema)
    except (KeyError, IndexError):
        return template
