"""改派 in a real headless Chromium: a supervisor picks a unit from the tree, the people holding the
task's role over it load (reassign-picker.js, no page reload), a person is picked, the task is theirs."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import log_in

pytestmark = pytest.mark.browser


def test_reassign_by_picking_a_unit_then_a_person(chromium: Any, live_server: str, api: Callable[[str], Any],
                                                  make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid", title="浏览器测试：改派")
    r = api("demo_dispatcher").claim_and_complete(case["current_tasks"][0]["id"],
                                                  {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    r = api("demo_dispatcher").claim_and_complete(r.get_json()["current_tasks"][0]["id"],
                                                  {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"})
    [task] = [t for t in r.get_json()["current_tasks"] if t["bpmn_id"] == "handle_case"]
    assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200

    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, live_server, "supervisor_d1")

    page.goto(f"{live_server}/tasks/{task['id']}")
    page.click("details#reassign > summary")
    unit, user = page.locator("#reassign-unit"), page.locator("#reassign-user")
    assert unit.input_value() == "d1-sz"
    assert not page.locator("#reassign .reassign-pick").is_visible()  # the script loads people itself
    assert "东湖区" in unit.locator("optgroup").first.get_attribute("label")
    assert "demo_handler" in user.inner_text()

    unit.select_option("d1-hw")  # the district's sanitation bureau
    page.wait_for_selector("#reassign-user option[value=handler_d1_hw]", state="attached")
    assert [o for o in user.locator("option").evaluate_all("els => els.map(e => e.value)")] == ["", "handler_d1_hw"]
    assert "东湖区环境卫生局：1 人可办理" in page.locator("#reassign-people-note").inner_text()

    unit.select_option("d1-s1-c1")  # a community: its handler and the street's, who covers it
    page.wait_for_selector("#reassign-user option[value=handler_d1_s1_c1]", state="attached")
    assert set(user.locator("option").evaluate_all("els => els.map(e => e.value)")) == {"", "handler_d1_s1_c1", "handler_d1_s1"}

    unit.select_option("d1-hw")
    page.wait_for_selector("#reassign-user option[value=handler_d1_hw]", state="attached")
    user.select_option("handler_d1_hw")
    page.fill("#reassign-reason", "属环卫职责，指定专人")
    with page.expect_navigation():
        page.click("details#reassign button[type=submit]:not(.reassign-pick)")
    assert "已改派" in page.content()

    after = api("demo_supervisor").get(f"/api/v1/tasks/{task['id']}").get_json()
    assert after["org_unit"]["code"] == "d1-hw" and after["claimed_by"] == "handler_d1_hw"
    assert not problems, problems
    context.close()
