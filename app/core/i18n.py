"""Chinese first, English available: the code and templates write Chinese inside ``_()``, and
Flask-Babel's gettext catalogues give the other languages (``app/translations/<lang>/LC_MESSAGES``).

The msgids are the Chinese texts. Placeholders are ``str.format`` braces, filled after the
lookup: ``_('共 {n} 条', n=3)`` → ``3 in total``. A text missing from a catalogue (or a catalogue
not compiled) shows in Chinese, so nothing ever renders empty. Texts defined at import time are
lazy (``_l``): they are looked up when shown, in the language of that request. docs/translating.md
tells how to add a text or a language.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, session as web_session
from flask_babel import Babel, get_translations, refresh
from flask_babel.speaklater import LazyString
from markupsafe import escape

LOCALES = ("zh", "en")
SOURCE_LOCALE = "zh"  # the msgids' language: needs no catalogue
DOMAIN = "messages"
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"

log = logging.getLogger(__name__)


def init_app(app: Flask, directory: Path | None = None) -> None:
    """Flask-Babel with our locale selector; warn (once, at start) about catalogues not compiled."""
    directory = directory or TRANSLATIONS
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    app.config["BABEL_DEFAULT_LOCALE"] = SOURCE_LOCALE
    app.config["BABEL_DOMAIN"] = DOMAIN
    # one Babel per app (its catalogue cache with it); templates get our ``_`` with brace
    # placeholders (app.register_template_helpers), not Jinja's i18n extension
    Babel(app, configure_jinja=False, locale_selector=get_locale)
    for problem in catalogue_problems(directory):
        log.warning("%s; run `make setup` (or `pybabel compile -d app/translations`)", problem)


def catalogue_problems(directory: Path) -> list[str]:
    """Each non-source locale whose compiled ``.mo`` is missing or older than its ``.po``."""
    problems = []
    for locale in LOCALES:
        if locale == SOURCE_LOCALE:
            continue
        po = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        mo = po.with_suffix(".mo")
        if not mo.exists():
            problems.append(f"no compiled catalogue {mo}: pages in '{locale}' show the Chinese texts")
        elif po.exists() and po.stat().st_mtime > mo.stat().st_mtime:
            problems.append(f"the compiled catalogue {mo} is older than {po.name}: pages in '{locale}' "
                            "show its earlier translations")
    return problems


def get_locale() -> str:
    """This request's language: the browser session's choice, else the user's preference, else zh."""
    loc = g.get("locale")
    if loc:
        return loc  # type: ignore[no-any-return]
    loc = web_session.get("locale")
    if loc not in LOCALES:
        principal = g.get("principal")
        loc = getattr(getattr(principal, "user", None), "locale", None) or SOURCE_LOCALE
    g.locale = loc if loc in LOCALES else SOURCE_LOCALE
    return g.locale  # type: ignore[no-any-return]


def forget_locale() -> None:
    """The request's user or language changed (login): choose the language again on next use."""
    g.pop("locale", None)
    g.pop("_i18n_translations", None)
    refresh()


def gettext(text: str, **kwargs: Any) -> str:
    """``text`` (Chinese) in the request's language, its ``{name}`` placeholders filled from ``kwargs``."""
    if isinstance(text, LazyString):  # already looked up
        out = str(text)
    elif has_request_context() and get_locale() != SOURCE_LOCALE:
        translations = g.get("_i18n_translations")
        if translations is None:  # once per request: a page asks hundreds of times
            translations = g._i18n_translations = get_translations()
        out = translations.gettext(text)
    else:
        out = text
    return out.format(**kwargs) if kwargs else out


class LazyText(LazyString):
    """A text looked up when shown; HTML-escaped in templates like any str (the base class is not)."""

    def __html__(self) -> str:
        return str(escape(str(self)))

    @property
    def msgid(self) -> str:
        """The Chinese source text, whatever the request's language."""
        return str(self._args[0])


def lazy_gettext(text: str, **kwargs: Any) -> LazyText:
    """For texts defined at import time (tables of labels): translated each time it is shown."""
    return LazyText(gettext, text, **kwargs)


_l = lazy_gettext


def N_(text: str) -> str:  # noqa: N802 - the gettext convention's name, which the extractor knows
    """Marks a Chinese text that travels as data (a message) and is shown later through ``_()``."""
    return text
