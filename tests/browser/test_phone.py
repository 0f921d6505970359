"""On a phone (375 px wide, headless Chromium): the header fits — nothing wraps, the user's whole
name shows — in Chinese and in English; and 签收 on the 可签收 list opens the task just claimed."""
from __future__ import annotations

import os
from typing import Any, Callable

import pytest
from flask import Flask
from sqlalchemy import select

from app.core.db import session
from app.orgs.models import User
from tests.conftest import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
SHOTS = os.environ.get("TONGGUAN_SCREENSHOTS")  # a folder: keep a screenshot of each header checked


def _log_in(chromium: Any, live_server: str, username: str) -> Any:
    page = chromium.new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.set_default_timeout(15_000)
    log_in(page, live_server, username)
    return page


def _set_language(page: Any, code: str) -> None:
    page.click(f".lang-btn[lang={'en' if code == 'en' else 'zh-CN'}]")
    page.wait_for_load_state()


_MEASURE = """() => {
  const bar = document.querySelector('.topbar'), who = document.querySelector('.who');
  const box = el => el.getBoundingClientRect();
  const lineHeight = parseFloat(getComputedStyle(who).lineHeight) || parseFloat(getComputedStyle(who).fontSize) * 1.6;
  const items = Array.from(document.querySelectorAll('.mainnav li')).map(li => box(li).top);
  const fixed = ['.brand', '.bell', '.who', '.lang', '.topbar-end > form'].map(s => document.querySelector(s));
  return {
    height: box(bar).height, pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
    who: who.textContent.trim(), whoLines: Math.round(box(who).height / lineHeight),
    whoCut: who.scrollWidth > who.clientWidth + 1, whoRight: box(who).right,
    navRows: new Set(items.map(Math.round)).size,
    outside: fixed.filter(el => el && (box(el).left < 0 || box(el).right > window.innerWidth + 0.5)).map(el => el.className),
    brand: document.querySelector('.brand').innerText.trim(),
  };
}"""


@pytest.mark.parametrize("username", ["demo_handler", "demo_admin", "dispatcher_d1_s1_c1"])
def test_phone_header_fits_in_both_languages(app: Flask, chromium: Any, live_server: str, username: str) -> None:
    with app.app_context():
        display_name = session.scalar(select(User.display_name).where(User.username == username))
    page = _log_in(chromium, live_server, username)
    try:
        for code in ("zh", "en"):
            _set_language(page, code)
            m = page.evaluate(_MEASURE)
            if SHOTS:
                page.screenshot(path=os.path.join(SHOTS, f"header-{username}-{code}.png"), clip={
                    "x": 0, "y": 0, "width": 375, "height": 200})
            assert m["who"] == display_name
            assert m["whoLines"] == 1 and not m["whoCut"] and m["whoRight"] <= m["viewport"], m  # the whole name
            assert m["navRows"] == 1, m  # the navigation is one row (it scrolls sideways)
            assert m["outside"] == [] and m["pageWidth"] <= m["viewport"], m  # nothing sticks out of the screen
            assert m["height"] <= 140, m  # three rows: brand and actions, name and language, navigation
            assert m["brand"] == ("Tongguan" if code == "en" else "统管 Tongguan"), m
    finally:
        _set_language(page, "zh")
        page.close()


def test_claim_on_the_phone_opens_the_task(chromium: Any, live_server: str, api: Callable[[str], Any],
                                           make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(title="手机签收测试：井盖破损")
    task_id = case["current_tasks"][0]["id"]
    page = _log_in(chromium, live_server, "demo_grid_worker")
    try:
        page.goto(f"{live_server}/inbox?tab=claimable&sort=-created")
        page.locator("tr", has_text="手机签收测试：井盖破损").locator("button", has_text="签收").click()
        page.wait_for_url(f"{live_server}/tasks/{task_id}")
        assert "已签收" in page.locator(".flashes").inner_text()
        assert page.locator("textarea[name=verify_notes]").is_enabled()
        assert api("demo_dispatcher").get(f"/api/v1/tasks/{task_id}").get_json()["claimed_by"] == "demo_grid_worker"
    finally:
        page.close()
