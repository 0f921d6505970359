"""The BPMN editor's 试运行 and 差异 panels in a real headless Chromium, under the editor's strict
CSP: demo_designer renames a step of the loop, test-runs the diagram as edited through to that
step (its form rendered by the product's own renderer, submitted in the browser), sees the path
drawn on the diagram and listed, and sees the change in the diff panel; no case or task is made,
so nothing reaches an inbox."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.designer.test_modeler_browser import _open, _select

pytestmark = pytest.mark.browser

LOOP = "/designer/bpmn/processes/seven_step_loop.bpmn"
NEW_NAME = "核实立案（试运行）"


def _counts(app: Flask) -> tuple[int, int]:
    from app.cases.models import Case
    from app.core.db import session
    from app.tasks.models import Task
    with app.app_context():
        return (session().scalar(select(func.count()).select_from(Case)),
                session().scalar(select(func.count()).select_from(Task)))


def _marked(page: Any, element: str, marker: str) -> bool:
    return page.locator(f'.djs-element.{marker}[data-element-id="{element}"]').count() == 1


def test_a_renamed_step_is_test_run_drawn_and_diffed(app: Flask, chromium: Any, live_server: str,
                                                      api: Callable[[str], Any]) -> None:
    before = _counts(app)
    inbox_before = api("demo_dispatcher").get("/api/v1/tasks").get_json()
    context, page, problems = _open(chromium, live_server, LOOP)
    _select(page, "file_case")
    page.wait_for_selector("#bio-properties-panel-name")
    page.fill("#bio-properties-panel-name", NEW_NAME)
    page.wait_for_function("""(name) => window.tongguanDesigner.get('elementRegistry').get('file_case')
        .businessObject.name === name""", arg=NEW_NAME)

    # 试运行: the demo case is prefilled; it waits at 现场核实 with its form rendered by the product
    assert page.input_value('#testrun-start [name="grid_unit"]') == "d1-s1-c1"
    page.click("#testrun-go")
    page.wait_for_selector('#designer-testrun[data-status="waiting"]')
    task = page.locator('.testrun-task[data-element="verify_on_site"]')
    page.wait_for_selector('.testrun-task[data-element="verify_on_site"][data-form-ready]')
    assert task.locator("form.schema-form input[name=confirmed]").count() == 2  # 是 / 否
    assert task.locator('[data-field="site_photos"]').count() == 0  # photos are left out of a test run
    assert task.locator("input[name=confirmed][value=true]").is_checked()  # prefilled from the form's default
    assert _marked(page, "verify_on_site", "tg-run-waiting")
    assert _marked(page, "case_received", "tg-run-done")

    # submit the form: the run goes on to the renamed step
    task.locator(".testrun-submit").click()
    page.wait_for_selector('.testrun-task[data-element="file_case"][data-form-ready]')
    assert NEW_NAME in page.inner_text('.testrun-task[data-element="file_case"] h4')
    for element in ("case_received", "init_case", "gw_need_verify", "verify_on_site"):
        assert _marked(page, element, "tg-run-done"), element
    for flow in ("flow_received_init", "flow_need_verify", "flow_verified_file"):
        assert _marked(page, flow, "tg-run-flow"), flow
    assert _marked(page, "file_case", "tg-run-waiting")
    assert not _marked(page, "file_case", "tg-run-done")
    path = page.inner_text("#testrun-path")
    assert "现场核实" in path and f"等待办理：{NEW_NAME}" in path
    assert page.locator(".tg-run-error").count() == 0

    # 差异: the renamed step is coloured and listed with its name before → after
    page.click("#diff-run")
    page.wait_for_selector('#designer-diff[data-changed="true"]')
    assert _marked(page, "file_case", "tg-diff-changed")
    item = page.locator('#diff-list .diff-changed[data-element="file_case"]')
    assert item.count() == 1
    change = item.locator('.diff-change[data-field="name"]').inner_text()
    assert "核实立案" in change and f"→ {NEW_NAME}" in change
    assert "修改 1 个元素" in page.inner_text("#diff-status")

    # ending the run deletes it and clears the diagram's run markers
    page.click("#testrun-end")
    page.wait_for_function("() => !document.getElementById('designer-testrun').hasAttribute('data-run')")
    assert page.locator(".tg-run-done, .tg-run-waiting, .tg-run-flow").count() == 0

    violations = page.evaluate("() => window.__violations || []")
    context.close()
    assert violations == [] and problems == []
    # nothing of it is real: no case, no task, the dispatcher's inbox as it was
    assert _counts(app) == before
    assert api("demo_dispatcher").get("/api/v1/tasks").get_json() == inbox_before


def test_the_panels_speak_english_from_the_template(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, LOOP)
    page.click('.lang-btn[lang="en"]')  # the page's own switch; back to Chinese at the end
    page.wait_for_selector("#designer[data-ready]")
    try:
        assert page.inner_text("#designer-testrun h2") == "Test run"
        assert page.inner_text("#testrun-go") == "Start test run"
        page.click("#diff-run")
        page.wait_for_selector("#designer-diff[data-changed]")
        assert page.inner_text("#diff-status") == "No change against the deployed version (layout alone is no change)"
    finally:
        page.click('.lang-btn[lang="zh-CN"]')
        page.wait_for_selector("#designer[data-ready]")
        context.close()
    assert problems == []


def test_a_failing_script_is_marked_red_with_its_message(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, LOOP)
    page.evaluate("""() => { const m = window.tongguanDesigner;
        m.get('modeling').updateProperties(m.get('elementRegistry').get('init_case'), {script: 'x = 1 / 0'}); }""")
    page.click("#testrun-go")
    page.wait_for_selector("#designer-testrun[data-run]")
    assert _marked(page, "init_case", "tg-run-error")
    assert page.is_visible("#testrun-error")
    assert "init_case" in page.inner_text("#testrun-error")
    assert "designer-status-error" in (page.get_attribute("#testrun-status", "class") or "")
    context.close()
    assert problems == []


def _submit(page: Any, element: str, then: str) -> None:
    page.wait_for_selector(f'.testrun-task[data-element="{element}"][data-form-ready]')
    page.locator(f'.testrun-task[data-element="{element}"] .testrun-submit').click()
    page.wait_for_selector(f'.testrun-task[data-element="{then}"][data-form-ready]')


def test_steps_timers_and_signals_from_the_panel(chromium: Any, live_server: str) -> None:
    """The loop is walked in the browser to 任务处理 with the forms as prefilled; a form error is
    shown at its task; a timer is fired; 退单 sends the signal and the run goes back to triage."""
    context, page, problems = _open(chromium, live_server, LOOP)
    page.click("#testrun-go")
    _submit(page, "verify_on_site", "file_case")
    _submit(page, "file_case", "triage")
    # a required field left empty: the field error is shown, the run stays at its step
    triage = page.locator('.testrun-task[data-element="triage"]')
    triage.locator('select[name="lead_unit"]').select_option("")
    triage.locator(".testrun-submit").click()
    page.wait_for_selector('.testrun-task[data-element="triage"] .testrun-form-errors:not([hidden]) li')
    assert "lead_unit" in triage.locator(".testrun-form-errors").inner_text()
    assert page.get_attribute("#designer-testrun", "data-status") == "waiting"
    triage.locator('select[name="lead_unit"]').select_option("d1-sz")
    _submit(page, "triage", "handle_case")
    assert _marked(page, "handle_case", "tg-run-waiting") is False  # a task of the called tier_handling.bpmn
    assert "任务处理" in page.inner_text("#testrun-path")
    timers = page.locator("#testrun-timers li")
    assert timers.count() >= 1
    before = page.inner_text("#testrun-path")
    timers.first.locator(".testrun-fire").click()
    page.wait_for_function("() => document.getElementById('testrun-status').textContent.includes('定时器已触发')")
    assert page.inner_text("#testrun-path") != before  # the timer's event is on the path now
    page.locator('.testrun-task[data-element="handle_case"] .testrun-return').click()
    page.wait_for_selector('.testrun-task[data-element="triage"][data-form-ready]')
    assert "已在“任务处理 (主办)”发出信号" in page.inner_text("#testrun-status")
    context.close()
    # the browser logs the one 422 answer of the form error; nothing else went wrong
    assert [p for p in problems if "422" not in p] == [] and len(problems) == 1


def test_the_diff_colours_added_and_lists_removed_elements(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, LOOP)
    page.evaluate("""() => { const m = window.tongguanDesigner;
        const modeling = m.get('modeling'), reg = m.get('elementRegistry');
        const bo = m.get('bpmnFactory').create('bpmn:UserTask', {id: 'new_step', name: '新环节'});
        const shape = m.get('elementFactory').createShape({type: 'bpmn:UserTask', businessObject: bo});
        modeling.createShape(shape, {x: 300, y: 650}, reg.get('verify_on_site').parent);
        modeling.removeElements([reg.get('flow_need_verify')]); }""")
    page.click("#diff-run")
    page.wait_for_selector('#designer-diff[data-changed="true"]')
    assert _marked(page, "new_step", "tg-diff-added")
    added = page.locator('#diff-list .diff-added[data-element="new_step"]')
    assert added.count() == 1 and "新环节" in added.inner_text() and "新增" in added.inner_text()
    removed = page.locator('#diff-list .diff-removed[data-element="flow_need_verify"]')
    assert removed.count() == 1 and "删除" in removed.inner_text()  # listed, not on the diagram
    assert page.locator('.djs-element[data-element-id="flow_need_verify"]').count() == 0
    # an item of an element on the diagram selects it
    added.click()
    assert page.evaluate("() => window.tongguanDesigner.get('selection').get().map(e => e.id)") == ["new_step"]
    context.close()
    assert problems == []
