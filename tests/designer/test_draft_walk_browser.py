"""The issue's browser walk end to end, in a real headless Chromium, against the real drafts API:
demo_designer renames a step with the properties panel and saves (a draft is created), clears its
form in the 统管约定 group and saves again (the server's check marks the step on the diagram), fixes
it, saves, opens the draft page and deploys (review is off in testing); a new case then shows the
renamed step in the inbox of its role."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import log_in
from tests.designer.test_drafts_api import restore_active  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
LOOP = "processes/seven_step_loop.bpmn"
NEW_NAME = "现场核实（浏览器改）"


def _select(page: Any, element_id: str) -> None:
    page.evaluate("""(id) => { const m = window.tongguanDesigner;
        m.get('selection').select(m.get('elementRegistry').get(id)); }""", element_id)


def _save(page: Any, expect: str) -> str:
    page.click("#designer-save")
    page.wait_for_function("(t) => document.getElementById('designer-status').textContent.includes(t)", arg=expect)
    return str(page.inner_text("#designer-status"))


def test_rename_save_problem_fix_deploy_and_the_inbox_shows_it(chromium: Any, live_server: str, make_case: Callable[..., dict[str, Any]],
                                                               restore_active: None) -> None:  # noqa: F811
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    calls: list[tuple[str, str]] = []
    page.on("request", lambda r: calls.append((r.method, r.url)) if "/api/v1/processes/drafts" in r.url else None)
    try:
        log_in(page, live_server, "demo_designer")
        page.goto(f"{live_server}/designer/bpmn/{LOOP}")
        page.wait_for_selector("#designer[data-ready=true]")
        assert page.get_attribute("#designer", "data-draft-id") == ""  # no draft of mine yet

        # rename the user task with the properties panel; the first save creates my draft
        _select(page, "verify_on_site")
        page.wait_for_selector("#bio-properties-panel-name")
        page.fill("#bio-properties-panel-name", NEW_NAME)
        page.wait_for_function("""(n) => window.tongguanDesigner.get('elementRegistry').get('verify_on_site')
            .businessObject.name === n""", arg=NEW_NAME)
        status = _save(page, "检查通过")
        draft = re.search(r"草稿 #(\d+)", status).group(1)  # type: ignore[union-attr]
        assert page.get_attribute("#designer", "data-draft-id") == draft
        assert calls[-1][0] == "POST"

        # introduce a problem: the task without a form; the server's check marks it on the diagram
        _select(page, "verify_on_site")
        page.locator("#bio-properties-panel-tg-form").select_option("")
        _save(page, "个问题")
        assert calls[-1] == ("PUT", f"{live_server}/api/v1/processes/drafts/{draft}")
        page.wait_for_selector('.djs-element.tg-problem[data-element-id="verify_on_site"]')
        assert "verify_on_site" in page.inner_text("#designer-problems")

        # fix it and save again: no problem left
        _select(page, "verify_on_site")
        page.locator("#bio-properties-panel-tg-form").select_option("verify_on_site.json")
        _save(page, "检查通过")
        assert page.locator(".tg-problem").count() == 0
        assert calls[-1][0] == "PUT"

        # opening the editor again loads my draft's version of the file, and says so
        page.goto(f"{live_server}/designer/bpmn/{LOOP}")
        page.wait_for_selector("#designer[data-ready=true]")
        assert "已打开你的草稿" in page.inner_text("#designer-draft-notice")
        assert page.evaluate("""() => window.tongguanDesigner.get('elementRegistry').get('verify_on_site')
            .businessObject.name""") == NEW_NAME

        # /designer lists the draft; its page deploys it (review is off in testing)
        page.goto(f"{live_server}/designer")
        page.locator(f'tr[data-draft="{draft}"] a').click()
        page.wait_for_url(f"{live_server}/designer/drafts/{draft}")
        assert LOOP in page.inner_text("#draft-files")
        page.click("#draft-deploy")
        page.wait_for_selector("#draft-migrate")
        assert re.search(r"已部署为第 \d+ 版", page.inner_text(".flashes"))
        assert page.locator('#draft-migrate a[href="/designer/migrations"]').count() == 1

        # a new case follows the new version: the grid worker's inbox shows the renamed step
        make_case(title="设计器部署测试：井盖破损")
        log_in(page, live_server, "demo_grid_worker")
        page.goto(f"{live_server}/inbox?tab=claimable&sort=-created")
        row = page.locator("tr", has_text="设计器部署测试：井盖破损")
        assert NEW_NAME in row.first.inner_text()
        assert errors == []
    finally:
        context.close()


def test_a_stale_copy_of_my_draft_is_not_saved_over_a_newer_save(chromium: Any, live_server: str,
                                                                 restore_active: None) -> None:  # noqa: F811
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    first = context.new_page()
    first.set_default_timeout(20_000)
    try:
        log_in(first, live_server, "demo_designer")
        first.goto(f"{live_server}/designer/bpmn/{LOOP}")
        first.wait_for_selector("#designer[data-ready=true]")
        _select(first, "verify_on_site")
        first.fill("#bio-properties-panel-name", "现场核实（甲）")
        _save(first, "检查通过")
        second = context.new_page()  # a second tab opens the draft at this revision
        second.set_default_timeout(20_000)
        second.goto(f"{live_server}/designer/bpmn/{LOOP}")
        second.wait_for_selector("#designer[data-ready=true]")
        assert second.get_attribute("#designer", "data-draft-revision") == "1"
        _select(first, "verify_on_site")
        first.fill("#bio-properties-panel-name", "现场核实（乙）")
        _save(first, "检查通过")  # revision 2
        _select(second, "verify_on_site")
        second.fill("#bio-properties-panel-name", "现场核实（丙）")
        status = _save(second, "已过时")  # refused: the tab's copy is of revision 1
        assert "第 2 次保存" in status
        second.goto(f"{live_server}/designer/bpmn/{LOOP}")
        second.wait_for_selector("#designer[data-ready=true]")
        assert second.evaluate("""() => window.tongguanDesigner.get('elementRegistry').get('verify_on_site')
            .businessObject.name""") == "现场核实（乙）"
    finally:
        context.close()


def test_the_form_editor_saves_into_my_draft_and_opens_its_version(chromium: Any, live_server: str,
                                                                   restore_active: None) -> None:  # noqa: F811
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, live_server, "demo_designer")
        page.goto(f"{live_server}/designer/form/forms/triage.json")
        page.wait_for_selector("#designer[data-ready=true]")
        text = page.input_value("#designer-form-text")
        assert '"title"' in text
        changed = text.replace('"title": "', '"title": "（草稿）', 1)
        page.fill("#designer-form-text", changed)
        status = _save(page, "已保存")
        draft = re.search(r"草稿 #(\d+)", status).group(1)  # type: ignore[union-attr]
        page.goto(f"{live_server}/designer/form/forms/triage.json")
        page.wait_for_selector("#designer[data-ready=true]")
        assert page.input_value("#designer-form-text") == changed  # my draft's version, not the deployed file
        assert f"草稿 #{draft}" in page.inner_text("#designer-draft-notice")
    finally:
        context.close()
