"""Importing a file drawn in another tool, in a real headless Chromium: demo_designer picks
Signavio's export (no diagram in it, a lane without a role, a task without a form, a complex
gateway) on /designer; it opens in the modeler from the draft, laid out, with each problem listed
and its element marked; saving keeps every element and writes the diagram drawn here."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.designer.test_drafts_api import restore_active  # noqa: F401 (fixture)
from tests.designer.test_modeler_browser import WATCH
from tests.conftest import log_in

pytestmark = pytest.mark.browser
SIGNAVIO = Path(__file__).parent.parent / "data" / "foreign" / "signavio_complaint.bpmn"
LANE, TASK, GATEWAY = ("sid-7A6B5C4D-3E2F-4A1B-8C9D-0E1F2A3B4C5D", "sid-34746A54-9F1E-4B2C-8D3A-7E6F5A4B3C2D",
                       "sid-B2C3D4E5-F6A7-4B8C-9D0E-1F2A3B4C5D6E")


@contextmanager
def _designer(chromium: Any, live_server: str) -> Iterator[tuple[Any, list[str]]]:
    """demo_designer's page (watching the CSP) and its script errors; closed afterwards."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, live_server, "demo_designer")
        yield page, errors
    finally:
        context.close()


def _import(page: Any, on: str, path: Path, opens: str, target: str = "", name: str = "") -> None:
    """Import a file with the 导入 control of the page `on`; wait for the editor it opens."""
    if page.url != on:
        page.goto(on)
    page.click("#designer-import summary")
    page.set_input_files("#import-file", str(path))
    if target:
        page.select_option("#import-target", target)
    if name:
        page.fill("#import-name", name)
    page.click(".designer-import-form button[type=submit]")
    page.wait_for_url(opens)
    page.wait_for_selector("#designer[data-ready]")


def test_a_signavio_file_is_imported_laid_out_and_its_problems_marked(chromium: Any, live_server: str,
                                                                     restore_active: None) -> None:  # noqa: F811
    with _designer(chromium, live_server) as (page, errors):
        _import(page, f"{live_server}/designer", SIGNAVIO, f"{live_server}/designer/bpmn/processes/complaint.bpmn",
                name="complaint")
        assert page.get_attribute("#designer", "data-ready") == "true"
        assert page.get_attribute("#designer", "data-laid-out") == "true"  # the file had no diagram
        assert "自动排版" in page.inner_text("#designer-status")
        assert "个问题" in page.inner_text(".flashes")
        # every element of the file is drawn: the lane in a pool, the four nodes, the three flows
        for element in (LANE, TASK, GATEWAY, "sid-A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D", "sid-F1", "sid-F2", "sid-F3"):
            assert page.locator(f'.djs-element[data-element-id="{element}"]').count() == 1, element
        # what it lacks to run here: listed with the element's name, and marked on the diagram
        problems = page.inner_text("#designer-problems")
        assert "登记投诉 (sid-34746A54" in problems and "表单" in problems and "角色" in problems
        for element in (LANE, TASK, GATEWAY):
            assert page.locator(f'.djs-element.tg-problem[data-element-id="{element}"]').count() == 1, element
        # a problem's button selects its element
        page.locator(f'#designer-problems [data-element="{TASK}"] button').first.click()
        assert page.evaluate("() => window.tongguanDesigner.get('selection').get().map(e => e.id)") == [TASK]
        # saving keeps the file's elements and adds the diagram drawn here
        page.click("#designer-save")
        page.wait_for_function("() => document.getElementById('designer-status').textContent.includes('草稿 #')")
        xml = page.evaluate("() => window.tongguanDesigner.saveXML().then(r => r.xml)")
        assert "bpmndi:BPMNDiagram" in xml and f'bpmnElement="{TASK}"' in xml
        assert 'name="登记投诉"' in xml and "complexGateway" in xml and 'exporter="Signavio' in xml
        assert page.locator(f'.djs-element.tg-problem[data-element-id="{TASK}"]').count() == 1  # still to fix
        assert errors == [] and page.evaluate("() => window.__violations || []") == []


FEEL_TIER = Path(__file__).parent.parent / "data" / "foreign" / "dmn13_feel_tier.dmn"


def test_a_camunda_decision_table_is_imported_with_its_cells_marked(chromium: Any, live_server: str,
                                                                   restore_active: None) -> None:  # noqa: F811
    """The DMN editor marks the cell, the column and the output with a problem, each with its
    message; fixing a cell and saving takes its mark away."""
    with _designer(chromium, live_server) as (page, errors):
        editor = f"{live_server}/designer/dmn/rules/starting_tier.dmn"
        page.goto(editor)
        page.wait_for_selector("#designer[data-ready]")
        _import(page, editor, FEEL_TIER, editor, target="rules/starting_tier.dmn")
        page.wait_for_selector('.tg-problem[data-element-id="UnaryTests_range"]')
        assert "FEEL" in (page.get_attribute('.tg-problem[data-element-id="UnaryTests_range"]', "title") or "")
        for element in ("UnaryTests_escape", "LiteralExpression_escape"):
            assert page.locator(f'.tg-problem[data-element-id="{element}"]').count() == 1, element
        assert page.locator('th.tg-problem[data-col-id="Input_danger"]').count() == 1  # its input expression
        assert page.locator('.tg-problem[data-element-id="UnaryTests_gt"]').count() == 0  # "> 3" runs here
        # a problem's button goes to its cell
        page.locator('#designer-problems [data-element="UnaryTests_range"] button').click()
        # fix the range the Python way and save: its mark goes, the others stay
        page.evaluate("""() => { const viewer = window.tongguanDesigner.getActiveViewer();
            const cell = viewer.get('elementRegistry').get('UnaryTests_range');
            viewer.get('modeling').editCell(cell.businessObject, '1 <= ? <= 3'); }""")
        page.click("#designer-save")
        page.wait_for_function("() => document.getElementById('designer-status').textContent.includes('草稿 #')")
        page.wait_for_function("() => !document.querySelector('.tg-problem[data-element-id=\"UnaryTests_range\"]')")
        assert page.locator('.tg-problem[data-element-id="UnaryTests_escape"]').count() == 1
        assert "[1..3]" not in page.inner_text("#designer-problems")
        assert errors == [] and page.evaluate("() => window.__violations || []") == []
