"""Database ids at the edges: the ``<id:...>`` URL converter and a parser for ids in queries and forms.

Every id column is an ``INTEGER``: 32 bits on PostgreSQL, which refuses a larger parameter
("integer out of range"), and 64 bits on SQLite, whose driver raises OverflowError beyond that.
A number out of range can name no row, and handing it to the driver would answer 500; so a path
id outside 1 … 2^31−1 is a 404 (no such page) and an id in a query or a form a 422 that names
the field. Should the ids become ``BIGINT``, :data:`MAX_ID` becomes 2^63−1 and nothing else changes.
"""
from __future__ import annotations

from typing import Any

from werkzeug.routing import BaseConverter, ValidationError

#: the largest id an INTEGER column holds on both databases
MAX_ID = 2**31 - 1
#: the largest whole number stored anywhere (BIGINT columns, JSON written by orjson)
MAX_INT64 = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(text: Any) -> int | None:
    """``text`` as an id (ASCII digits, 1 … MAX_ID), or None when it cannot be one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if 1 <= text <= MAX_ID else None
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > _MAX_DIGITS:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def number_regex(limit: int) -> str:
    """A regular expression of the numbers 1 … ``limit`` written without leading zeros."""
    digits = str(limit)
    width = len(digits)
    parts = [f"[1-9][0-9]{{0,{width - 2}}}"] if width > 1 else []  # the shorter numbers
    for i, ch in enumerate(digits):  # as long as the limit, smaller at position i
        low, high = (1 if i == 0 else 0), int(ch) - 1
        if high >= low:
            rest = width - i - 1
            parts.append(digits[:i] + (f"[{low}-{high}]" if high > low else str(low)) + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(BaseConverter):
    """``<id:case_id>``: a database id; 0, negative, non-ASCII or too large numbers match no route (404).

    The range is in the pattern itself: Werkzeug answers 405 instead of 404 when a path matches
    another method's rule whose converter was never asked, so a number out of range must not match."""

    regex = number_regex(MAX_ID)
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class YearConverter(BaseConverter):
    """``<year:year>``: a four-digit calendar year (1000 … 2999); anything else matches no route (404)."""

    regex = r"[12][0-9]{3}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))
