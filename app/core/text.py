"""Text that may be stored: no control characters, and something visible where text is required.

PostgreSQL refuses a NUL in any text (the driver raises, which would answer 500) and SQLite
stores it silently; other control characters (backspace, escape, C1 codes) are never typed by
a person and break XML answers and terminals. So every edge that stores text checks it:

- :func:`check_request` (a ``before_request`` hook) refuses NUL and the other control characters
  in every query value, form field, uploaded file name, path segment, JSON key and string, and
  stored header (``Idempotency-Key``) of every request, naming the parameter (422; Open311 answers
  it in its own format): nothing reaches the driver;
- the API schemas (:class:`app.api.schemas.Text`) and the JSON Schema forms (:mod:`app.forms.schema`)
  also refuse tab and line breaks in one-line fields, and a required text made only of spaces and
  invisible characters (zero-width space, BOM, word joiner, Hangul filler, ...).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import request

from app.core.errors import ValidationFailed

#: allowed in long text (descriptions, reasons, textareas): tab, line feed, carriage return
LINE_BREAKS = frozenset("\t\n\r")
#: invisible although not whitespace nor a format character (Unicode "Lo"/"So" fillers)
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"))

#: request headers whose values are stored (the cases' idempotency keys)
STORED_HEADERS = ("Idempotency-Key",)

CONTROL_MESSAGE = "不能包含控制字符（{code}） / must not contain control characters ({code})"
LINE_MESSAGE = "不能换行或包含制表符 / must be one line, without tabs"
DEPTH_MESSAGE = "嵌套层数过多 / nested too deeply"
MAX_DEPTH = 32
BLANK_MESSAGE = "不能为空，也不能只有空白或不可见字符 / must not be empty or only invisible characters"


#: Unicode "Cc" (C0, DEL, C1) but tab and line breaks; lone surrogates; the noncharacters U+FFFE/U+FFFF
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def control_character(text: str, multiline: bool = True) -> str | None:
    """The first control character of ``text`` (tab and line breaks allowed when ``multiline``)."""
    m = (_CONTROL if multiline else _CONTROL_OR_BREAK).search(text)
    return m.group() if m else None


def is_visible(ch: str) -> bool:
    return not ch.isspace() and ch not in _FILLERS and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES


def is_blank(text: str) -> bool:
    """Nothing a reader would see: empty, spaces, or only invisible characters."""
    return not any(is_visible(ch) for ch in text)


def text_problem(text: str, multiline: bool = True, required: bool = False) -> str | None:
    """Why ``text`` may not be stored (a '中文 / English' message), or None."""
    bad = control_character(text, multiline)
    if bad is not None:
        return LINE_MESSAGE if bad in LINE_BREAKS else CONTROL_MESSAGE.format(code=f"U+{ord(bad):04X}")
    if required and is_blank(text):
        return BLANK_MESSAGE
    return None


def _collect(value: Any, name: str, errors: dict[str, list[str]], depth: int = 0) -> None:
    """Control characters in a JSON value, by dotted path (keys are checked as well as values)."""
    if depth > MAX_DEPTH:  # no form nests this deep; stop reading (and refuse) rather than recurse on
        errors.setdefault(name or "_body", []).append(DEPTH_MESSAGE)
        return
    if isinstance(value, str):
        bad = control_character(value)
        if bad is not None:
            errors.setdefault(name or "_body", []).append(CONTROL_MESSAGE.format(code=f"U+{ord(bad):04X}"))
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            bad = control_character(key_text, multiline=False)
            if bad is not None:
                errors.setdefault(name or "_body", []).append(CONTROL_MESSAGE.format(code=f"U+{ord(bad):04X}"))
                continue
            _collect(item, f"{name}.{key_text}" if name else key_text, errors, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, f"{name}.{index}" if name else str(index), errors, depth + 1)


def _safe_name(name: str) -> str:
    """A parameter name fit to be echoed in an answer."""
    bad = control_character(name, multiline=False)
    return name[:80] if bad is None else "_parameter"


def request_text_errors() -> dict[str, list[str]]:
    """Control characters anywhere in the request's parameters, by parameter name."""
    errors: dict[str, list[str]] = {}

    def check(name: str | None, value: str | None, multiline: bool = True) -> None:
        name, value = name or "", value or ""  # a multipart part may come without a name
        bad = control_character(name, multiline=False) or control_character(value, multiline)
        if bad is not None:
            errors.setdefault(_safe_name(name), []).append(CONTROL_MESSAGE.format(code=f"U+{ord(bad):04X}"))

    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            check(name, value, multiline=False)
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            check(name, value)
    for name, upload in request.files.items(multi=True):
        check(name, upload.filename or "", multiline=False)
    for name in STORED_HEADERS:
        if name in request.headers:
            check(name, request.headers[name], multiline=False)
    if request.is_json:
        _collect(request.get_json(silent=True), "", errors)
    return errors


def check_request() -> None:
    """``before_request``: refuse control characters in any parameter before a view reads it."""
    errors = request_text_errors()
    if errors:
        raise ValidationFailed("输入包含控制字符 / the input contains control characters", errors=errors)
