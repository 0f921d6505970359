"""The process designer's BPMN editor in a real headless Chromium: the deployed diagram is drawn
under the strict CSP, a task is renamed with the properties panel, the "统管约定" group sets a user
task's form (and the exported XML carries it as spiffworkflow:property), and bpmnlint marks a user
task without a form while drawing."""
from __future__ import annotations

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
    assert 'name="form" value="report_back.json"' in xml
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
    # the overlay's message, in Chinese (shown when the pointer is over the marker)
    assert "用户任务没有表单" in page.locator('.djs-overlays[data-container-id="new_step"]').text_content()

    # choosing a form in the conventions group clears that problem
    _select(page, "new_step")
    page.locator("#bio-properties-panel-tg-form").select_option("triage.json")
    page.wait_for_function("""() => { const issues = window.tongguanDesigner.get('linting')._issues || {};
        return !(issues['new_step'] || []).some(i => i.message === 'User task has no form'); }""")

    violations = page.evaluate("() => window.__violations || []")
    context.close()
    assert violations == [] and problems == []
