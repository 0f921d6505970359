"""The gettext catalogues: every text of the interface has its English, with the same placeholders;
texts show in the request's language (lazy ones too); a missing or stale .mo is said at start and
the pages fall back to Chinese. docs/translating.md tells how the catalogues are kept."""
from __future__ import annotations

import logging
import os
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, render_template_string

from app import create_app
from app.core import i18n
from app.core.i18n import _l, gettext as _
from app.web.admin import WEEKDAYS
from app.web.labels import label

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def extracted() -> dict[str, set[str]]:
    """Every msgid the sources hold, found as `make messages` finds them (babel.cfg), with its files."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            found.setdefault(msgid, set()).add(filename)
    return found


def english() -> Catalog:
    with PO.open("rb") as fh:
        return read_po(fh, locale="en")


def placeholders(text: str) -> list[str]:
    return sorted(name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None)


def test_the_extractor_finds_every_kind_of_text() -> None:
    """Templates, views, lazy tables (_l) and messages passed as data (N_) all reach the catalogue."""
    found = extracted()
    assert "app/templates/base.html" in found["跳到正文"]
    assert "app/web/cases/parking.py" in found["已取消挂账：{number}，恢复计时"]
    assert "app/web/labels.py" in found["信息采集"]  # _l in a table defined at import time
    assert "app/forms/schema.py" in found["必填项"]  # N_
    assert "共 {n} 条" in found  # a template's _() with keyword arguments


def test_every_interface_text_has_an_english_translation() -> None:
    catalogue = english()
    missing = []
    for msgid, files in sorted(extracted().items()):
        entry = catalogue.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            state = "absent" if entry is None else "fuzzy" if entry.fuzzy else "empty"
            missing.append(f"{msgid!r} ({state}; {', '.join(sorted(files))})")
    assert not missing, "texts without English in " + PO.name + " (run `make messages`, then translate):\n" + \
        "\n".join(missing)


def test_the_catalogue_holds_no_text_the_sources_dropped() -> None:
    found = extracted()
    stale = sorted(m.id for m in english() if m.id and m.id not in found)
    assert not stale, f"entries no source uses any more (run `make messages`): {stale}"


def test_translations_keep_the_placeholders() -> None:
    wrong = [(m.id, m.string) for m in english()
             if m.id and m.string and placeholders(str(m.id)) != placeholders(str(m.string))]
    assert not wrong, wrong
    assert all("python-brace-format" in m.flags for m in english() if m.id and placeholders(str(m.id)))


def _in_language(app: Flask, locale: str, fn: Any) -> Any:
    with app.test_request_context("/"):
        g.locale = locale
        return fn()


def test_texts_in_the_request_language(app: Flask) -> None:
    assert _in_language(app, "en", lambda: _("共 {n} 条", n=3)) == "3 in total"
    assert _in_language(app, "zh", lambda: _("共 {n} 条", n=3)) == "共 3 条"
    assert _in_language(app, "en", lambda: _("没有这条文字 {n}", n=1)) == "没有这条文字 1"  # unknown: Chinese
    # tables made at import time follow each request's language
    assert _in_language(app, "en", lambda: (label("status", "open"), str(WEEKDAYS[0]))) == ("Open", "Monday")
    assert _in_language(app, "zh", lambda: (label("status", "open"), str(WEEKDAYS[0]))) == ("处理中", "星期一")
    assert _in_language(app, "en", lambda: _(_l("处理中"))) == "Open"  # a lazy text through _() again


def test_lazy_texts_are_escaped_in_templates(app: Flask) -> None:
    page = _in_language(app, "zh", lambda: render_template_string("{{ t }}", t=_l("<b>{x}</b>", x="&")))
    assert page == "&lt;b&gt;&amp;&lt;/b&gt;"


def test_locale_from_session_then_user_then_chinese(app: Flask) -> None:
    with app.test_request_context("/"):
        assert i18n.get_locale() == "zh"
    with app.test_request_context("/"):
        from flask import session
        session["locale"] = "en"
        assert i18n.get_locale() == "en" and _("收件箱") == "Inbox"
        session["locale"] = "zh"
        i18n.forget_locale()  # as at login: chosen again on next use
        assert i18n.get_locale() == "zh" and _("收件箱") == "收件箱"


def _app_with_translations(directory: Path, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setattr(i18n, "TRANSLATIONS", directory)
    return create_app(settings)


def test_without_a_compiled_catalogue_pages_show_chinese_and_the_log_says_so(
        app_settings: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(PO, tmp_path / "en" / "LC_MESSAGES" / "messages.po")  # a fresh clone: .po, no .mo
    with caplog.at_level(logging.WARNING, logger="app.core.i18n"):
        other = _app_with_translations(tmp_path, app_settings, monkeypatch)
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.core.i18n"]
    assert len(warnings) == 1 and "no compiled catalogue" in warnings[0] and "make setup" in warnings[0]
    assert "pages in 'en' show the Chinese texts" in warnings[0]
    assert _in_language(other, "en", lambda: _("收件箱")) == "收件箱"
    client = other.test_client()
    with client.session_transaction() as browser_session:
        browser_session["locale"] = "en"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "用户名" in page and "Username" not in page
    other.extensions["db_engine"].dispose()


def test_a_catalogue_older_than_its_po_is_reported(
        app_settings: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(PO, folder / "messages.po")
    with (folder / "messages.mo").open("wb") as fh:
        write_mo(fh, english())
    os.utime(folder / "messages.mo", (1_000_000_000, 1_000_000_000))  # compiled before the .po changed
    with caplog.at_level(logging.WARNING, logger="app.core.i18n"):
        other = _app_with_translations(tmp_path, app_settings, monkeypatch)
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.core.i18n"]
    assert len(warnings) == 1 and "older than messages.po" in warnings[0]
    assert _in_language(other, "en", lambda: _("收件箱")) == "Inbox"  # still used: better than none
    other.extensions["db_engine"].dispose()


def test_the_running_app_has_no_catalogue_problem() -> None:
    assert i18n.catalogue_problems(i18n.TRANSLATIONS) == []  # compiled by the session's fixture
