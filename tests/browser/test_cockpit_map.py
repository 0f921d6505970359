"""The cockpit map in a real headless Chromium, without a tile server: the boundaries and the
clusters draw with no console error nor CSP violation, the layer switch shows the heat, a click on a
cluster lists its cases and one of them opens."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.test_csp import watched_page
from tests.conftest import log_in

pytestmark = pytest.mark.browser

SPOT = (31.2441, 121.5153)  # in the demo city's 东湖区 (schematic boundaries)


def test_the_cockpit_map_draws_clusters_and_lists_the_cases_of_one(chromium: Any, live_server: str,
                                                                   make_case: Callable[..., dict[str, Any]]) -> None:
    tag = uuid.uuid4().hex[:6]
    made = [make_case(title=f"驾驶舱地图 {tag} #{i}", lat=SPOT[0] + 0.0002 * (i % 3), lng=SPOT[1] + 0.0002 * (i % 4))
            for i in range(10)]
    context, page, errors = watched_page(chromium, 1366, 900)
    log_in(page, live_server, "demo_leader")
    page.goto(f"{live_server}/cockpit/map")
    page.wait_for_selector("[data-cockpit-map] .leaflet-container.cm-offline")  # no tile server configured
    page.wait_for_selector("path.cm-area-district")  # the boundaries draw without tiles
    page.wait_for_selector("[data-cockpit-map][data-state=ready] .cm-cluster")
    assert "示意边界" in page.inner_text(".leaflet-control-attribution")
    assert "件未结案件" in page.inner_text("[data-cockpit-map-status]")

    # the cluster whose cell holds the spot: its cases, newest first, with ours among them
    boxes = page.eval_on_selector_all(".cm-cluster[data-bbox]", "els => els.map(e => e.dataset.bbox)")
    mine = [b for b in boxes if (lambda s, w, n, e: s <= SPOT[0] < n and w <= SPOT[1] < e)(*map(float, b.split(",")))]
    assert mine, boxes
    page.click(f".cm-cluster[data-bbox='{mine[0]}']")
    page.wait_for_selector("[data-cockpit-map-cases]:not([hidden]) .cm-case a")
    assert int(page.get_attribute("[data-cockpit-map-cases]", "data-total") or 0) >= 10
    listed = page.eval_on_selector_all(".cm-case a", "els => els.map(e => e.textContent)")
    assert made[-1]["title"] in listed

    # the layer switch: the heat of the last 30 days appears
    page.check("[data-layer=heat]")
    page.wait_for_function("() => Number(document.querySelector('[data-cockpit-map]').dataset.heatCells) > 0")
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    page.uncheck("[data-layer=boundaries]")
    page.wait_for_function("() => !document.querySelector('path.cm-area-district')")

    assert errors == []
    assert page.evaluate("() => window.__violations || []") == []
    page.click(f".cm-case a:text-is('{made[-1]['title']}')")
    page.wait_for_url(f"{live_server}/cases/{made[-1]['id']}")
    assert made[-1]["title"] in page.inner_text("h1")
    context.close()


def test_the_wall_screen_is_dark(chromium: Any, live_server: str) -> None:
    context, page, errors = watched_page(chromium, 1920, 1080)
    log_in(page, live_server, "leader_d1")
    page.goto(f"{live_server}/cockpit/map?wall=1")
    page.wait_for_selector(".cockpit-map-wall [data-cockpit-map-canvas].leaflet-container")
    page.wait_for_selector("[data-cockpit-map][data-state=ready]")
    background = page.evaluate("() => getComputedStyle(document.querySelector('.cockpit-map-canvas')).backgroundColor")
    assert background == "rgb(11, 20, 32)"
    assert "东湖区" in page.inner_text("h1")
    assert errors == [] and page.evaluate("() => window.__violations || []") == []
    context.close()
