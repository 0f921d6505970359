"""Pinyin readings of catalogue names, for search by initials ("jg" → 井盖) and full pinyin.

Polyphonic characters (行 xing/hang, 长 chang/zhang, 重 zhong/chong) get every reading: the phrase
reading pypinyin picks comes first, then each other reading of one character at a time, up to
:data:`MAX_VARIANTS` variants, so an operator finds the item whichever reading they type.
Syllables of a full reading are joined by ``'`` so a search can start at any syllable.
"""
from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin

MAX_VARIANTS = 16
_TOKENS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+")


def _is_han(token: str) -> bool:
    return len(token) == 1 and not token.isascii()


@lru_cache(maxsize=4096)
def _char_readings(char: str) -> tuple[str, ...]:
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(r for r in (readings[0] if readings else []) if r.isascii() and r.isalpha()))


def readings(name: str) -> list[list[str]]:
    """The syllables of ``name`` in each of its readings (most likely first, at most MAX_VARIANTS).

    Han characters give one syllable each, runs of ASCII letters and digits one lower-cased token;
    punctuation and spaces are dropped.
    """
    tokens = _TOKENS.findall(name)
    if not tokens:
        return []
    han = "".join(t for t in tokens if _is_han(t))
    phrase = lazy_pinyin(han, style=Style.NORMAL, errors="default") if han else []
    if len(phrase) != len(han):  # characters pypinyin does not know: read them one by one
        phrase = [(_char_readings(c) or (c,))[0] for c in han]
    options: list[tuple[str, ...]] = []
    it = iter(phrase)
    for token in tokens:
        if _is_han(token):
            first = next(it)
            options.append(tuple(dict.fromkeys((first, *_char_readings(token)))))
        else:
            options.append((token.lower(),))
    primary = [o[0] for o in options]
    variants = [primary]
    for i, choices in enumerate(options):
        for other in choices[1:]:
            if len(variants) >= MAX_VARIANTS:
                return variants
            variants.append(primary[:i] + [other] + primary[i + 1:])
    return variants


def syllable_count(text: str) -> int:
    """How many syllables :func:`readings` gives ``text``: one per Han character, one per run of
    ASCII letters and digits (so a position in a name maps to a position in its syllables)."""
    return len(_TOKENS.findall(text))


def initials_of(syllables: list[str]) -> str:
    """['jing', 'gai'] → 'jg'; numbers stay whole (['110', 'fei'] → '110f')."""
    return "".join(s if s.isdigit() else s[0] for s in syllables if s)


def name_keys(name: str, limit: int = 500) -> tuple[str, str]:
    """The stored ``initials`` and ``pinyin`` of a name: space-separated variants, each fitting ``limit``."""
    variants = readings(name)
    initials = _join(dict.fromkeys(initials_of(v) for v in variants), limit)
    full = _join(dict.fromkeys("'".join(v) for v in variants), limit * 4)
    return initials, full


def _join(values: dict[str, None], limit: int) -> str:
    out: list[str] = []
    size = 0
    for value in values:
        if not value:
            continue
        if size + len(value) + (1 if out else 0) > limit:
            break
        out.append(value)
        size += len(value) + (1 if len(out) > 1 else 0)
    return " ".join(out)
