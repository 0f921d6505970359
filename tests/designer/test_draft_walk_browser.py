"""The issue's browser walk end to end, in a real headless Chromium, against the real drafts, test-run
and deploy API: rename a step and add one with the palette, context pad and the 统管约定 group, see
its problems on the diagram, fix them, test-run the draft through the new step, deploy it, and a new
case shows the new step in the inbox of its role; then the draft's edge cases (a stale tab, the form
editor)."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tests.conftest import log_in
from tests.designer.test_drafts_api import restore_active  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
LOOP = "processes/seven_step_loop.bpmn"
NEW_NAME = "现场核实（浏览器改）"
STEP_NAME = "先行处置（浏览器加）"


@contextmanager
def _editor(chromium: Any, live_server: str, path: str) -> Iterator[Any]:
    """A Chromium page of demo_designer's on an editor, ready; closed afterwards."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, live_server, "demo_designer")
        page.goto(f"{live_server}{path}")
        page.wait_for_selector("#designer[data-ready=true]")
        yield page
    finally:
        context.close()


def _select(page: Any, element_id: str) -> None:
    page.evaluate("""(id) => { const m = window.tongguanDesigner;
        m.get('selection').select(m.get('elementRegistry').get(id)); }""", element_id)


def _save(page: Any, expect: str) -> str:
    page.click("#designer-save")
    page.wait_for_function("(t) => document.getElementById('designer-status').textContent.includes(t)", arg=expect)
    return str(page.inner_text("#designer-status"))


def _screen(page: Any, x: float, y: float) -> tuple[float, float]:
    """Where a point of the diagram is on the screen, at the canvas's current zoom and scroll."""
    return tuple(page.evaluate("""([x, y]) => { const c = window.tongguanDesigner.get('canvas');
        const box = c.viewbox(), rect = c.getContainer().getBoundingClientRect();
        return [rect.left + (x - box.x) * box.scale, rect.top + (y - box.y) * box.scale]; }""", [x, y]))


def _new_user_task(page: Any) -> str:
    return str(page.evaluate("""() => window.tongguanDesigner.get('elementRegistry')
        .filter(e => e.type === 'bpmn:UserTask' && !e.id.match(/^(verify_on_site|file_case|inspect_case|callback_case)$/))
        .map(e => e.id).join(',')"""))


def test_rename_add_a_step_problem_fix_test_run_deploy_and_the_inbox_shows_it(
        chromium: Any, live_server: str, make_case: Callable[..., dict[str, Any]],
        restore_active: None) -> None:  # noqa: F811
    """The issue's walk as one story. demo_designer renames 现场核实 and draws a new step before it
    (a task from the palette dropped on the flow 需要现场核实? → 现场核实, changed into a user task with
    the context pad), gives it its name, lane, form, unit, stage and a time limit in the panel; bpmnlint
    marks it while it has no form; saving with a limit that is no expression marks it red with the
    server's message; fixed and saved; the draft is test-run through the new step (its form filled in
    the browser, the path drawn); deployed; a new case then waits at the new step in the grid
    worker's inbox."""
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

        # rename the user task with the properties panel
        _select(page, "verify_on_site")
        page.wait_for_selector("#bio-properties-panel-name")
        page.fill("#bio-properties-panel-name", NEW_NAME)
        page.wait_for_function("""(n) => window.tongguanDesigner.get('elementRegistry').get('verify_on_site')
            .businessObject.name === n""", arg=NEW_NAME)

        # a new step: a task from the palette, dropped on the flow into 现场核实 (at 1:1 zoom)
        page.evaluate("""() => { const c = window.tongguanDesigner.get('canvas');
            const rect = c.getContainer().getBoundingClientRect();
            c.viewbox({x: 450, y: 150, width: rect.width, height: rect.height}); }""")
        page.click('.djs-palette [data-action="create.task"]')
        x, y = _screen(page, 648, 360)  # on flow_need_verify, between the gateway and 现场核实
        page.mouse.move(x - 40, y - 40)
        page.mouse.move(x, y, steps=8)
        page.mouse.click(x, y)
        page.wait_for_function("""() => window.tongguanDesigner.get('elementRegistry')
            .filter(e => e.type === 'bpmn:Task').length === 1""")
        # the context pad changes it into a user task; the flow was split around it
        page.click('.djs-context-pad [data-action="replace"]')
        page.click('.djs-popup [data-id="replace-with-user-task"]')
        step = _new_user_task(page)
        assert step and "," not in step, step
        assert page.evaluate("""(id) => { const reg = window.tongguanDesigner.get('elementRegistry'), s = reg.get(id);
            return [s.incoming.map(f => f.source.id), s.outgoing.map(f => f.target.id)]; }""", step) == [
            ["gw_need_verify"], ["verify_on_site"]]
        # bpmnlint marks it while drawing: a user task without a form
        page.wait_for_selector(f'.djs-overlays[data-container-id="{step}"] .bjsl-overlay')
        assert page.evaluate("""(id) => ((window.tongguanDesigner.get('linting')._issues || {})[id] || [])
            .map(i => i.message)""", step).count("User task has no form") == 1

        # the panel: name, lane (its role does it), form, unit, stage, limit (a wrong one first)
        _select(page, step)
        page.wait_for_selector("#bio-properties-panel-tg-form")
        page.fill("#bio-properties-panel-name", STEP_NAME)
        lane = page.locator("#bio-properties-panel-tg-lane")
        assert lane.input_value() == "lane_grid_worker"
        assert "网格员 (grid_worker)" in page.inner_text('[data-entry-id="tg-lane"]')
        lane.select_option("lane_grid_worker")
        page.locator("#bio-properties-panel-tg-form").select_option("report_back.json")
        page.fill("#bio-properties-panel-tg-unit", "grid_unit")
        page.locator("#bio-properties-panel-tg-stage").select_option("collect")
        page.fill("#bio-properties-panel-tg-limit", "2小时")
        page.wait_for_function("""(id) => { const bo = window.tongguanDesigner.get('elementRegistry').get(id).businessObject;
            const props = bo.extensionElements.values[0].properties.map(p => p.name + '=' + p.value);
            return props.includes('limit=2小时') && bo.name; }""", arg=step)
        page.wait_for_function("""(id) => !((window.tongguanDesigner.get('linting')._issues || {})[id] || [])
            .some(i => i.category === 'error')""", arg=step)

        # the first save creates my draft; the server refuses the limit and marks the step
        status = _save(page, "个问题")
        draft = re.search(r"草稿 #(\d+)", status).group(1)  # type: ignore[union-attr]
        assert calls[-1][0] == "POST"
        page.wait_for_selector(f'.djs-element.tg-problem[data-element-id="{step}"]')
        problems = page.inner_text("#designer-problems")
        assert STEP_NAME in problems and "limit" in problems and "时限" in problems
        assert page.locator(".djs-element.tg-problem").count() == 1  # nothing else of the diagram

        # fixed and saved into the same draft: no problem left
        _select(page, step)
        page.fill("#bio-properties-panel-tg-limit", "'2h'")
        page.wait_for_function("""(id) => window.tongguanDesigner.get('elementRegistry').get(id).businessObject
            .extensionElements.values[0].properties.some(p => p.name === 'limit' && p.value === "'2h'")""", arg=step)
        _save(page, "检查通过")
        assert calls[-1] == ("PUT", f"{live_server}/api/v1/processes/drafts/{draft}")
        assert page.locator(".tg-problem").count() == 0

        # 试运行 of the draft: the demo case waits at the new step, its form rendered by the product
        page.click("#testrun-go")
        task = page.locator(f'.testrun-task[data-element="{step}"]')
        page.wait_for_selector(f'.testrun-task[data-element="{step}"][data-form-ready]')
        assert STEP_NAME in task.locator("h4").inner_text()
        assert page.locator(f'.djs-element.tg-run-waiting[data-element-id="{step}"]').count() == 1
        task.locator('[name="result_notes"]').fill("已先行设置警示围挡")
        task.locator(".testrun-submit").click()
        page.wait_for_selector('.testrun-task[data-element="verify_on_site"][data-form-ready]')
        assert NEW_NAME in page.inner_text('.testrun-task[data-element="verify_on_site"] h4')
        for element in ("case_received", "init_case", "gw_need_verify", step):
            assert page.locator(f'.djs-element.tg-run-done[data-element-id="{element}"]').count() == 1, element
        into, out = page.evaluate("""(id) => { const s = window.tongguanDesigner.get('elementRegistry').get(id);
            return [s.incoming[0].id, s.outgoing[0].id]; }""", step)
        for flow in (into, out):
            assert page.locator(f'.djs-connection.tg-run-flow[data-element-id="{flow}"]').count() == 1, flow
        path = page.inner_text("#testrun-path")
        assert STEP_NAME in path and f"等待办理：{NEW_NAME}" in path
        page.click("#testrun-end")
        page.wait_for_function("() => !document.getElementById('designer-testrun').hasAttribute('data-run')")

        # opening the editor again loads my draft's version of the file, and says so
        page.goto(f"{live_server}/designer/bpmn/{LOOP}")
        page.wait_for_selector("#designer[data-ready=true]")
        assert "已打开你的草稿" in page.inner_text("#designer-draft-notice")
        assert page.evaluate("""(id) => window.tongguanDesigner.get('elementRegistry').get(id)
            .businessObject.name""", step) == STEP_NAME

        # /designer lists the draft; its page deploys it (review is off in testing)
        page.goto(f"{live_server}/designer")
        page.locator(f'tr[data-draft="{draft}"] a').click()
        page.wait_for_url(f"{live_server}/designer/drafts/{draft}")
        assert LOOP in page.inner_text("#draft-files")
        page.click("#draft-deploy")
        page.wait_for_selector("#draft-migrate")
        assert re.search(r"已部署为第 \d+ 版", page.inner_text(".flashes"))
        assert page.locator('#draft-migrate a[href="/designer/migrations"]').count() == 1

        # a new case follows the new version: it waits at the new step in the grid worker's inbox
        make_case(title="设计器部署测试：井盖破损")
        log_in(page, live_server, "demo_grid_worker")
        page.goto(f"{live_server}/inbox?tab=claimable&sort=-created")
        row = page.locator("tr", has_text="设计器部署测试：井盖破损")
        assert STEP_NAME in row.first.inner_text()
        assert errors == []
    finally:
        context.close()


def test_a_stale_copy_of_my_draft_is_not_saved_over_a_newer_save(chromium: Any, live_server: str,
                                                                 restore_active: None) -> None:  # noqa: F811
    with _editor(chromium, live_server, f"/designer/bpmn/{LOOP}") as first:
        _select(first, "verify_on_site")
        first.fill("#bio-properties-panel-name", "现场核实（甲）")
        _save(first, "检查通过")
        second = first.context.new_page()  # a second tab opens the draft at this revision
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


def test_the_form_editor_saves_into_my_draft_and_opens_its_version(chromium: Any, live_server: str,
                                                                   restore_active: None) -> None:  # noqa: F811
    with _editor(chromium, live_server, "/designer/form/forms/triage.json") as page:
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


def test_the_form_editor_marks_the_field_with_a_problem(chromium: Any, live_server: str,
                                                        restore_active: None) -> None:  # noqa: F811
    with _editor(chromium, live_server, "/designer/form/forms/callback_case.json") as page:
        page.wait_for_selector('#designer-preview [data-field="score"]')
        text = page.input_value("#designer-form-text")
        assert '"minimum": 1,' in text
        page.fill("#designer-form-text", text.replace('"minimum": 1,', '"minimum": "一",', 1))
        _save(page, "个问题")
        item = page.locator('#designer-problems [data-element="score"]')
        assert item.count() == 1 and "score" in item.inner_text()
        # the field is marked in the preview with its message, and its button selects it in the text
        field = page.locator('#designer-preview [data-field="score"].tg-problem')
        assert field.count() == 1 and "表单定义无效" in field.locator(".tg-problem-message").inner_text()
        item.locator("button").click()
        chosen = page.evaluate("""() => { const a = document.getElementById('designer-form-text');
            return a.value.slice(a.selectionStart, a.selectionEnd); }""")
        assert chosen == '"score"'
        # fixed and saved: the mark goes
        page.fill("#designer-form-text", text)
        _save(page, "已保存")
        page.wait_for_function("() => !document.querySelector('#designer-preview .tg-problem')")


def test_the_kpi_editor_computes_the_formula_and_saves_it_into_my_draft(chromium: Any, live_server: str,
                                                                        restore_active: None) -> None:  # noqa: F811
    with _editor(chromium, live_server, "/designer/kpi/kpis/on_time_close_rate.json") as page:
        page.wait_for_selector('#designer-preview [data-preview-row="draft"]')
        assert "目标 ≥ 90%" in page.inner_text('#designer-preview [data-preview-row="draft"]')
        text = page.input_value("#designer-form-text")
        page.fill("#designer-form-text", text.replace('"target": 0.9', '"target": 0.8', 1))
        page.wait_for_function("""() => document.querySelector('#designer-preview [data-preview-row="draft"]')
            .textContent.includes('目标 ≥ 80%')""")
        page.fill("#designer-form-text", text.replace('"fact": "closed_on_time"', '"fact": "closed_someday"', 1))
        page.wait_for_selector("#designer-preview-error:not([hidden])")
        assert "closed_someday" in page.inner_text("#designer-preview-error")
        _save(page, "个问题")  # saved all the same, with its problem listed
        assert "closed_someday" in page.inner_text("#designer-problems")
        page.fill("#designer-form-text", text.replace('"target": 0.9', '"target": 0.8', 1))
        status = _save(page, "已保存")
        assert re.search(r"草稿 #\d+", status)
        page.wait_for_selector("#designer-preview-error[hidden]", state="attached")
