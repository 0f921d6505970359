"""The leader's cockpit in a real headless Chromium: a leader lands on it after logging in, its
ECharts charts draw under the strict CSP with no console error, it refreshes in place from
/api/v1/cockpit, a click on a figure and on a bar reaches the list of exactly its cases, and the
wall-screen mode shows no navigation."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.test_csp import watched_page
from tests.conftest import log_in

pytestmark = pytest.mark.browser

CHARTS = ("channels", "lights", "tiers", "categories", "trend")


def _list_total(page: Any) -> int:
    m = re.search(r"共 (\d+) 条", page.inner_text(".list-meta"))
    assert m, page.url
    return int(m.group(1))


def test_leader_cockpit_draws_refreshes_and_drills_down(chromium: Any, live_server: str,
                                                        make_case: Callable[..., dict[str, Any]]) -> None:
    make_case(channel="weibo", title="驾驶舱：路面塌陷")
    make_case(channel="hotline", title="驾驶舱：噪音扰民")
    context, page, errors = watched_page(chromium)
    log_in(page, live_server, "demo_leader", lands="/cockpit**")
    assert "驾驶舱" in page.inner_text("nav.mainnav")
    for key in CHARTS:  # each chart has drawn its canvas, with a size
        page.wait_for_selector(f"[data-chart={key}]:not([hidden]) canvas")
        box = page.locator(f"[data-chart={key}] canvas").first.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, key
    assert re.search(r"更新于 \d\d:\d\d:\d\d", page.inner_text("[data-cockpit-updated]"))
    received = int(page.inner_text("[data-figure=received] [data-figure-value]"))
    assert received >= 2

    # a refresh from the API: no reload (a marker on the window survives), the numbers stay filled
    page.evaluate("() => { window.__same = true; document.querySelector('[data-cockpit-updated]').textContent = ''; }")
    make_case(channel="weibo", title="驾驶舱：第三件")
    page.evaluate("() => window.tongguanCockpit.load()")
    page.wait_for_function("() => /\\d\\d:\\d\\d:\\d\\d/.test(document.querySelector('[data-cockpit-updated]').textContent)")
    assert page.evaluate("() => window.__same") is True
    assert int(page.inner_text("[data-figure=received] [data-figure-value]")) == received + 1

    # a bar of the channel chart: ECharts' click goes to that channel's list (measured once the
    # hot spots beside the charts have filled in, so the layout no longer moves)
    page.wait_for_selector("[data-hotspots-panel][data-loaded=true]", state="attached")
    page.locator("[data-chart=channels]").scroll_into_view_if_needed()  # below the map on a laptop
    url = page.evaluate("() => window.tongguanCockpit.data.received.by_channel.find(c => c.key === 'weibo').url")
    count = page.evaluate("() => window.tongguanCockpit.data.received.by_channel.find(c => c.key === 'weibo').count")
    page.evaluate("""() => { const chart = window.tongguanCockpit.charts.channels;
        const i = window.tongguanCockpit.data.received.by_channel.findIndex(c => c.key === 'weibo');
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [i, 0]);
        window.__barAt = [x, y - 2]; }""")
    bar = page.evaluate("() => window.__barAt")
    chart_box = page.locator("[data-chart=channels]").bounding_box()
    with page.expect_navigation():
        page.mouse.click(chart_box["x"] + bar[0], chart_box["y"] + bar[1])
    assert page.url.endswith(url) and _list_total(page) == count
    assert "渠道" in page.inner_text(".filters") and "单位" in page.inner_text("[data-narrowing]")

    # a big number: the open cases now
    page.go_back()
    page.wait_for_selector("[data-chart=trend] canvas")
    open_count = int(page.inner_text("[data-figure=open] [data-figure-value]"))
    page.click("[data-figure=open]")
    page.wait_for_url("**/cases?**")
    assert "status=open" in page.url and _list_total(page) == open_count
    assert errors == [], errors
    assert page.evaluate("() => window.__violations || []") == []
    context.close()


def test_wall_screen_and_phone(chromium: Any, live_server: str) -> None:
    context, page, errors = watched_page(chromium, 1920, 1080)
    log_in(page, live_server, "leader_d1", lands="/cockpit**")
    page.goto(f"{live_server}/cockpit?wall=1&period=week")
    page.wait_for_selector("[data-chart=trend] canvas")
    assert page.locator("header.topbar").count() == 0
    assert "cockpit-wall" in (page.get_attribute("body", "class") or "")
    assert page.inner_text(".cockpit-unit") == "东湖区"
    size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.cockpit-figure-value')).fontSize)")
    assert size >= 48
    page.click("[data-wall-toggle]")
    page.wait_for_selector("header.topbar")
    context.close()
    context, phone, phone_errors = watched_page(chromium, 390, 844)
    log_in(phone, live_server, "leader_d1", lands="/cockpit**")
    phone.wait_for_selector("[data-chart=lights] canvas")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone
    context.close()
    assert errors == [] and phone_errors == [], errors + phone_errors
