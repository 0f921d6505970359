"""One walk in a real headless Chromium: log in, claim a task in the inbox, fill its form, complete."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from tests.conftest import log_in

pytestmark = pytest.mark.browser


def test_log_in_claim_fill_and_complete(chromium: Any, live_server: str, api: Callable[[str], Any],
                                        make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid", title="浏览器测试：占道经营")
    task_id = case["current_tasks"][0]["id"]
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    log_in(page, live_server, "demo_dispatcher")

    page.goto(f"{live_server}/inbox?tab=claimable&sort=-created")
    row = page.locator("tr", has_text="浏览器测试：占道经营")
    row.locator("button", has_text="签收").click()
    page.wait_for_load_state()
    assert api("demo_dispatcher").get(f"/api/v1/tasks/{task_id}").get_json()["claimed_by"] == "demo_dispatcher"

    page.goto(f"{live_server}/tasks/{task_id}")
    page.select_option("select[name=decision]", "reject")
    page.click("form.schema-form button[type=submit]")
    assert page.locator(".field-error, .error, [role=alert]").count() > 0  # the reason is required
    page.select_option("select[name=decision]", "file")
    page.select_option("select[name=grid_unit]", "d1-s1-c2")
    page.fill("textarea[name=file_notes]", "已核实，属实")
    page.click("form.schema-form button[type=submit]")
    page.wait_for_url(f"{live_server}/cases/{case['id']}**")
    assert "事件分配" in page.content()

    after = api("demo_dispatcher").get(f"/api/v1/cases/{case['id']}").get_json()
    assert [t["bpmn_id"] for t in after["current_tasks"]] == ["triage"]
    assert after["grid_unit"] == "d1-s1-c2" and after["tier"] == "district"
    page.close()
