"""The map picker in a real headless Chromium: a click on the map of /cases/new fills the location
fields, the open cases nearby appear as markers, dragging the marker moves the point, and the case
filed has the location chosen; its page shows it on a map."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.browser.test_csp import WATCH
from tests.conftest import log_in

pytestmark = pytest.mark.browser

SPOT = (31.2036, 121.4035)  # inside the demo city's 枫林街道 (schematic boundaries)


def _click_map_at(page: Any, lat: float, lng: float) -> None:
    """Click the picker's map where (lat, lng) is drawn (Leaflet converts; the test clicks pixels)."""
    point = page.evaluate("([lat, lng]) => { const m = document.querySelector('[data-map]').tgMap.map;"
                          " const p = m.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }", [lat, lng])
    box = page.locator("[data-map-canvas]").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def test_click_the_map_to_set_the_location_of_a_new_case(chromium: Any, live_server: str, app: Flask,
                                                         make_case: Callable[..., dict[str, Any]],
                                                         api: Callable[[str], Any]) -> None:
    neighbour = make_case(title=f"地图附近：路灯不亮 {uuid.uuid4().hex[:6]}", lat=SPOT[0] + 0.001, lng=SPOT[1])
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(WATCH)  # the maps work under the strict CSP: nothing inline, no eval
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    log_in(page, live_server, "demo_operator")
    page.goto(f"{live_server}/cases/new")
    page.wait_for_selector(".tg-map:not([hidden]) .leaflet-container")
    page.wait_for_selector("path.tg-area-community")  # the demo city's boundaries are drawn, without tiles
    assert "示意边界" in page.inner_text(".leaflet-control-attribution")
    page.locator("[data-map-canvas]").scroll_into_view_if_needed()

    page.evaluate("([lat, lng]) => document.querySelector('[data-map]').tgMap.map.setView([lat, lng], 15)", list(SPOT))
    # before a place is picked, the open cases in view are shown
    page.wait_for_function("() => Number(document.querySelector('[data-map-nearby]').dataset.count) > 0")
    _click_map_at(page, *SPOT)
    page.wait_for_function("() => document.querySelector('#f-lat').value !== ''")  # a function: the CSP forbids eval
    lat, lng = float(page.input_value("#f-lat")), float(page.input_value("#f-lng"))
    assert abs(lat - SPOT[0]) < 2e-4 and abs(lng - SPOT[1]) < 2e-4, (lat, lng)
    assert "已在地图上选定位置" in page.inner_text("[data-map-status]")

    # the open cases nearby, as markers with their title
    page.wait_for_function("() => Number(document.querySelector('[data-map-nearby]').dataset.count) > 0")
    assert "个未结案件" in page.inner_text("[data-map-nearby]")
    titles = page.evaluate("() => { const out = []; document.querySelector('[data-map]').tgMap.casesLayer"
                           ".eachLayer(l => out.push(l.getTooltip().getContent())); return out; }")
    assert neighbour["title"] in titles

    # drag the marker a little to the east: the fields follow
    pin = page.locator(".tg-pin").bounding_box()
    x, y = pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y, steps=5)
    page.mouse.move(x + 40, y, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => Number(document.querySelector('#f-lng').value) > {lng + 1e-4}")
    lat, lng = float(page.input_value("#f-lat")), float(page.input_value("#f-lng"))

    assert page.evaluate("() => window.__violations || []") == []
    title = f"地图选点：井盖缺失 {uuid.uuid4().hex[:6]}"
    page.fill("#f-title", title)
    page.fill("#f-description", "人行道井盖缺失")
    page.fill("#f-address", "枫林路与桂园路路口")
    page.click(".intake-form .form-actions button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])
    case = api("demo_operator").get(f"/api/v1/cases/{case_id}").get_json()
    assert case["title"] == title and (case["lat"], case["lng"]) == (lat, lng)

    # the case page shows the place on a small map
    page.wait_for_selector(".tg-map:not([hidden]) .tg-pin-here")
    shown = page.evaluate("() => { const p = document.querySelector('[data-map]').tgMap.marker.getLatLng();"
                          " return [p.lat, p.lng]; }")
    assert shown == [lat, lng]
    assert errors == [] and page.evaluate("() => window.__violations || []") == []
    context.close()
