"""What ``flask processes deploy`` (and any upload using the same bundle check) answers to files
that used to crash it: deeply nested JSON forms, UTF-16 or Latin-1 files, patterns a linear-time
engine cannot run, DMN cells that would make every evaluation slow. Always a message, never a
traceback; nothing deployed."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.db import session
from app.engine.definitions import BundleError, check_form, decode_file, parse_bundle, read_bundle
from app.engine.models import ProcessDefinition
from tests.engine.bpmn_factory import FORM, bundle, gateway, linear, with_rule

ROOT = Path(__file__).resolve().parents[2]
NESTED = "[" * 100_000 + "]" * 100_000
NESTED_OBJECT = '{"type": "object", "properties": {"a": ' + '{"items": ' * 5_000 + "{}" + "}" * 5_000 + "}}"


def _folders(tmp_path: Path, pid: str) -> tuple[Path, Path, Path]:
    folders = tuple(tmp_path / name for name in ("processes", "rules", "forms"))
    for folder in folders:
        folder.mkdir()
    (folders[0] / f"{pid}.bpmn").write_text(linear(pid), encoding="utf-8")
    (folders[2] / "f.json").write_text(FORM, encoding="utf-8")
    return folders  # type: ignore[return-value]


def _deploy_cli(app: Flask, monkeypatch: pytest.MonkeyPatch, folders: tuple[Path, Path, Path], pid: str) -> str:
    settings = app.config["SETTINGS"]
    for name, folder in zip(("PROCESS_DIR", "RULES_DIR", "FORMS_DIR"), folders):
        monkeypatch.setattr(settings, name, folder)
    result = app.test_cli_runner().invoke(args=["processes", "deploy", "--process", pid])
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "the bundle was not deployed" in result.output
    with app.app_context():
        assert session.scalar(select(func.count()).select_from(ProcessDefinition).filter_by(process_id=pid)) == 0
    return result.output


@pytest.mark.parametrize("text", [NESTED, NESTED_OBJECT], ids=["nested_arrays", "nested_schema"])
def test_deeply_nested_form_is_refused_with_a_message(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      text: str) -> None:
    pid = "checks_nested_form"
    folders = _folders(tmp_path, pid)
    (folders[2] / "f.json").write_text(text, encoding="utf-8")
    output = _deploy_cli(app, monkeypatch, folders, pid)
    assert "forms/f.json: 表单定义无效：nested deeper than 32 levels / invalid form schema: nested deeper than 32 levels" in output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_bpmn_is_refused_with_a_message(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              encoding: str) -> None:
    pid = "checks_utf16"
    folders = _folders(tmp_path, pid)
    xml = linear(pid).replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    (folders[0] / f"{pid}.bpmn").write_bytes(xml.encode(encoding))
    output = _deploy_cli(app, monkeypatch, folders, pid)
    assert f"processes/{pid}.bpmn:" in output and "save it as UTF-8" in output
    assert "UTF-32" in output if encoding == "utf-32" else "UTF-16" in output


def test_latin1_dmn_is_refused_with_a_message(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pid = "checks_latin1"
    folders = _folders(tmp_path, pid)
    (folders[1] / "café.dmn").write_bytes('<?xml version="1.0" encoding="ISO-8859-1"?><definitions name="café"/>'.encode("latin-1"))
    output = _deploy_cli(app, monkeypatch, folders, pid)
    assert "rules/café.dmn: 文件不是 UTF-8 编码" in output and "invalid byte at offset" in output


def test_xml_declaring_another_encoding_is_refused() -> None:
    pid = "checks_gbk"
    with pytest.raises(BundleError) as exc:
        parse_bundle(bundle(pid, linear(pid).replace('encoding="UTF-8"', 'encoding="GBK"')), pid)
    assert "the XML declaration says encoding='GBK'" in " ".join(exc.value.errors[f"processes/{pid}.bpmn"])


def test_utf8_with_a_byte_order_mark_is_accepted(app: Flask, tmp_path: Path) -> None:
    pid = "checks_bom"
    folders = _folders(tmp_path, pid)
    (folders[0] / f"{pid}.bpmn").write_bytes(b"\xef\xbb\xbf" + linear(pid).encode("utf-8"))
    (folders[2] / "f.json").write_bytes(b"\xef\xbb\xbf" + FORM.encode("utf-8"))
    files = read_bundle(*folders)
    assert not files["processes"][f"{pid}.bpmn"].startswith("\ufeff")
    spec, _subs, forms, tasks = parse_bundle(files, pid)
    assert set(tasks) == {"t1", "t2"} and forms["f.json"]["type"] == "object"


def test_decode_file_names_the_problem() -> None:
    assert decode_file("第一步".encode(), "x") == "第一步"
    with pytest.raises(BundleError, match="UTF-16"):
        decode_file("<a/>".encode("utf-16-le"), "x")  # no byte-order mark: found by its NUL bytes
    with pytest.raises(BundleError, match="larger than"):
        decode_file(b" " * (2 * 1024 * 1024 + 1), "x")


@pytest.mark.parametrize("pattern,detail", [
    ("(?=a)b", "invalid perl operator"),
    ("(a)\\1", "invalid escape sequence"),
    ("\\w+(?<!x)", "invalid perl operator"),
], ids=["lookahead", "backreference", "lookbehind"])
def test_patterns_the_linear_engine_cannot_run_are_refused_at_deploy(pattern: str, detail: str) -> None:
    form = {"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}}}
    files = {**bundle("checks_pattern", linear("checks_pattern")), "forms": {"f.json": json.dumps(form)}}
    with pytest.raises(BundleError) as exc:
        parse_bundle(files, "checks_pattern")
    message = " ".join(exc.value.errors["forms/f.json"])
    assert f"pattern {pattern!r} is not supported" in message and detail in message and "RE2" in message


def test_pattern_with_a_syntax_error_is_refused_at_deploy() -> None:
    form = {"type": "object", "properties": {"code": {"type": "string", "pattern": "(unclosed"}}}
    files = {**bundle("checks_pattern", linear("checks_pattern")), "forms": {"f.json": json.dumps(form)}}
    with pytest.raises(BundleError) as exc:
        parse_bundle(files, "checks_pattern")
    assert "'(unclosed' is not a 'regex'" in " ".join(exc.value.errors["forms/f.json"])


def test_pattern_properties_are_refused_in_forms() -> None:
    form = {"type": "object", "patternProperties": {"^(a+)+$": {"type": "string"}}}
    with pytest.raises(ValueError, match="patternProperties: not supported in forms"):
        check_form(json.dumps(form))


def test_catastrophic_pattern_deploys_and_answers_in_milliseconds(app: Flask, client: object) -> None:
    """``^(a+)+$`` is valid RE2: it deploys, and matching 30 characters takes microseconds."""
    from app.forms.schema import validate
    form = check_form(json.dumps({"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}}))
    started = time.perf_counter()
    for n in (26, 30, 40, 1000):
        assert validate(form, {"code": "a" * n + "b"}) == {"code": ["格式不正确"]}
    assert time.perf_counter() - started < 0.05


def test_every_shipped_form_pattern_runs_on_re2() -> None:
    from app.forms.schema import check_form_patterns
    for path in sorted((ROOT / "forms").rglob("*.json")):
        check_form_patterns(json.loads(path.read_text(encoding="utf-8")), path.name)


@pytest.mark.parametrize("cell,message", [
    ("?" * 20_000, "longer than 1000 characters"),
    ("? " * 11, "more than 10 '?' characters"),
], ids=["long_cell", "question_marks"])
def test_dmn_cells_that_slow_every_evaluation_are_refused(cell: str, message: str) -> None:
    pid = "checks_dmn_cell"
    with pytest.raises(BundleError) as exc:
        parse_bundle(with_rule(pid, cell), pid)
    assert any(message in m for m in exc.value.errors[f"rules/d_{pid}.dmn"])


def test_shipped_bundle_still_reads_and_parses() -> None:
    files = read_bundle(ROOT / "processes", ROOT / "rules", ROOT / "forms")
    parse_bundle(files, "seven_step_loop")


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    folders = _folders(tmp_path, "checks_unreadable")
    shutil.rmtree(folders[2])
    (folders[2]).mkdir()
    (folders[2] / "broken.json").symlink_to(tmp_path / "missing.json")
    with pytest.raises(BundleError) as exc:
        read_bundle(*folders)
    assert "forms/broken.json" in exc.value.errors


def test_a_loop_that_neither_waits_nor_evaluates_is_refused() -> None:
    """A throw event and a gateway in a cycle: SpiffWorkflow recurses on it until RecursionError."""
    pid = "checks_plain_loop"
    xml = linear(pid).replace('<bpmn:sequenceFlow id="f1" sourceRef="t1" targetRef="t2"/>', (
        '<bpmn:intermediateThrowEvent id="a" name="甲"/><bpmn:parallelGateway id="b"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="t1" targetRef="a"/>'
        '<bpmn:sequenceFlow id="fa" sourceRef="a" targetRef="b"/>'
        '<bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="a"/>'))
    xml = xml.replace("<bpmn:flowNodeRef>t2</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>t2</bpmn:flowNodeRef><bpmn:flowNodeRef>a</bpmn:flowNodeRef><bpmn:flowNodeRef>b</bpmn:flowNodeRef>")
    with pytest.raises(BundleError) as exc:
        parse_bundle(bundle(pid, xml), pid)
    message = str(exc.value)
    assert "without a user task, a catching event, a script or a condition" in message
    assert "a → b → a" in message or "b → a → b" in message


def test_loops_through_user_tasks_scripts_and_conditions_are_accepted() -> None:
    files = read_bundle(ROOT / "processes", ROOT / "rules", ROOT / "forms")
    parse_bundle(files, "seven_step_loop")  # its rework and reopen loops pass through user tasks
    pid = "checks_script_loop"
    xml = linear(pid, script="x = 1").replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="s1" targetRef="t2"/>',
        '<bpmn:exclusiveGateway id="loop" default="f_back"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="s1" targetRef="loop"/>'
        '<bpmn:sequenceFlow id="f_back" sourceRef="loop" targetRef="s1"/>'
        '<bpmn:sequenceFlow id="f_out" sourceRef="loop" targetRef="t2"><bpmn:conditionExpression>x &gt; 0'
        '</bpmn:conditionExpression></bpmn:sequenceFlow>')
    xml = xml.replace("<bpmn:flowNodeRef>s1</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>s1</bpmn:flowNodeRef><bpmn:flowNodeRef>loop</bpmn:flowNodeRef>")
    parse_bundle(bundle(pid, xml), pid)  # bounded by the engine step's budget (tests/engine/test_limits.py)


@pytest.mark.parametrize("source", ["x = " + "1 + " * 100_000 + "1", "x = " + "-" * 100_000 + "1"],
                         ids=["long_sum", "deep_unary"])
def test_code_too_deep_to_compile_is_refused_with_a_message(source: str) -> None:
    pid = "checks_deep_code"
    for xml in (linear(pid, script=source), gateway(pid, source[4:])):
        with pytest.raises(BundleError) as exc:
            parse_bundle(bundle(pid, xml), pid)
        assert "script or condition refused: the code is nested too deeply to compile" in str(exc.value)


def test_deploy_prints_warnings_and_deploys(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A lane that names no role holds no user task here: a warning, printed, not a refusal."""
    pid = "checks_warning_lane"
    folders = _folders(tmp_path, pid)
    xml = linear(pid).replace("</bpmn:laneSet>", '<bpmn:lane id="lane_spare" name="Approver"/></bpmn:laneSet>')
    (folders[0] / f"{pid}.bpmn").write_text(xml, encoding="utf-8")
    settings = app.config["SETTINGS"]
    for name, folder in zip(("PROCESS_DIR", "RULES_DIR", "FORMS_DIR"), folders):
        monkeypatch.setattr(settings, name, folder)
    result = app.test_cli_runner().invoke(args=["processes", "deploy", "--process", pid])
    assert result.exit_code == 0, result.output
    assert f"warning processes/{pid}.bpmn: 泳道「Approver」没有对应的角色" in result.output and "deployed" in result.output
