"""The category picker in a real headless Chromium: type initials, move with the arrow keys, pick
with Enter, close with Esc — the form receives the key."""
from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import log_in

pytestmark = pytest.mark.browser


def test_pick_a_category_with_the_keyboard(chromium: Any, live_server: str) -> None:
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    log_in(page, live_server, "demo_operator")
    page.goto(f"{live_server}/cases/new")

    field = page.locator("#f-category_code")
    listbox = page.locator("#f-category_code-list")
    assert field.get_attribute("role") == "combobox" and field.get_attribute("aria-expanded") == "false"

    field.click()
    field.type("wsjg")
    page.wait_for_selector("#f-category_code-list [role=option]")
    assert field.get_attribute("aria-expanded") == "true"
    first = listbox.locator("[role=option]").first
    assert first.get_attribute("data-key") == "component:01002" and first.get_attribute("aria-selected") == "true"
    assert "污水井盖" in first.inner_text() and "市政公用设施" in first.inner_text() and "01002" in first.inner_text()

    field.press("ArrowDown")  # the second match: 污水井盖异常 (the event)
    second = listbox.locator("[role=option]").nth(1)
    assert second.get_attribute("aria-selected") == "true"
    assert field.get_attribute("aria-activedescendant") == second.get_attribute("id")
    key = second.get_attribute("data-key")
    field.press("Enter")
    assert field.input_value() == key == "event:01002"
    assert listbox.is_hidden() and field.get_attribute("aria-expanded") == "false"
    assert "01002 污水井盖异常" in page.locator("#f-category_code-choice").inner_text()
    assert page.evaluate("document.activeElement.id") == "f-category_code"  # Enter picked, did not move on

    # Chinese and Esc: the list closes, a second Esc puts the picked key back
    field.fill("")
    field.type("垃圾")
    page.wait_for_selector("#f-category_code-list [role=option]")
    assert "垃圾" in listbox.locator("[role=option]").first.inner_text()
    field.press("ArrowUp")  # wraps to the last match
    options = listbox.locator("[role=option]")
    assert options.nth(options.count() - 1).get_attribute("aria-selected") == "true"
    field.press("Escape")
    assert listbox.is_hidden() and field.input_value() == "垃圾"
    field.press("Escape")
    assert field.input_value() == "event:01002"

    # nothing matches: the list says so, Enter picks nothing
    field.fill("")
    field.type("zzzzqq")
    page.wait_for_selector("#f-category_code-list .picker-empty")
    field.press("Enter")
    assert field.input_value() == "zzzzqq"
    page.close()


def test_enter_on_an_ambiguous_list_picks_nothing_until_one_is_chosen(chromium: Any, live_server: str) -> None:
    """The issue's case: "jg" + Enter filed a manhole report as 景观灯. Now the first hit is a 井盖, and
    as twenty manhole covers match, none is highlighted: Enter says how to choose and picks nothing."""
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    log_in(page, live_server, "demo_operator")
    page.goto(f"{live_server}/cases/new")
    field = page.locator("#f-category_code")
    listbox = page.locator("#f-category_code-list")
    field.click()
    field.type("jg")
    page.wait_for_selector("#f-category_code-list [role=option]")
    options = listbox.locator("[role=option]")
    assert "井盖" in options.first.inner_text()
    assert listbox.locator("[aria-selected=true]").count() == 0 and field.get_attribute("aria-activedescendant") is None
    field.press("Enter")
    assert field.input_value() == "jg" and listbox.is_visible()  # nothing picked, the list stays open
    note = page.locator("#f-category_code-picker-note")
    assert note.is_visible() and "↑↓" in note.inner_text()
    assert page.url.endswith("/cases/new")  # and the form was not submitted
    field.press("ArrowDown")  # now the first is highlighted: Enter takes it
    assert options.first.get_attribute("aria-selected") == "true" and note.is_hidden()
    field.press("Enter")
    assert field.input_value() == "component:01002"
    assert "01002 污水井盖" in page.locator("#f-category_code-choice").inner_text()
    page.close()
