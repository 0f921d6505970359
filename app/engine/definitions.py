"""Process bundles: read, check, deploy as versions, and keep each parsed version in memory.

A *bundle* is every BPMN, DMN and form file that a process needs. Deploying stores the bundle
under a new version when its content changed; a running case keeps the version it started on.
Each version is parsed once per process and cached, never on each request.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from sqlalchemy import func, select
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, SpiffProcessParser
from SpiffWorkflow.util.event import Event

from app.core.db import session, utcnow
from app.engine.models import ActiveVersion, ProcessDefinition
from app.engine.sandbox import check_source
from app.engine.xml_checks import BPMN_NS, Finding, check_bpmn, check_dmn, check_user_tasks, engine_message_zh, sandbox_message_zh
from app.forms.schema import FormPatternError, check_form_patterns, check_photo_fields
from app.orgs.models import ROLES

STAGES = ("collect", "verify", "assign", "handle", "feedback", "inspect", "evaluate")
RESERVED_IDS = {"Start", "End"}
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FORM_DEPTH = 32  # nesting of objects/arrays in a form file (a form is a flat list of fields)
MAX_DMN_CELL = 1000  # characters of one DMN cell
MAX_DMN_QUESTION_MARKS = 10  # SpiffWorkflow scans a DMN cell once per '?', to its end, with a regex
_XML_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_LANE_ROLE = re.compile(r"\(\s*([a-z_]+)\s*\)\s*$")


class BundleError(ValueError):
    """A bundle that cannot be deployed; ``errors`` maps a file (or element) to its messages,
    ``findings`` has the same problems with their element, line and Chinese and English text."""

    def __init__(self, errors: dict[str, list[str]], findings: list[Finding] | None = None) -> None:
        self.errors = errors
        self.findings = findings if findings is not None else [
            Finding(where, *_split(m), file=where if where.partition("/")[0] in ("processes", "rules", "forms") else None)
            for where, messages in errors.items() for m in messages]
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))

    @classmethod
    def of(cls, findings: list[Finding]) -> BundleError:
        errors: dict[str, list[str]] = {}
        for f in findings:
            errors.setdefault(f.where, []).append(f.text)
        return cls(errors, findings)

    @classmethod
    def one(cls, file: str, zh: str, en: str) -> BundleError:
        return cls.of([Finding(file, zh, en, file=file)])


def _split(message: str) -> tuple[str, str]:
    """``"中文 / English"`` as its two halves; a message in one language only is both."""
    zh, sep, en = message.partition(" / ")
    return (zh, en) if sep else (message, message)


@dataclass(frozen=True)
class TaskMeta:
    """What the host needs to know of a user task, read from its BPMN element."""

    bpmn_id: str
    name: str
    role: str
    lane: str
    form: str
    unit_expr: str
    limit_expr: str | None
    stage: str
    documentation: str | None
    sign_limit_expr: str | None = None  # set: the clock of ``limit`` starts at the claim (签收)
    unit_variable: str | None = None  # the unit expression is a plain variable: reassigning moves it


@dataclass
class LoadedDefinition:
    id: int
    process_id: str
    version: int
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, dict[str, Any]]
    tasks: dict[str, TaskMeta] = field(default_factory=dict)


# ---------------------------------------------------------------------------- reading files

def read_bundle(process_dir: Path, rules_dir: Path, forms_dir: Path) -> dict[str, dict[str, str]]:
    """Read the files of a bundle from the three folders (sorted, so the hash is stable).

    Files are read as bytes and decoded by :func:`decode_file`; every file that cannot be read
    is reported at once in a :class:`BundleError`."""
    errors: dict[str, list[str]] = {}

    def read(folder: Path, suffix: str, section: str) -> dict[str, str]:
        files = {}
        for p in sorted(Path(folder).glob(f"*{suffix}")):
            try:
                if p.stat().st_size > MAX_FILE_BYTES:
                    raise BundleError.one(f"{section}/{p.name}", f"文件超过 {MAX_FILE_BYTES // 1024} KB", f"file larger than {MAX_FILE_BYTES // 1024} KB")
                files[p.name] = decode_file(p.read_bytes(), f"{section}/{p.name}")
            except BundleError as exc:
                for k, v in exc.errors.items():
                    errors.setdefault(k, []).extend(v)
            except OSError as exc:
                errors.setdefault(f"{section}/{p.name}", []).append(f"cannot read the file: {exc.strerror or exc}")
        return files
    bundle = {"processes": read(process_dir, ".bpmn", "processes"), "rules": read(rules_dir, ".dmn", "rules"),
              "forms": read(forms_dir, ".json", "forms"), "kpis": read(Path(rules_dir) / "kpis", ".json", "rules/kpis")}
    if errors:
        raise BundleError(errors)
    return bundle


def decode_file(data: bytes, name: str) -> str:
    """The text of a bundle file: UTF-8, with or without a byte-order mark. Anything else
    (UTF-16/32 as saved by some Windows editors, GBK, Latin-1) is refused with a message that
    says how to fix it, rather than guessed: a guessed encoding would store wrong Chinese text."""
    if len(data) > MAX_FILE_BYTES:
        raise BundleError.one(name, f"文件超过 {MAX_FILE_BYTES // 1024} KB", f"file larger than {MAX_FILE_BYTES // 1024} KB")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 1 and b"\x00" in data[:4]):
        kind = "UTF-32" if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) else "UTF-16"
        raise BundleError({name: [f"文件编码为 {kind}，请另存为 UTF-8 / the file is encoded as {kind}; save it as UTF-8"]})
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError({name: [f"文件不是 UTF-8 编码，请另存为 UTF-8 / the file is not UTF-8 text (invalid byte "
                                  f"at offset {exc.start}); save it as UTF-8"]}) from None
    if "\x00" in text:
        raise BundleError.one(name, "文件中含有 NUL 字符，请另存为 UTF-8 文本", "the file contains NUL characters; save it as UTF-8 text")
    return text


def bundle_hash(bundle: dict[str, dict[str, str]]) -> str:
    digest = hashlib.sha256()
    for section in ("processes", "rules", "forms", "kpis"):
        for name, text in sorted(bundle.get(section, {}).items()):
            digest.update(f"{section}/{name}\0".encode())
            digest.update(text.encode("utf-8"))
            digest.update(b"\0")
    return digest.hexdigest()


_XML_PARSER_OPTS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                        huge_tree=False)


def parse_xml_safely(text: str, name: str) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size, UTF-8 only."""
    text = text.removeprefix("\ufeff")
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise BundleError.one(name, f"文件超过 {MAX_FILE_BYTES // 1024} KB", f"file larger than {MAX_FILE_BYTES // 1024} KB")
    declared = _XML_DECLARED_ENCODING.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise BundleError.one(name, f"XML 声明的编码为 {declared.group(1)}，只接受 UTF-8：请另存为 UTF-8",
                              f"the XML declaration says encoding={declared.group(1)!r}; only UTF-8 is accepted: "
                              "save the file as UTF-8 and declare encoding=\"UTF-8\"")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise BundleError.one(name, "出于安全原因，文件中不允许 DOCTYPE 和实体声明",
                              "DOCTYPE and entity declarations are not allowed")
    parser = etree.XMLParser(**_XML_PARSER_OPTS)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise BundleError.one(name, f"XML 格式不正确（第 {exc.lineno} 行）：{exc.msg}", f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise BundleError.one(name, "出于安全原因，文件中不允许 DOCTYPE 声明", "DOCTYPE declarations are not allowed")
    return root


# ---------------------------------------------------------------------------- checking & parsing

def check_form(text: str) -> dict[str, Any]:
    """:func:`checked_form`, remembered by content (checking the schema is most of a bundle
    check's time, and a designer's check sends the same forms again and again); a copy, so a
    caller cannot change the remembered one."""
    return copy.deepcopy(_checked_form(text))


@functools.lru_cache(maxsize=256)
def _checked_form(text: str) -> dict[str, Any]:
    return checked_form(text)


def checked_form(text: str) -> dict[str, Any]:
    """A form file as a JSON Schema, checked: bounded nesting (a deeply nested file would crash
    the JSON reader and the schema checker with RecursionError), a valid Draft 2020-12 schema of
    type object, and every ``pattern`` valid for the linear-time engine forms are checked with."""
    try:
        schema = json.loads(text.removeprefix("\ufeff"))
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_FORM_DEPTH} levels") from None
    depth = _nesting(schema)
    if depth > MAX_FORM_DEPTH:
        raise ValueError(f"nested deeper than {MAX_FORM_DEPTH} levels")
    if not isinstance(schema, dict):
        raise SchemaError("a form must be a JSON Schema of type object")
    Draft202012Validator.check_schema(schema)
    if schema.get("type") != "object":
        raise SchemaError("a form must be a JSON Schema of type object")
    try:
        check_form_patterns(schema)
        check_photo_fields(schema)
    except FormPatternError as exc:
        raise ValueError(str(exc)) from None
    return schema


def _form_field(exc: Exception) -> str | None:
    """The field of a form a schema error is in (``properties.<field>…`` of the schema), or None."""
    path = list(getattr(exc, "path", None) or [])
    return str(path[1]) if len(path) >= 2 and path[0] == "properties" else None


def _nesting(value: Any) -> int:
    """Deepest nesting of lists/dicts, walked without recursion (stops past MAX_FORM_DEPTH)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_FORM_DEPTH:
                return depth
            stack.extend((item, depth + 1) for item in (v.values() if isinstance(v, dict) else v))
    return deepest


def _check_dmn_cells(root: etree._Element, name: str) -> list[Finding]:
    """Bound what SpiffWorkflow's DMN engine does with each cell at every evaluation."""
    problems = []
    for cell in root.iter("{*}text"):
        text = cell.text or ""
        owner = cell.getparent()
        where = owner.get("id") if owner is not None else None
        at = dict(file=name, element=where, line=cell.sourceline)
        if len(text) > MAX_DMN_CELL:
            problems.append(Finding(name, f"单元格 {where} 超过 {MAX_DMN_CELL} 个字符",
                                    f"cell {where}: longer than {MAX_DMN_CELL} characters", **at))
        elif text.count("?") > MAX_DMN_QUESTION_MARKS:
            problems.append(Finding(name, f"单元格 {where} 含有超过 {MAX_DMN_QUESTION_MARKS} 个「?」",
                                    f"cell {where}: more than {MAX_DMN_QUESTION_MARKS} '?' characters", **at))
    return problems


def lane_role(lane: str | None) -> str | None:
    """The role key a lane stands for: ``派遣员 (dispatcher)``, ``dispatcher`` or ``派遣员``."""
    if not lane:
        return None
    m = _LANE_ROLE.search(lane)
    if m and m.group(1) in ROLES:
        return m.group(1)
    if lane.strip() in ROLES:
        return lane.strip()
    for key, (zh, en) in ROLES.items():
        if lane.strip() in (zh, en):
            return key
    return None


@dataclass
class Inspection:
    """What one pass over a bundle found: every problem (errors and warnings), and, when the case
    process could be built, its parsed parts."""

    findings: list[Finding] = field(default_factory=list)
    spec: BpmnProcessSpec | None = None
    subprocess_specs: dict[str, BpmnProcessSpec] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, TaskMeta] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


class _ProcessParser(SpiffProcessParser):
    """SpiffWorkflow's process parser, indexing a process's elements by walking the tree: its
    XPath ``.//*[@id]`` takes 0.3 s on a process of 5,000 elements (a 2 MB export), the walk 7 ms."""

    def _index_process_nodes(self) -> None:
        for node in self.node.iterdescendants():
            node_id = node.get("id") if isinstance(node.tag, str) else None
            if node_id is None:
                continue
            self.nodes_by_id[node_id] = node
            if node.tag.endswith("sequenceFlow"):
                self.outgoing_sequence_flows.setdefault(node.get("sourceRef"), []).append(node)
            elif node.tag.endswith("boundaryEvent"):
                self.boundary_events_by_attached.setdefault(node.get("attachedToRef"), []).append(node)
            elif node.tag.endswith("dataObjectReference"):
                self.data_object_references[node_id] = node
            elif node.tag.endswith("dataStoreReference"):
                self.data_store_references[node_id] = node


class _BpmnParser(SpiffBpmnParser):
    PROCESS_PARSER_CLASS = _ProcessParser


def parse_bundle(bundle: dict[str, dict[str, str]], process_id: str) -> tuple[
        BpmnProcessSpec, dict[str, BpmnProcessSpec], dict[str, dict[str, Any]], dict[str, TaskMeta]]:
    """Parse and check a bundle; raise :class:`BundleError` listing every problem found (warnings
    do not stop a deploy)."""
    found = inspect_bundle(bundle, process_id)
    if found.errors or found.spec is None:
        raise BundleError.of(found.errors)
    _wire_loops([found.spec, *found.subprocess_specs.values()])
    return found.spec, found.subprocess_specs, found.forms, found.tasks


def _engine_finding(exc: BaseException, where: str, file: str | None, zh: str, en: str,
                    index: dict[str, tuple[str, str | None, int | None]]) -> Finding:
    """A SpiffWorkflow failure as a finding: its element's id, name and line when it carries them
    (ValidationException does), else found by the id in our index of the files' elements."""
    element = getattr(exc, "id", None) or None
    name = getattr(exc, "name", None) or None
    line = getattr(exc, "line_number", None) or None
    if element is None and getattr(exc, "task_spec", None) is not None:
        element = getattr(exc.task_spec, "bpmn_id", None)  # type: ignore[attr-defined]
    if element in index:
        file_of, name_of, line_of = index[element]
        file, name, line = file or file_of, name or name_of, line or line_of
    message = str(exc.args[0]) if exc.args and isinstance(exc.args[0], str) else str(exc)
    message = _OBJECT_REPR.sub("", message).strip() or type(exc).__name__
    if not isinstance(exc, (ValidationException, SpiffWorkflowException)):
        message = f"{type(exc).__name__}: {message}"
    label = f"{name} ({element})" if name and element and name != element else (element or "")
    at_zh = f"（元素「{label}」）" if label else ""
    at_en = f" at {label}" if label else ""
    return Finding(where=where, zh=f"{zh}{at_zh}：{engine_message_zh(message)}", en=f"{en}{at_en}: {message}", file=file,
                   element=element, element_name=name, line=int(line) if str(line or "").isdigit() else None)


_OBJECT_REPR = re.compile(r"<Element [^>]* at 0x[0-9a-f]+>")
_MISSING_PROCESS = re.compile(r"The process '([^']*)' was not found")


class _NotExecutable(Exception):
    pass


def inspect_bundle(bundle: dict[str, dict[str, str]], process_id: str) -> Inspection:
    """Every check of a bundle in one pass, never raising for a bad file: every form, every DMN
    decision and every BPMN process (not only the case process and what it calls), with the
    sandbox compile of every script, condition and DMN cell, and the rules files drawn in other
    tools break. ``processes deploy`` (:func:`parse_bundle`) and the designer's check
    (app.designer.checks) both read this."""
    out = Inspection()
    add = out.findings.append
    parser = _BpmnParser()
    index: dict[str, tuple[str, str | None, int | None]] = {}  # element id → file, name, line
    for name, text in bundle.get("forms", {}).items():
        try:
            out.forms[name] = check_form(text)
        except (ValueError, SchemaError) as exc:
            detail = getattr(exc, "message", exc)
            add(Finding(f"forms/{name}", f"表单定义无效：{detail}", f"invalid form schema: {detail}", file=f"forms/{name}",
                        element=_form_field(exc)))
        except Exception as exc:  # noqa: BLE001 - reported, never a crash
            add(Finding(f"forms/{name}", f"表单无法读取：{type(exc).__name__}", f"invalid form schema: {type(exc).__name__}: {exc}",
                        file=f"forms/{name}"))
    from app.kpis.formulas import check_formulas
    for error in check_formulas(bundle.get("kpis", {}))[1]:  # the KPI formulas (rules/kpis/*.json)
        add(Finding(error.file, error.zh, error.en, file=error.file, element=error.field))
    for section, add_xml in (("rules", parser.add_dmn_xml), ("processes", parser.add_bpmn_xml)):
        for name, text in bundle.get(section, {}).items():
            file = f"{section}/{name}"
            try:
                root = parse_xml_safely(text, file)
            except BundleError as exc:
                out.findings.extend(exc.findings)
                continue
            for el in root.iter(etree.Element):
                element_id = el.get("id")
                if element_id and element_id not in index:
                    index[element_id] = (file, el.get("name") or el.get("label"), el.sourceline)
            bad = set(root.xpath("//@id")) & RESERVED_IDS
            if bad:
                add(Finding(file, f"元素编号 {sorted(bad)} 为引擎保留，请改名", f"element ids {sorted(bad)} are reserved by the engine",
                            file=file))
                continue
            xml_findings = check_dmn(root, file) if section == "rules" else check_bpmn(root, file, lane_role)
            out.findings.extend(xml_findings)
            if section == "rules":
                out.findings.extend(_check_dmn_cells(root, file))
                if any(f.severity == "error" and f.element == root.get("id") for f in xml_findings):
                    continue  # not a DMN file SpiffWorkflow could read
            try:
                add_xml(root, filename=name)
            except Exception as exc:  # noqa: BLE001 - ValidationException, or whatever an odd file raises
                out.findings.append(_engine_finding(exc, file, file, f"无法读取{'决策' if section == 'rules' else '流程'}",
                                                    f"cannot be read as {section[:-1]}", index))
    refused = {f.element for f in out.findings if f.severity == "error"}
    for decision_id, dmn_parser in list(parser.dmn_parsers.items()):
        if decision_id in refused:
            continue  # not a decision table: said so already
        try:
            dmn_parser.parse()
            DMNEngine(dmn_parser.decision.decisionTables[0])
        except Exception as exc:  # noqa: BLE001
            file = f"rules/{dmn_parser.filename}" if getattr(dmn_parser, "filename", None) else None
            out.findings.append(_engine_finding(exc, file or "rules", file, f"决策「{decision_id}」无法使用",
                                                f"decision {decision_id!r} cannot be used", index))
    specs: dict[str, BpmnProcessSpec] = {}
    process_file = {pid: f"processes/{p.filename}" for pid, p in parser.process_parsers.items()}
    called = {el.get("calledElement"): el.get("id")
              for pid, p in parser.process_parsers.items() for el in p.node.iter(f"{{{BPMN_NS}}}callActivity")}
    for pid, process_parser in list(parser.process_parsers.items()):
        file = process_file.get(pid)
        try:
            if not process_parser.process_executable:
                raise _NotExecutable()  # reported by check_bpmn
            specs[pid] = parser.get_spec(pid)
            parser.get_subprocess_specs(pid)  # every call activity's target exists and builds
        except _NotExecutable:
            pass
        except Exception as exc:  # noqa: BLE001 - ValidationException, KeyError, or whatever an odd diagram raises
            missing = _MISSING_PROCESS.search(str(exc))
            if missing and not getattr(exc, "id", None) and missing.group(1) in called:
                exc.id = called[missing.group(1)]  # type: ignore[attr-defined]  # the call activity, not the process
            out.findings.append(_engine_finding(exc, file or "processes", file, f"流程「{pid}」无法构建",
                                                f"cannot build process {pid!r}", index))
        if pid not in specs:
            out.findings.extend(check_user_tasks(process_parser.node, file or "processes", lane_role, out.forms, STAGES))
    if process_id not in parser.process_parsers:
        add(Finding("processes", f"找不到案件流程「{process_id}」（应有 id 为 {process_id} 的 bpmn:process）",
                    f"cannot build process {process_id!r}: no process with this id in processes/"))
    elif process_id in specs:
        try:
            out.spec, out.subprocess_specs = specs[process_id], parser.get_subprocess_specs(process_id)
        except Exception:  # noqa: BLE001 - reported above, for this process
            out.spec = None
    errors: dict[str, list[str]] = {}
    _check_specs(list(specs.values()), out.forms, errors)
    for where, messages in errors.items():
        spec_name, _sep, element = where.partition("/")
        file, name, line = index.get(element, (process_file.get(spec_name), None, None))
        for m in messages:
            zh, sep, en = m.partition(" / ")
            out.findings.append(Finding(where, zh if sep else _zh_task_problem(m), en if sep else m, file=file,
                                        element=element or None, element_name=name, line=line))
    # the task facts the host reads are those of the case process and what it calls (the same
    # element id in another process of the bundle must not replace one of them)
    out.tasks = _check_specs([out.spec, *out.subprocess_specs.values()], out.forms, {}) if out.spec is not None else {}
    return _deduplicated(out)


def _deduplicated(out: Inspection) -> Inspection:
    seen, kept = set(), []
    for f in out.findings:
        key = (f.file, f.element, f.en)
        if key not in seen:
            seen.add(key)
            kept.append(f)
    out.findings = kept
    return out


_TASK_PROBLEMS_ZH = (
    ("user task must sit in a lane named after a role", "人工任务必须放在以角色命名的泳道里，如「派遣员 (dispatcher)」"),
    ("missing property 'form'", "缺少属性「form」（任务用的表单）"),
    ("form file ", "属性「form」指向的表单在 forms/ 中不存在"),
    ("missing property 'unit'", "缺少属性「unit」（承办单位）"),
    ("property 'stage' must be one of", "属性「stage」必须是七步之一：" + "、".join(STAGES)),
    ("property 'unit' is not a valid expression", "属性「unit」不是有效的表达式"),
    ("property 'limit' is not a valid expression", "属性「limit」（时限）不是有效的表达式"),
    ("property 'sign_limit' is not a valid expression", "属性「sign_limit」（签收时限）不是有效的表达式"),
    ("script or condition refused", "脚本或条件被安全沙箱拒绝"),
)


def _zh_task_problem(message: str) -> str:
    for prefix, zh in _TASK_PROBLEMS_ZH:
        if message.startswith(prefix):
            detail = message.partition(": ")[2] if prefix.startswith(("script", "property '")) else ""
            return f"{zh}：{sandbox_message_zh(detail)}" if detail else zh
    return message



def _wire_loops(specs: list[BpmnProcessSpec]) -> None:
    """Connect every multi-instance or loop activity to the completion of its inner task.

    SpiffWorkflow's own deserializer does this when it rebuilds a spec; its parser leaves it to
    the first time the activity creates a child. Our specs are parsed once per process and shared
    by every case, so without this a worker that had not yet created a co-handling task would
    complete one without the multi-instance noticing: the case waited forever (the stuck case
    of issue 10). Wired here, the spec is complete before any case runs and never changes after.
    """
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, LoopTask):
                inner = spec.task_specs[task_spec.task_spec]
                if not inner.completed_event.is_connected(task_spec.merge_child):
                    inner.completed_event.connect(task_spec.merge_child)


def wiring(definition: LoadedDefinition) -> dict[str, Any]:
    """What every case of a version shares: each task spec's attributes (as SpiffWorkflow's stock
    serializer writes them) and the callbacks connected to its events. Running a case must never
    change it; tests compare it before and after running cases, and with a fresh parse."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    result: dict[str, Any] = {}
    for spec in [definition.spec, *definition.subprocess_specs.values()]:
        for name, task_spec in sorted(spec.task_specs.items()):
            events = {}
            for attr, value in sorted(vars(task_spec).items()):
                if isinstance(value, Event):
                    events[attr] = sorted(f"{getattr(getattr(cb, '__self__', None), 'name', '')}.{cb.__name__}"
                                          for cb, _args, _kw in (value.hard_subscribers or []))
            result[f"{spec.name}/{name}"] = {"spec": registry.convert(task_spec), "events": events}
    return result


def _check_specs(specs: list[BpmnProcessSpec], forms: dict[str, dict[str, Any]],
                 errors: dict[str, list[str]]) -> dict[str, TaskMeta]:
    tasks: dict[str, TaskMeta] = {}
    for spec in specs:
        loop = _endless_loop(spec)
        if loop:
            errors.setdefault(f"{spec.name}/{loop[0]}", []).append(
                f"流程在 {' → '.join(loop)} 间无限循环 / the flow loops through {' → '.join(loop)} without a user task, "
                "a catching event, a script or a condition: it cannot end")
        for ts in spec.task_specs.values():
            where = f"{spec.name}/{getattr(ts, 'bpmn_id', None) or ts.name}"
            try:
                _check_expressions(ts)
            except SyntaxError as exc:
                errors.setdefault(where, []).append(f"script or condition refused: {exc.msg}")
            if not getattr(ts, "manual", False):
                continue
            props = (getattr(ts, "extensions", None) or {}).get("properties", {})
            role = lane_role(ts.lane)
            problems = []
            if role is None:
                problems.append(f"user task must sit in a lane named after a role, e.g. '派遣员 (dispatcher)'; lane is {ts.lane!r}")
            form = props.get("form")
            if not form:
                problems.append("missing property 'form'")
            elif form not in forms:
                problems.append(f"form file {form!r} not found in forms/")
            if not props.get("unit"):
                problems.append("missing property 'unit'")
            stage = props.get("stage")
            if stage not in STAGES:
                problems.append(f"property 'stage' must be one of {', '.join(STAGES)}")
            for key in ("unit", "limit", "sign_limit"):
                if props.get(key):
                    try:
                        check_source(props[key], "expression")
                    except SyntaxError as exc:
                        problems.append(f"property {key!r} is not a valid expression: {exc.msg}")
            if problems:
                errors.setdefault(where, []).extend(problems)
                continue
            tasks[ts.bpmn_id] = TaskMeta(
                bpmn_id=ts.bpmn_id, name=ts.bpmn_name or ts.bpmn_id, role=role or "", lane=ts.lane or "",
                form=form, unit_expr=props["unit"], limit_expr=props.get("limit") or None, stage=stage,
                documentation=getattr(ts, "documentation", None), sign_limit_expr=props.get("sign_limit") or None,
                unit_variable=props["unit"].strip() if props["unit"].strip().isidentifier() else None)
    return tasks


def _stops(ts: Any) -> bool:
    """Whether the engine waits or evaluates something at this element: each evaluation checks
    the engine step's time budget, so a loop through one cannot run for ever."""
    if getattr(ts, "manual", False) or isinstance(ts, (CatchingEvent, ScriptEngineTask, SubWorkflowTask,
                                                        BusinessRuleTaskMixin)):
        return True
    if getattr(ts, "prescript", None) or getattr(ts, "postscript", None):
        return True
    return any(cond is not None for cond, _name in getattr(ts, "cond_task_specs", []) or [])


def _endless_loop(spec: BpmnProcessSpec) -> list[str] | None:
    """A cycle of elements that neither wait nor evaluate (throw events, gateways without
    conditions): SpiffWorkflow cannot run it (its look-ahead recurses until RecursionError), and
    no time budget applies to it. Its element ids, or None."""
    names = {name: ts for name, ts in spec.task_specs.items() if not _stops(ts)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in names:
        if state.get(root):
            continue
        path, stack = [root], [iter(names[root].outputs)]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if nxt.name not in names:
                continue
            if state.get(nxt.name) == 1:
                cycle = path[path.index(nxt.name):] + [nxt.name]
                return [getattr(names[n], "bpmn_id", None) or n for n in cycle]
            if not state.get(nxt.name):
                state[nxt.name] = 1
                path.append(nxt.name)
                stack.append(iter(nxt.outputs))
    return None


def _check_expressions(ts: Any) -> None:
    """Compile every script and condition of a task spec under the sandbox, at deploy time."""
    for attr in ("script", "prescript", "postscript"):
        source = getattr(ts, attr, None)
        if source:
            check_source(source, "script")
    event = getattr(ts, "event_definition", None)
    if event is not None and getattr(event, "expression", None) and isinstance(event.expression, str):
        check_source(event.expression, "expression")  # timer dates/durations, message payloads
    for cond, _name in getattr(ts, "cond_task_specs", []) or []:
        if cond is not None and getattr(cond, "args", None):
            check_source(cond.args[0], "expression")


# ---------------------------------------------------------------------------- deploy & cache

def deploy(bundle: dict[str, dict[str, str]], process_id: str, actor: str | None = None) -> tuple[ProcessDefinition, bool]:
    """Store the bundle as a new version of ``process_id`` unless that content is deployed already.
    A new version becomes the active one (new cases start on it); content deployed already
    changes nothing, so redeploying the files does not undo a rollback (:func:`activate`)."""
    digest = bundle_hash(bundle)
    existing = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == process_id, ProcessDefinition.content_hash == digest))
    if existing is not None:
        return existing, False
    spec, _subs, _forms, _tasks = parse_bundle(bundle, process_id)
    latest = session.scalar(select(func.max(ProcessDefinition.version)).where(
        ProcessDefinition.process_id == process_id)) or 0
    definition = ProcessDefinition(
        process_id=process_id, name=spec.description or process_id, version=latest + 1,
        content_hash=digest, bundle=json.dumps(bundle, ensure_ascii=False), deployed_by=actor)
    session.add(definition)
    session.flush()
    activate(definition, actor)
    return definition, True


def activate(definition: ProcessDefinition, actor: str | None = None) -> None:
    """Make ``definition`` the version new cases of its process start on (a rollback when older)."""
    row = session.get(ActiveVersion, definition.process_id)
    if row is None:
        session.add(ActiveVersion(process_id=definition.process_id, definition_id=definition.id, activated_by=actor))
    else:
        row.definition_id, row.activated_at, row.activated_by = definition.id, utcnow(), actor
    session.flush()
    _latest.pop(definition.process_id, None)


_cache: dict[int, LoadedDefinition] = {}
_cache_lock = threading.Lock()


def load_definition(definition_id: int) -> LoadedDefinition:
    """The parsed definition of a stored version, parsed at most once per process."""
    loaded = _cache.get(definition_id)
    if loaded is not None:
        return loaded
    with _cache_lock:
        loaded = _cache.get(definition_id)
        if loaded is None:
            loaded = _cache[definition_id] = parse_definition(definition_id)
    return loaded


def parse_definition(definition_id: int) -> LoadedDefinition:
    """Parse a stored version (not cached: :func:`load_definition` is the shared copy)."""
    row = session.get(ProcessDefinition, definition_id)
    if row is None:
        raise LookupError(f"process definition {definition_id} does not exist")
    spec, subs, forms, tasks = parse_bundle(json.loads(row.bundle), row.process_id)
    return LoadedDefinition(id=row.id, process_id=row.process_id, version=row.version, spec=spec,
                            subprocess_specs=subs, forms=forms, tasks=tasks)


LATEST_TTL = 5.0
_latest: dict[str, tuple[float, int]] = {}


def latest_definition_id(process_id: str) -> int | None:
    """Id of the active version of a process (:func:`activate`; without one, the newest). Looked
    up at most every LATEST_TTL seconds per process, so a deploy or an activation made by another
    process is picked up by new cases within that time."""
    now = time.monotonic()
    hit = _latest.get(process_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = active_definition_id(process_id)
    if found is not None:
        _latest[process_id] = (now + LATEST_TTL, found)
    return found


def active_definition_id(process_id: str) -> int | None:
    """Id of the active version of a process, read now (not cached)."""
    found = session.scalar(select(ActiveVersion.definition_id).where(ActiveVersion.process_id == process_id))
    if found is None:
        found = session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_id == process_id)
                               .order_by(ProcessDefinition.version.desc()).limit(1))
    return found
