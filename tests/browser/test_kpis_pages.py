"""The leader's KPI ranking (/kpis) in a real headless Chromium: it renders under the strict CSP
with no console error, a department's on-time cell shows its figure, and a click on it reaches the
list of exactly the cases it counts; the unit link drills into the unit's own ranking."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.test_csp import watched_page
from tests.conftest import log_in
from tests.kpis.conftest import Play, t

pytestmark = pytest.mark.browser

DAY = 20  # Friday 2026-03-20: no other KPI test plays a case that day (tests/kpis/conftest.py)


def test_ranking_cell_reaches_its_cases(chromium: Any, live_server: str, api: Any,
                                        make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    play = Play(api, make_case, at_time)
    on_time = play.dispatched(t("09:00", DAY))
    play.finish(on_time, t("10:00", DAY))
    play.call_back(on_time, t("11:00", DAY))
    late = play.dispatched(t("09:05", DAY), limit="1h")
    play.finish(late, t("16:00", DAY))
    context, page, errors = watched_page(chromium)
    log_in(page, live_server, "demo_leader")
    page.goto(f"{live_server}/kpis?from=2026-03-{DAY}&to=2026-03-{DAY}")
    row = page.locator("table.kpi-ranking tr[data-unit='d1-sz']")
    cell = row.locator("td[data-kpi='on_time_close_rate']")
    assert cell.locator("a").first.inner_text().startswith("50"), cell.inner_text()  # 1 of 2 closed on time
    cell.locator("a").first.click()
    page.wait_for_url("**/kpis/cases**")
    listed = {int(x.get_attribute("data-case") or 0) for x in page.locator("tr[data-case]").all()}
    assert listed == {on_time}, page.inner_text("main")
    page.go_back()
    row.locator("th a").click()
    page.wait_for_url("**unit=d1-sz**")
    assert page.locator("h1").count() == 1 and errors == []
    assert page.evaluate("() => window.__violations || []") == []
    context.close()
