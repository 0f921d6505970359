"""The process designer's BPMN editor in a real headless Chromium: the deployed diagram is drawn
under the strict CSP, a task is renamed with the properties panel, the "统管约定" group sets a user
task's form (and the exported XML carries it as spiffworkflow:property), and bpmnlint marks a user
task without a form while drawing."""
from __future__ import annotations

import json
from typing import Any

import pytest
from tests.conftest import log_in

pytestmark = pytest.mark.browser

WATCH = """document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations = (window.__violations || []).concat([e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber + ' ' + e.sample]);
});"""


def _open(chromium: Any, live_server: str, path: str, locale: str = "zh-CN") -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale=locale)
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, live_server, "demo_designer")
    page.goto(f"{live_server}{path}")
    page.wait_for_selector("#designer[data-ready]")
    return context, page, problems


def _select(page: Any, element_id: str) -> None:
    page.evaluate("""(id) => { const m = window.tongguanDesigner;
        m.get('selection').select(m.get('elementRegistry').get(id)); }""", element_id)


def test_the_modeler_edits_a_process_under_the_csp(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, "/designer/bpmn/processes/tier_handling.bpmn")
    assert page.get_attribute("#designer", "data-ready") == "true"
    # the diagram is drawn: the shapes of the deployed file, and the bpmn.io watermark
    assert page.locator('.djs-element[data-element-id="triage"]').count() == 1
    assert page.locator(".bjs-powered-by").count() == 1
    # the palette speaks Chinese
    assert page.locator('.djs-palette [data-action="create.task"][aria-label="任务"]').count() >= 1

    # rename a task with the properties panel
    _select(page, "triage")
    page.wait_for_selector("#bio-properties-panel-name")
    page.fill("#bio-properties-panel-name", "研判分拨（新）")
    page.wait_for_function("""() => window.tongguanDesigner.get('elementRegistry').get('triage')
        .businessObject.name === '研判分拨（新）'""")

    # the conventions group: the form picker lists the bundle's forms and writes the property
    group = page.locator('[data-group-id="group-tongguan"]')
    assert group.count() == 1
    form_select = page.locator("#bio-properties-panel-tg-form")
    assert "triage.json" in form_select.inner_text()
    form_select.select_option("report_back.json")
    xml = page.evaluate("() => window.tongguanDesigner.saveXML({format: true}).then(r => r.xml)")
    assert page.get_attribute("#designer", "data-dirty") == "true"  # leaving the page now asks first
    assert 'name="form" value="report_back.json"' in xml
    page.evaluate("() => window.tongguanDesigner.get('commandStack').undo()")  # every change is a command
    undone = page.evaluate("() => window.tongguanDesigner.saveXML().then(r => r.xml)")
    assert undone.count('value="report_back.json"') == xml.count('value="report_back.json"') - 1
    assert 'value="triage.json"' in undone
    page.evaluate("() => window.tongguanDesigner.get('commandStack').redo()")
    assert "研判分拨（新）" in xml
    assert xml.count("<spiffworkflow:property ") == 18  # every other property kept as it was

    # bpmnlint while drawing: a new user task without a form is marked with the product's rule
    page.evaluate("""() => { const m = window.tongguanDesigner;
        const modeling = m.get('modeling'), factory = m.get('elementFactory'), reg = m.get('elementRegistry');
        const parent = reg.get('triage').parent;
        const bo = m.get('bpmnFactory').create('bpmn:UserTask', {id: 'new_step', name: '新环节'});
        const shape = factory.createShape({type: 'bpmn:UserTask', businessObject: bo});
        modeling.createShape(shape, {x: 300, y: 600}, parent); }""")
    page.wait_for_selector('.djs-overlays[data-container-id="new_step"] .bjsl-overlay')
    page.wait_for_function("""() => { const issues = window.tongguanDesigner.get('linting')._issues || {};
        return (issues['new_step'] || []).some(i => i.message === 'User task has no form'); }""")
    messages = page.evaluate("() => (window.tongguanDesigner.get('linting')._issues['new_step'] || []).map(i => i.message)")
    assert {"User task has no stage", "User task has no unit"} <= set(messages)
    # the overlay's message, in Chinese (shown when the pointer is over the marker)
    assert "用户任务没有表单" in page.locator('.djs-overlays[data-container-id="new_step"]').text_content()

    # choosing a form in the conventions group clears that problem
    _select(page, "new_step")
    page.locator("#bio-properties-panel-tg-form").select_option("triage.json")
    page.wait_for_function("""() => { const issues = window.tongguanDesigner.get('linting')._issues || {};
        return !(issues['new_step'] || []).some(i => i.message === 'User task has no form'); }""")

    # the lane picker: the step's lane (whose role does it); another lane moves the step into it
    lane = page.locator("#bio-properties-panel-tg-lane")
    assert lane.input_value() == "lane_th_handler"
    assert "处置人员 (handler)" in page.inner_text('[data-entry-id="tg-lane"]')
    lane.select_option("lane_th_dispatcher")
    page.wait_for_function("""() => { const reg = window.tongguanDesigner.get('elementRegistry');
        return reg.get('lane_th_dispatcher').businessObject.flowNodeRef.some(n => n.id === 'new_step')
            && !reg.get('lane_th_handler').businessObject.flowNodeRef.some(n => n.id === 'new_step'); }""")
    assert "派遣员 (dispatcher)" in page.inner_text('[data-entry-id="tg-lane"]')

    violations = page.evaluate("() => window.__violations || []")
    context.close()
    assert violations == [] and problems == []


def test_saving_posts_the_diagram_and_marks_the_problems_on_it(chromium: Any, live_server: str) -> None:
    """Saving sends the edited file to the drafts API (session cookie + CSRF header, the issue's
    body shape) and shows the answer's problems: a marker on each element and a list in Chinese.
    The drafts API is another part of the designer; its answer is played here from the API's
    documented shape (201 {id, ok, problems})."""
    context, page, problems = _open(chromium, live_server, "/designer/bpmn/processes/tier_handling.bpmn")
    sent: list[Any] = []

    def drafts(route: Any) -> None:
        sent.append(route.request)
        route.fulfill(status=201, content_type="application/json", body=json.dumps({
            "id": 7, "ok": False, "problems": [
                {"file": "processes/tier_handling.bpmn", "element": "triage", "severity": "error",
                 "message": "用户任务“研判分拨”的表单 nope.json 不存在"},
                {"file": "processes/tier_handling.bpmn", "element": None, "severity": "warning", "message": "整体提示"}]}))
    page.route("**/api/v1/processes/drafts", drafts)
    _select(page, "triage")
    page.fill("#bio-properties-panel-name", "研判分拨（已改）")
    page.wait_for_function("""() => window.tongguanDesigner.get('elementRegistry').get('triage')
        .businessObject.name === '研判分拨（已改）'""")
    page.click("#designer-save")
    page.wait_for_selector("#designer-problems li")
    [request] = sent
    assert request.method == "POST" and request.headers["x-csrftoken"]
    body = request.post_data_json
    assert list(body["files"]) == ["processes/tier_handling.bpmn"]
    assert "研判分拨（已改）" in body["files"]["processes/tier_handling.bpmn"]
    assert "草稿 #7 已保存，发现 2 个问题" in page.inner_text("#designer-status")
    assert page.get_attribute("#designer", "data-dirty") == "false"  # saved
    items = page.locator("#designer-problems li")
    assert items.count() == 2
    assert "研判分拨（已改） (triage)" in items.nth(0).inner_text() and "nope.json 不存在" in items.nth(0).inner_text()
    assert "错误" in items.nth(0).inner_text() and "警告" in items.nth(1).inner_text()
    assert page.locator('.djs-element.tg-problem[data-element-id="triage"]').count() == 1
    # a problem's element button selects it on the diagram
    page.evaluate("() => window.tongguanDesigner.get('selection').select([])")
    items.nth(0).locator("button").click()
    assert page.evaluate("() => window.tongguanDesigner.get('selection').get().map(e => e.id)") == ["triage"]
    violations = page.evaluate("() => window.__violations || []")
    context.close()
    assert violations == [] and problems == []


def test_a_save_the_server_cannot_take_says_so(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, "/designer/bpmn/processes/seven_step_loop.bpmn")
    page.route("**/api/v1/processes/drafts", lambda route: route.fulfill(status=404, content_type="application/json",
                                                                         body='{"error": "not_found"}'))
    page.click("#designer-save")
    page.wait_for_function("() => document.getElementById('designer-status').textContent.includes('尚未启用')")
    context.close()


def test_the_conventions_group_edits_lanes_calls_rules_timers_and_signals(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, "/designer/bpmn/processes/seven_step_loop.bpmn")
    # a lane's role is the key in parentheses at the end of its name
    _select(page, "lane_handler")
    role = page.locator("#bio-properties-panel-tg-role")
    assert role.input_value() == "handler"
    role.select_option("")  # no role: the lane is marked while drawing
    page.wait_for_function("""() => ((window.tongguanDesigner.get('linting')._issues || {})['lane_handler'] || [])
        .some(i => i.message === 'Lane has no role')""")
    role.select_option("supervisor")
    page.wait_for_function("""() => !((window.tongguanDesigner.get('linting')._issues || {})['lane_handler'] || [])
        .some(i => i.message === 'Lane has no role')""")
    # a call activity picks another process of the bundle; a business rule task a decision
    _select(page, "community_loop")
    assert page.locator("#bio-properties-panel-tg-called").input_value() == "tier_handling"
    _select(page, "starting_tier")
    decision = page.locator("#bio-properties-panel-tg-decision")
    assert decision.input_value() == "starting_tier"
    decision.select_option("dispatch_proposal")
    # a script shows the restricted-Python rules next to its code
    _select(page, "init_case")
    assert "受限的 Python" in page.inner_text('[data-group-id="group-tongguan"]')
    assert "rework_count = 0" in page.locator("#bio-properties-panel-tg-script").input_value()
    xml = page.evaluate("() => window.tongguanDesigner.saveXML({format: true}).then(r => r.xml)")
    assert 'name="处置人员 (supervisor)"' in xml
    assert xml.count("<spiffworkflow:calledDecisionId>dispatch_proposal</spiffworkflow:calledDecisionId>") == 2
    context.close()

    context, page, problems2 = _open(chromium, live_server, "/designer/bpmn/processes/tier_handling.bpmn")
    _select(page, "handle_turns_red")
    deadline = page.locator("#bio-properties-panel-tg-deadline")
    assert deadline.input_value() == "deadline('due')"
    deadline.select_option("deadline('yellow')")
    _select(page, "handling_returned")
    signal = page.locator("#bio-properties-panel-tg-signal")
    assert signal.input_value() == "return"
    signal.select_option("escalate")
    xml = page.evaluate("() => window.tongguanDesigner.saveXML({format: true}).then(r => r.xml)")
    assert xml.count("deadline('yellow')") == 2 and "deadline('due')" not in xml
    assert 'id="SignalDef_handling_return" signalRef="Signal_escalate"' in xml
    context.close()
    assert problems == [] and problems2 == []


def test_the_dmn_editor_opens_the_decision_table(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, "/designer/dmn/rules/starting_tier.dmn")
    assert page.get_attribute("#designer", "data-ready") == "true"
    assert page.locator(".tjs-table").count() == 1  # the decision table is drawn
    assert page.locator(".bjs-powered-by").count() == 1  # the bpmn.io watermark
    xml = page.evaluate("() => window.tongguanDesigner.saveXML({format: true}).then(r => r.xml)")
    assert 'id="starting_tier"' in xml
    violations = page.evaluate("() => window.__violations || []")
    context.close()
    assert violations == [] and problems == []


def test_the_form_editor_previews_with_the_product_s_renderer(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, "/designer/form/forms/report_back.json")
    page.wait_for_selector("#designer-preview form[data-preview]")
    source = page.input_value("#designer-form-text")
    schema = json.loads(source)
    first = schema["x-order"][0] if "x-order" in schema else next(iter(schema["properties"]))
    assert page.locator(f'#designer-preview [name="{first}"]').count() >= 1
    # edit the JSON: the preview follows; a broken JSON says why and keeps the last preview
    schema["properties"]["extra_note"] = {"type": "string", "title": "补充说明（预览）"}
    schema.setdefault("x-order", list(schema["properties"]))
    if "extra_note" not in schema["x-order"]:
        schema["x-order"].append("extra_note")
    page.fill("#designer-form-text", json.dumps(schema, ensure_ascii=False, indent=2))
    page.wait_for_selector('#designer-preview [name="extra_note"]')
    assert "补充说明（预览）" in page.inner_text("#designer-preview")
    page.fill("#designer-form-text", "{broken")
    page.wait_for_selector("#designer-preview-error:not([hidden])")
    assert "不是有效的表单" in page.inner_text("#designer-preview-error")
    violations = page.evaluate("() => window.__violations || []")
    context.close()
    # the refused preview is a 422 answer, which Chromium logs as a failed resource
    assert violations == [] and [p for p in problems if "422" not in p] == []


def test_the_designer_page_links_each_file_to_its_editor(chromium: Any, live_server: str) -> None:
    context, page, problems = _open(chromium, live_server, "/designer/form/forms/triage.json")
    page.goto(f"{live_server}/designer")
    page.click('tr[data-file="processes/tier_handling.bpmn"] a')
    page.wait_for_selector('#designer[data-ready="true"]')
    assert page.url.endswith("/designer/bpmn/processes/tier_handling.bpmn")
    page.goto(f"{live_server}/designer")
    page.click('tr[data-file="rules/dispatch_proposal.dmn"] a')
    page.wait_for_selector('#designer[data-ready="true"]')
    page.goto(f"{live_server}/designer")
    page.click('tr[data-file="forms/channels/grid.json"] a')
    page.wait_for_selector("#designer-preview form[data-preview]")
    violations = page.evaluate("() => window.__violations || []")
    context.close()
    assert violations == [] and problems == []


@pytest.mark.parametrize("file", ["seven_step_loop.bpmn", "tier_handling.bpmn"])
def test_the_shipped_diagrams_show_no_lint_errors(chromium: Any, live_server: str, file: str) -> None:
    """A bundle the server deploys must not open covered in red: the browser's rules agree with it."""
    context, page, problems = _open(chromium, live_server, f"/designer/bpmn/processes/{file}")
    page.wait_for_function("() => window.tongguanDesigner.get('linting')._issues !== undefined")
    errors = page.evaluate("""() => { const issues = window.tongguanDesigner.get('linting')._issues || {};
        return Object.values(issues).flat().filter(i => i.category === 'error').map(i => i.rule + ' ' + (i.actualElementId || i.id)); }""")
    context.close()
    assert errors == []
