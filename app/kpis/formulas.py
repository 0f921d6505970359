"""KPI formulas are data: one JSON file a KPI under ``rules/kpis/``, part of the process bundle.

A formula names its numerator and denominator as sums of terms over the documented facts
(:data:`app.kpis.facts.FACTS`), each term counting (or summing the value of) one fact with optional
filters, and terms to subtract (``"due − deferred"``)::

    {"key": "on_time_close_rate", "name": {"zh": "按期结案率", "en": "On-time close rate"},
     "kind": "rate", "direction": "higher", "target": 0.9,
     "numerator": {"plus": [{"fact": "closed_on_time"}]},
     "denominator": {"plus": [{"fact": "due"}], "minus": [{"fact": "deferred"}]}}

``kind``: ``rate`` (numerator / denominator, 0–1), ``hours`` (a sum of minutes / a count, in
hours), ``ratio`` (numerator / denominator, any size). Files are checked by :func:`check_formula`
on deploy (``flask processes deploy``) and in the designer's check, with a Chinese message naming
the file and the field; the figures use the formulas of the active version of the case process
(:func:`app.kpis.active.active_formulas`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from app.kpis.facts import FACTS

SECTION = "kpis"  # the bundle's section; files live in rules/kpis/
FOLDER = "rules/kpis"
FILTERS = ("channel", "tier", "category")
KINDS = ("rate", "hours", "ratio")

_TERM = {
    "type": "object", "additionalProperties": False, "required": ["fact"],
    "properties": {
        "fact": {"type": "string", "enum": sorted(FACTS)},
        "measure": {"enum": ["count", "sum"]},
        "where": {"type": "object", "additionalProperties": False, "minProperties": 1,
                  "properties": {k: {"type": "array", "minItems": 1, "uniqueItems": True,
                                     "items": {"type": "string", "minLength": 1, "maxLength": 40}} for k in FILTERS}},
    },
}
_SUM = {"type": "object", "additionalProperties": False, "required": ["plus"],
        "properties": {"plus": {"type": "array", "minItems": 1, "maxItems": 10, "items": _TERM},
                       "minus": {"type": "array", "maxItems": 10, "items": _TERM}}}
_TEXT = {"type": "object", "additionalProperties": False, "required": ["zh"],
         "properties": {"zh": {"type": "string", "minLength": 1, "maxLength": 60},
                        "en": {"type": "string", "minLength": 1, "maxLength": 80}}}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "KPI formula (rules/kpis/<key>.json)",
    "type": "object", "additionalProperties": False,
    "required": ["key", "name", "kind", "direction", "numerator", "denominator"],
    "properties": {
        "$schema": {"type": "string"},
        "key": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$"},
        "name": _TEXT,
        "description": {"type": "object", "additionalProperties": False,
                        "properties": {"zh": {"type": "string", "maxLength": 500}, "en": {"type": "string", "maxLength": 500}}},
        "kind": {"enum": list(KINDS)},
        "direction": {"enum": ["higher", "lower"]},
        "target": {"type": ["number", "null"], "minimum": 0},
        "order": {"type": "integer", "minimum": 0, "maximum": 1000},
        "numerator": _SUM,
        "denominator": _SUM,
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)

FIELD_ZH = {"key": "键名", "name": "名称", "kind": "类型", "direction": "方向", "target": "目标值", "order": "排序",
            "numerator": "分子", "denominator": "分母", "plus": "加项", "minus": "减项", "fact": "事实",
            "measure": "计量", "where": "筛选", "description": "说明", "zh": "中文", "en": "英文"}


class FormulaError(ValueError):
    """An invalid formula file: ``zh`` and ``en`` name the file (as it lies in rules/kpis/) and the
    field; ``file`` is its name in the bundle (``kpis/<key>.json``, as the designer names it)."""

    def __init__(self, file: str, field: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.file = f"{SECTION}/{file.rpartition('/')[2]}"
        self.field, self.zh, self.en = field, zh, en


@dataclass(frozen=True)
class Term:
    fact: str
    measure: str  # count | sum
    where: tuple[tuple[str, tuple[str, ...]], ...]  # (filter, values), sorted

    @property
    def by_rollups(self) -> bool:
        """Counted from the roll-ups (no filter); else from the facts."""
        return not self.where

    def filter(self, name: str) -> tuple[str, ...] | None:
        return dict(self.where).get(name)


@dataclass(frozen=True)
class Formula:
    key: str
    name_zh: str
    name_en: str
    kind: str
    direction: str
    target: float | None
    order: int
    numerator: tuple[tuple[Term, ...], tuple[Term, ...]]  # (plus, minus)
    denominator: tuple[tuple[Term, ...], tuple[Term, ...]]
    description_zh: str = ""
    description_en: str = ""

    def name(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" else self.name_zh

    def terms(self) -> list[Term]:
        return [t for part in (self.numerator, self.denominator) for side in part for t in side]


def _path(error: Any) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(文件)"


def _field_zh(path: str) -> str:
    return ".".join(FIELD_ZH.get(p, p) for p in path.split("."))


def check_formula(name: str, text: str) -> Formula:
    """Parse and validate one formula file (``name``: its file name); raises :class:`FormulaError`."""
    file = f"{FOLDER}/{name}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormulaError(file, "(文件)", f"{file}：不是有效的 JSON（第 {exc.lineno} 行：{exc.msg}）",
                           f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        path = _path(e)
        if e.validator == "enum" and e.absolute_path and e.absolute_path[-1] == "fact":
            zh = f"{file}：字段「{_field_zh(path)}」的事实 {e.instance!r} 不存在，可用的事实见 docs/kpis.md"
            en = f"{file}: field {path}: unknown fact {e.instance!r} (the facts are listed in docs/kpis.md)"
        elif e.validator == "required":
            missing = e.message.split("'")[1] if "'" in e.message else e.message
            zh = f"{file}：缺少字段「{FIELD_ZH.get(missing, missing)}」（{missing}）" + (f"，位于「{_field_zh(path)}」" if e.absolute_path else "")
            en = f"{file}: field {missing} is missing" + (f" in {path}" if e.absolute_path else "")
        elif e.validator == "additionalProperties":
            zh = f"{file}：字段「{_field_zh(path)}」含有不认识的字段：{e.message}"
            en = f"{file}: field {path}: {e.message}"
        else:
            zh = f"{file}：字段「{_field_zh(path)}」无效：{e.message}"
            en = f"{file}: field {path} is invalid: {e.message}"
        raise FormulaError(file, path, zh, en)
    if data["key"] + ".json" != name:
        raise FormulaError(file, "key", f"{file}：字段「键名」（key）须与文件名一致：{data['key']}.json",
                           f"{file}: field key must match the file name: {data['key']}.json")

    def terms(items: list[dict[str, Any]], path: str) -> tuple[Term, ...]:
        out = []
        for i, item in enumerate(items):
            measure = item.get("measure", "count")
            if measure == "sum" and item["fact"] != "handling_minutes":
                raise FormulaError(file, f"{path}.{i}.measure",
                                   f"{file}：字段「{_field_zh(path)}.{i}.计量」：只有 handling_minutes 有可求和的数值",
                                   f"{file}: field {path}.{i}.measure: only handling_minutes has a value to sum")
            if FACTS[item["fact"]].get("live") and item.get("where"):
                raise FormulaError(file, f"{path}.{i}.where", f"{file}：字段「{_field_zh(path)}.{i}.筛选」：实时事实不能筛选",
                                   f"{file}: field {path}.{i}.where: a live fact takes no filter")
            where = tuple(sorted((k, tuple(v)) for k, v in (item.get("where") or {}).items()))
            out.append(Term(item["fact"], measure, where))
        return tuple(out)

    def part(name_: str) -> tuple[tuple[Term, ...], tuple[Term, ...]]:
        d = data[name_]
        return terms(d["plus"], f"{name_}.plus"), terms(d.get("minus", []), f"{name_}.minus")
    description = data.get("description") or {}
    return Formula(data["key"], data["name"]["zh"], data["name"].get("en") or data["name"]["zh"], data["kind"],
                   data["direction"], data.get("target"), data.get("order", 500), part("numerator"),
                   part("denominator"), description.get("zh", ""), description.get("en", ""))


def check_formulas(files: dict[str, str]) -> tuple[list[Formula], list[FormulaError]]:
    """Every formula of a bundle's ``kpis`` section; the invalid ones as errors."""
    formulas, errors = [], []
    for name, text in sorted(files.items()):
        try:
            formulas.append(check_formula(name, text))
        except FormulaError as exc:
            errors.append(exc)
    return sorted(formulas, key=lambda f: (f.order, f.key)), errors
