"""The cockpit's hot spots panel (cockpit/_hotspots.html) on the cockpit in a real headless Chromium: under the
strict CSP its script reads /api/v1/hotspots with the leader's session and lists the hot spots,
each linking to its cases, with no console error."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.browser.test_csp import watched_page
from tests.conftest import log_in

pytestmark = pytest.mark.browser

PARK = {"title": "永安社区农贸市场门口占道经营", "description": "农贸市场门口摊贩占道经营，早上车辆无法通行",
        "address": "示范市西山区龙华镇永安社区永安农贸市场", "category_code": "event:02005", "grid_unit": "d2-s2-c2"}


def test_the_panel_lists_the_units_hot_spots(chromium: Any, live_server: str, app: Flask,
                                             make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    at_time("2033-02-01T09:00:00+08:00")  # a month no other test files cases in
    ids = [make_case(**PARK, reporter={"name": f"商户{i}", "phone": f"1360203300{i}"})["id"] for i in range(3)]
    at_time("2033-02-02T09:00:00+08:00")
    context, page, errors = watched_page(chromium)
    log_in(page, live_server, "leader_d2")
    page.goto(f"{live_server}/cockpit?unit=d2-s2&wall=1")
    page.wait_for_function("() => document.querySelector('[data-hotspots-panel]').dataset.loaded === 'true'")
    items = page.locator("[data-hotspots-list] .hotspot")
    assert items.count() == 1
    assert "永安农贸市场" in items.first.inner_text() and "占道经营" in items.first.inner_text()
    assert items.first.locator("a.hotspot-cases").get_attribute("href") == f"/cases/{max(ids)}"
    assert page.locator(".hotspots-panel.hotspots-wall").count() == 1
    assert page.locator("[data-hotspots-panel] a[href='/cockpit/hotspots?unit=d2-s2']").count() == 1
    assert page.evaluate("() => window.__violations || []") == [] and errors == []
    context.close()
