"""Chinese first, English available: templates write Chinese and ``_()`` translates for ``en``.

The catalogue is a plain mapping kept in ``app/core/messages_en.py``; a missing entry falls back
to the Chinese text, so nothing ever renders empty.
"""
from __future__ import annotations

from flask import g, session as web_session

from app.core.messages_en import EN

LOCALES = ("zh", "en")


def get_locale() -> str:
    loc = g.get("locale")
    if loc:
        return loc
    loc = web_session.get("locale")
    if loc not in LOCALES:
        principal = g.get("principal")
        loc = getattr(getattr(principal, "user", None), "locale", None) or "zh"
    g.locale = loc if loc in LOCALES else "zh"
    return g.locale


def gettext(text: str, **kwargs: object) -> str:
    out = EN.get(text, text) if get_locale() == "en" else text
    return out.format(**kwargs) if kwargs else out
