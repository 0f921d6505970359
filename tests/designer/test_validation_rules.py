"""Every validation rule of the authoritative check, each with a file that breaks it.

Foreign files (tests/data/foreign/, hand-written in the shapes Camunda Modeler 7/8, Signavio,
Trisotech and bpmn.io export) are put into a copy of the shipped bundle, as the designer's
validate call does; each rule must name the file, the element id, its name and its line, in
Chinese and English, and all problems of a file must come in one pass.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from app.designer.checks import CheckResult, Problem, bundle_with, check_bundle
from app.engine.definitions import BundleError, parse_bundle, read_bundle
from tests.engine.bpmn_factory import FORM, bundle, gateway, linear

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "tests" / "data" / "foreign"
CASE = "seven_step_loop"


@pytest.fixture(scope="module")
def shipped() -> dict[str, dict[str, str]]:
    return read_bundle(ROOT / "processes", ROOT / "rules", ROOT / "forms")


def check_foreign(shipped: dict[str, dict[str, str]], name: str) -> CheckResult:
    section = "processes" if name.endswith(".bpmn") else "rules"
    return check_bundle(bundle_with(shipped, {f"{section}/{name}": (FOREIGN / name).read_text("utf-8")}), CASE)


def at(result: CheckResult, element: str | None) -> list[Problem]:
    return [p for p in result.problems if p.element == element]


def test_every_problem_names_its_file_and_says_it_in_both_languages(shipped: dict[str, dict[str, str]]) -> None:
    for path in sorted(FOREIGN.iterdir()):
        result = check_foreign(shipped, path.name)
        for p in result.problems:
            assert p.file and p.file.endswith(path.name), (path.name, p)
            assert p.message and p.message_en and p.message != p.message_en, p
            assert any("\u4e00" <= ch <= "\u9fff" for ch in p.message), p  # Chinese first
            assert "Traceback" not in p.message_en and " at 0x" not in p.message_en, p


# ---------------------------------------------------------------------------- every process, every decision

def test_a_broken_process_nothing_calls_is_found(shipped: dict[str, dict[str, str]]) -> None:
    """Before, only the case process and what it calls were checked: this one deployed."""
    result = check_foreign(shipped, "spiff_service_task_without_operator.bpmn")
    assert not result.ok
    [p] = result.problems
    assert (p.element, p.element_name, p.line) == ("Activity_book", "订假期", 5)
    assert "服务任务没有设置要调用的服务" in p.message and "A Service Task must have an operator" in p.message_en
    assert "订假期 (Activity_book)" in p.message_en  # which task, not only which process


def test_deploy_refuses_a_broken_extra_process_too(shipped: dict[str, dict[str, str]]) -> None:
    files = bundle_with(shipped, {"processes/x.bpmn": (FOREIGN / "spiff_service_task_without_operator.bpmn").read_text()})
    with pytest.raises(BundleError) as exc:
        parse_bundle(files, CASE)
    assert "A Service Task must have an operator" in str(exc.value)


def test_an_unresolvable_data_association_names_its_task_not_an_object_address(shipped: dict[str, dict[str, str]]) -> None:
    [p] = check_foreign(shipped, "spiff_dangling_data_output.bpmn").problems
    assert p.element == "Activity_write" and p.element_name == "写入数据" and p.line == 5
    assert "Cannot resolve dataOutputAssociation" in p.message_en and "0x" not in p.message_en


def test_a_call_to_a_missing_process_names_the_call_activity(shipped: dict[str, dict[str, str]]) -> None:
    [p] = check_foreign(shipped, "trisotech_call_missing.bpmn").problems
    assert (p.element, p.element_name) == ("_call_inspection", "Site inspection")
    assert "_process_inspection" in p.message and "不存在" in p.message


def test_a_case_process_that_is_missing_is_a_problem(shipped: dict[str, dict[str, str]]) -> None:
    files = {**shipped, "processes": {k: v for k, v in shipped["processes"].items() if k != "seven_step_loop.bpmn"}}
    result = check_bundle(files, CASE)
    assert any(p.file is None and "seven_step_loop" in p.message for p in result.problems)


def test_a_decision_that_is_not_a_table_is_one_message_not_an_index_error(shipped: dict[str, dict[str, str]]) -> None:
    [p] = check_foreign(shipped, "camunda_literal_decision.dmn").problems
    assert (p.element, p.element_name, p.line) == ("literal_decision", "Season", 3)
    assert "不是决策表" in p.message and "IndexError" not in p.message_en


def test_a_camunda_decision_table_as_starting_tier_is_a_list_of_problems(shipped: dict[str, dict[str, str]]) -> None:
    text = (FOREIGN / "dmn13_feel_tier.dmn").read_text().replace('id="feel_tier"', 'id="starting_tier"')
    result = check_bundle(bundle_with(shipped, {"rules/starting_tier.dmn": text}), CASE)
    assert not result.ok and {p.file for p in result.problems} == {"rules/starting_tier.dmn"}


def test_an_unsupported_hit_policy_is_refused(shipped: dict[str, dict[str, str]]) -> None:
    [p] = check_foreign(shipped, "dmn13_hit_policy_any.dmn").problems
    assert p.element == "DecisionTable_any" and "ANY" in p.message


def test_a_valid_dmn_12_file_with_a_prefixed_namespace_passes(shipped: dict[str, dict[str, str]]) -> None:
    assert check_foreign(shipped, "dmn12_prefixed.dmn").problems == []


# ---------------------------------------------------------------------------- the sandbox at save time

def test_feel_and_escapes_in_dmn_cells_are_refused_never_run(shipped: dict[str, dict[str, str]],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    ran: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: ran.append(cmd) or 0)
    result = check_foreign(shipped, "dmn13_feel_tier.dmn")
    assert ran == []
    by_id = {p.element: p for p in result.problems}
    assert "FEEL 区间" in by_id["UnaryTests_range"].message and "1 <= ? <= 3" in by_id["UnaryTests_range"].message_en
    assert "__import__" in by_id["UnaryTests_escape"].message_en and "starts with" in by_id["UnaryTests_escape"].message_en
    assert "starts with" in by_id["Input_danger"].message_en  # an input expression
    assert "UnaryTests_gt" not in by_id and "UnaryTests_any2" not in by_id  # "> 3" and an empty cell are fine


def test_a_feel_output_cell_is_refused() -> None:
    dmn = (FOREIGN / "dmn13_hit_policy_any.dmn").read_text().replace('hitPolicy="ANY"', 'hitPolicy="UNIQUE"').replace(
        "<text>'x'</text>", '<text>date and time("2026-01-01T00:00:00")</text>')
    files = {"processes": {"p.bpmn": linear("p")}, "rules": {"d.dmn": dmn}, "forms": {"f.json": FORM}}
    [p] = check_bundle(files, "p").problems
    assert p.element == "LiteralExpression_1" and "FEEL" in p.message_en


def test_the_shipped_starting_tier_with_the_issue_cells_no_longer_deploys(shipped: dict[str, dict[str, str]]) -> None:
    tier = shipped["rules"]["starting_tier.dmn"]
    for cell in ("[1..3]", '__import__("os").system("id")'):
        broken = tier.replace("<text>'city'</text>", f"<text>{cell}</text>", 1)
        with pytest.raises(BundleError):
            parse_bundle(bundle_with(shipped, {"rules/starting_tier.dmn": broken}), CASE)


@pytest.mark.parametrize("condition, hint", [("${approved}", "JUEL"), ("=amount > 100", "FEEL"),
                                             ("().__class__.__base__", "starts with")])
def test_conditions_camunda_feel_and_escapes_are_refused(condition: str, hint: str) -> None:
    result = check_bundle(bundle("p", gateway("p", condition)), "p")
    assert not result.ok and any(hint in p.message_en for p in result.problems), result.problems


def test_a_script_in_another_language_is_refused(shipped: dict[str, dict[str, str]]) -> None:
    [p] = [p for p in at(check_foreign(shipped, "camunda7_invoice.bpmn"), "computeTotal")]
    assert "javascript" in p.message and p.severity == "error" and p.line == 37


# ---------------------------------------------------------------------------- foreign files, element by element

def test_camunda_7_invoice_lists_everything_at_once(shipped: dict[str, dict[str, str]]) -> None:
    result = check_foreign(shipped, "camunda7_invoice.bpmn")
    assert not result.ok
    assert {p.element for p in result.problems} >= {"Flow_yes", "Flow_no", "computeTotal", "archiveInvoice",
                                                    "approveInvoice", "prepareBankTransfer", "Lane_approver",
                                                    "Lane_accounting"}
    approve = " ".join(p.message_en for p in at(result, "approveInvoice"))
    for missing in ("lane named after a role", "missing property 'form'", "missing property 'unit'", "stage",
                    "Camunda form"):
        assert missing in approve
    assert all(p.severity == "warning" for p in at(result, "Lane_approver"))
    assert [p.severity for p in result.problems] == sorted((p.severity for p in result.problems), key=lambda s: s != "error")


def test_camunda_8_order(shipped: dict[str, dict[str, str]]) -> None:
    result = check_foreign(shipped, "camunda8_order.bpmn")
    assert any("FEEL" in p.message_en for p in at(result, "Flow_big"))
    assert any("job worker" in p.message_en for p in at(result, "Activity_charge"))
    assert any("missing property 'form'" in p.message_en for p in at(result, "Activity_review"))


def test_signavio_names_stand_beside_opaque_ids(shipped: dict[str, dict[str, str]]) -> None:
    result = check_foreign(shipped, "signavio_complaint.bpmn")
    gateway_problems = at(result, "sid-B2C3D4E5-F6A7-4B8C-9D0E-1F2A3B4C5D6E")
    assert gateway_problems and gateway_problems[0].element_name == "复杂判断" and "复杂网关" in gateway_problems[0].message
    assert any("isExecutable" in p.message for p in at(result, "sid-0D1E5C2A-8B7F-4E3D-A1C9-6F2B8E4D3A17"))
    task = at(result, "sid-34746A54-9F1E-4B2C-8D3A-7E6F5A4B3C2D")
    assert task and all(p.element_name == "登记投诉" for p in task)
    assert any(p.severity == "warning" and "客服专员" in p.message for p in at(result, "sid-7A6B5C4D-3E2F-4A1B-8C9D-0E1F2A3B4C5D"))


def test_a_file_that_is_not_bpmn_is_one_problem() -> None:
    xml = '<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="http://example.com/not-bpmn" id="d"/>'
    files = bundle("p", linear("p"))
    files["processes"]["other.bpmn"] = xml
    [p] = check_bundle(files, "p").problems
    assert p.file == "processes/other.bpmn" and "BPMN 2.0" in p.message


def test_a_file_that_is_not_dmn_is_one_problem() -> None:
    files = bundle("p", linear("p"))
    files["rules"]["d.dmn"] = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>'
    [p] = check_bundle(files, "p").problems
    assert p.file == "rules/d.dmn" and "DMN" in p.message


# ---------------------------------------------------------------------------- untrusted files

@pytest.mark.parametrize("text, expected", [
    ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><definitions/>', "DOCTYPE"),
    ('<?xml version="1.0" encoding="GBK"?><definitions/>', "UTF-8"),
    ("<definitions", "XML"),
    ("<definitions>" + "x" * (2 * 1024 * 1024) + "</definitions>", "KB"),
])
def test_untrusted_xml_is_refused_with_a_message(text: str, expected: str) -> None:
    files = bundle("p", linear("p"))
    files["processes"]["evil.bpmn"] = text
    problems = [p for p in check_bundle(files, "p").problems if p.file == "processes/evil.bpmn"]
    assert len(problems) == 1 and expected in problems[0].message and problems[0].severity == "error"


def test_the_check_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.designer.checks as checks
    monkeypatch.setattr(checks, "inspect_bundle", lambda *a: 1 / 0)
    result = check_bundle(bundle("p", linear("p")), "p")
    assert not result.ok and "ZeroDivisionError" in result.problems[0].message_en


def test_a_huge_list_is_cut_with_a_count(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.designer.checks as checks
    monkeypatch.setattr(checks, "MAX_PROBLEMS", 3)
    files = bundle("p", linear("p").replace("派遣员 (dispatcher)", "nobody").replace('value="verify"', 'value="x"'))
    result = check_bundle(files, "p")
    assert len(result.problems) == 4 and result.problems[-1].file is None
    assert "未列出" in result.problems[-1].message and "more problems" in result.problems[-1].message_en


def test_a_bare_iso_timer_is_refused_with_how_to_quote_it() -> None:
    xml = linear("p").replace('<bpmn:sequenceFlow id="f1" sourceRef="t1" targetRef="t2"/>', (
        '<bpmn:intermediateCatchEvent id="wait" name="等五分钟"><bpmn:timerEventDefinition id="td">'
        '<bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="t1" targetRef="wait"/><bpmn:sequenceFlow id="fw" sourceRef="wait" targetRef="t2"/>'))
    xml = xml.replace("<bpmn:flowNodeRef>t2</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>t2</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef>")
    problems = [p for p in check_bundle(bundle("p", xml), "p").problems if p.element == "wait"]
    assert problems and "'PT5M'" in problems[0].message and problems[0].element_name == "等五分钟"
    quoted = xml.replace(">PT5M<", ">'PT5M'<")
    assert [p for p in check_bundle(bundle("p", quoted), "p").problems if p.element == "wait"] == []


def test_sandbox_refusals_are_explained_in_chinese() -> None:
    [p] = [p for p in check_bundle(bundle("p", gateway("p", "x.__class__")), "p").problems if "__class__" in p.message_en]
    assert "下划线" in p.message
