"""Checks read from a bundle file's XML, before (and beside) SpiffWorkflow's parser.

They find what a file drawn in another tool (Camunda Modeler 7/8, Signavio, Trisotech, bpmn.io)
lacks to run here, element by element: Camunda/JUEL ``${…}`` and FEEL expressions, script
languages other than Python, elements SpiffWorkflow ignores, lanes that name no role, and every
DMN cell, input expression and output compiled under the restricted-Python sandbox (compiled,
never run). Each finding names its file, element id, element name and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from app.engine.sandbox import check_source

Severity = str  # "error" | "warning"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20100524/MODEL/": "1.0",  # the 1.1 namespace some tools write
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
}
#: hit policies SpiffWorkflow's DMN engine runs (UNIQUE is really "first match")
HIT_POLICIES = {"UNIQUE", "FIRST", "COLLECT"}

#: BPMN flow elements SpiffWorkflow 3.2 (Spiff parser) builds; others in a process are dropped
SUPPORTED_FLOW_NODES = {
    "adHocSubProcess", "boundaryEvent", "businessRuleTask", "callActivity", "endEvent", "eventBasedGateway",
    "exclusiveGateway", "inclusiveGateway", "intermediateCatchEvent", "intermediateThrowEvent", "manualTask",
    "parallelGateway", "receiveTask", "scriptTask", "sendTask", "serviceTask", "startEvent", "subProcess", "task",
    "transaction", "userTask"}
#: other children of a process that carry no behaviour (kept with the diagram, nothing to run)
HARMLESS = {"sequenceFlow", "laneSet", "lane", "flowNodeRef", "childLaneSet", "documentation", "extensionElements",
            "incoming", "outgoing", "conditionExpression", "dataObject", "dataObjectReference", "dataStoreReference",
            "textAnnotation", "association", "text", "property", "ioSpecification", "dataInput", "dataOutput",
            "inputSet", "outputSet", "dataInputAssociation", "dataOutputAssociation", "sourceRef", "targetRef",
            "group", "category", "categoryValue", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
            "loopCardinality", "completionCondition", "loopDataInputRef", "loopDataOutputRef", "inputDataItem",
            "outputDataItem", "script", "timerEventDefinition", "timeDate", "timeDuration", "timeCycle",
            "messageEventDefinition", "signalEventDefinition", "errorEventDefinition", "escalationEventDefinition",
            "terminateEventDefinition", "conditionalEventDefinition", "condition", "cancelEventDefinition",
            "compensateEventDefinition", "linkEventDefinition", "transformation", "assignment", "from", "to",
            "loopCondition", "messageFlowRef", "humanPerformer", "potentialOwner", "resourceAssignmentExpression",
            "formalExpression", "operationRef", "dataState", "dataStore"}
UNSUPPORTED_ZH = {
    "complexGateway": "复杂网关", "choreographyTask": "编排任务", "subChoreography": "子编排",
    "callChoreography": "调用编排", "implicitThrowEvent": "隐式抛出事件",
}

_JUEL = re.compile(r"[$#]\{")
_FEEL_RANGE = re.compile(r"^\s*[\[\](]\s*[^\[\]()]*\.\.[^\[\]()]*[\[\])]\s*$")
#: FEEL that is valid Python too (``date and time("…")`` is ``date and time(…)``): refused even so
_FEEL_ONLY = re.compile(r"\b(date and time|years and months duration|days and time duration)\s*\(|^\s*duration\s*\(")
#: FEEL words that are a Python syntax error anyway: only a hint in the message
_FEEL_WORDS = re.compile(r"\b(some|every)\s+\w+\s+in\b|\bthen\b|\bnull\b|\bdate\s*\(|\btime\s*\(")
_PY_SCRIPT_FORMATS = {"", "python", "python3", "text/python", "text/x-python", "application/x-python"}


@dataclass(frozen=True)
class Finding:
    """One problem found in a bundle: ``where`` is the key :class:`BundleError` groups it under
    (a file such as ``processes/x.bpmn``, or ``<process id>/<element id>``)."""

    where: str
    zh: str
    en: str
    severity: Severity = "error"
    file: str | None = None
    element: str | None = None
    element_name: str | None = None
    line: int | None = None

    @property
    def text(self) -> str:
        return f"{self.zh} / {self.en}" if self.zh and self.zh != self.en else self.en


def local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def ns(tag: Any) -> str:
    return etree.QName(tag).namespace or "" if isinstance(tag, str) else ""


def _finding(file: str, el: etree._Element | None, zh: str, en: str, severity: Severity = "error") -> Finding:
    element = el.get("id") if el is not None else None
    return Finding(where=file, zh=zh, en=en, severity=severity, file=file, element=element,
                   element_name=(el.get("name") or el.get("label")) if el is not None else None,
                   line=el.sourceline if el is not None else None)


def feel_hint(text: str) -> tuple[str, str, bool]:
    """A hint when an expression looks like FEEL or JUEL, which do not run here, and whether it
    is certainly not meant as Python (then it is refused even when Python could compile it)."""
    if _JUEL.search(text):
        return ("这是 Camunda 的 ${…} 表达式，此处只支持 Python 表达式，如 amount > 100",
                "a Camunda ${…} (JUEL) expression; only Python expressions run here, e.g. amount > 100", True)
    if _FEEL_RANGE.match(text):
        return ("这是 FEEL 区间写法，请改写为 Python，如 1 <= ? <= 3",
                "a FEEL range; write it in Python, e.g. 1 <= ? <= 3", True)
    if text.lstrip().startswith("=") or _FEEL_ONLY.search(text):
        return ("这是 FEEL 表达式，此处只支持 Python 表达式", "a FEEL expression; only Python expressions run here", True)
    if _FEEL_WORDS.search(text):
        return ("看起来是 FEEL 表达式，此处只支持 Python 表达式", "looks like FEEL; only Python expressions run here", False)
    return "", "", False


def compile_problem(source: str, kind: str) -> str | None:
    """The sandbox's refusal of ``source`` (compiled, never run), or None."""
    try:
        check_source(source, kind)
    except SyntaxError as exc:
        return str(exc.msg)
    return None


# ---------------------------------------------------------------------------- BPMN

def check_bpmn(root: etree._Element, file: str, role_of: Any) -> list[Finding]:
    """What a BPMN file lacks to run here, element by element (see the module's docstring)."""
    found: list[Finding] = []
    if ns(root.tag) != BPMN_NS or local(root.tag) != "definitions":
        return [_finding(file, root, "这不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）",
                         f"not a BPMN 2.0 file: the root element is {local(root.tag) or root.tag!r}, "
                         "not definitions of the BPMN 2.0 namespace")]
    processes = root.findall(f"{{{BPMN_NS}}}process")
    if not processes:
        found.append(_finding(file, root, "文件中没有流程（bpmn:process）", "the file contains no process"))
    for process in processes:
        if process.get("isExecutable", "true").lower() == "false":
            found.append(_finding(file, process, "流程标记为不可执行（isExecutable=false），请在属性中改为可执行",
                                  "the process is marked isExecutable=false: the engine cannot run it; mark it executable"))
        for el in process.iter():
            name = local(el.tag)
            if not name or ns(el.tag) != BPMN_NS or el is process:
                continue
            if name not in SUPPORTED_FLOW_NODES and name not in HARMLESS:
                zh = UNSUPPORTED_ZH.get(name, name)
                found.append(_finding(file, el, f"不支持的元素「{zh}」，运行时会被忽略或出错，请改用支持的元素",
                                      f"unsupported element {name}: the engine ignores it or fails on it", "error"))
            elif name == "lane":
                if el.find(f"{{{BPMN_NS}}}childLaneSet") is None and role_of(el.get("name")) is None:
                    found.append(_finding(
                        file, el, f"泳道「{el.get('name') or ''}」没有对应的角色，请命名为如「派遣员 (dispatcher)」",
                        f"lane {el.get('name')!r} names no role; name it after one, e.g. '派遣员 (dispatcher)'", "warning"))
            elif name in ("conditionExpression", "condition", "completionCondition", "loopCondition", "timeDate",
                          "timeDuration", "timeCycle"):
                found.extend(_expression(file, el))
            elif name == "scriptTask":
                fmt = (el.get("scriptFormat") or "").strip().lower()
                if fmt not in _PY_SCRIPT_FORMATS:
                    found.append(_finding(file, el, f"脚本语言「{el.get('scriptFormat')}」不受支持，只能用 Python",
                                          f"script language {el.get('scriptFormat')!r} is not supported; only Python runs here"))
                if el.find(f"{{{BPMN_NS}}}script") is None and not el.get("{http://camunda.org/schema/1.0/bpmn}resource"):
                    found.append(_finding(file, el, "脚本任务没有脚本内容", "the script task has no script", "warning"))
                elif el.get("{http://camunda.org/schema/1.0/bpmn}resource"):
                    found.append(_finding(file, el, "脚本放在外部文件中（camunda:resource），此处无法读取，请写在任务内",
                                          "the script is an external resource (camunda:resource); write it inside the task"))
            elif name == "serviceTask" and (el.get("{http://camunda.org/schema/1.0/bpmn}class")
                                            or el.get("{http://camunda.org/schema/1.0/bpmn}delegateExpression")
                                            or el.get("{http://camunda.org/schema/1.0/bpmn}expression")
                                            or el.get("{http://camunda.org/schema/1.0/bpmn}type")
                                            or el.find(".//{http://camunda.org/schema/zeebe/1.0}taskDefinition") is not None):
                found.append(_finding(file, el, "服务任务调用的是 Camunda 的 Java 类或外部作业，此处无法执行",
                                      "the service task calls a Camunda Java class, expression or external job worker, "
                                      "which does not exist here"))
            elif name == "userTask":
                form_key = (el.get("{http://camunda.org/schema/1.0/bpmn}formKey")
                            or (el.find(".//{http://camunda.org/schema/zeebe/1.0}formDefinition") is not None and "zeebe"))
                if form_key:
                    found.append(_finding(file, el, "任务用的是 Camunda 表单，请在属性「form」中选择本系统 forms/ 里的表单",
                                          f"the task uses a Camunda form ({form_key}); choose a form of forms/ "
                                          "in its property 'form'", "warning"))
    return found


def _expression(file: str, el: etree._Element) -> list[Finding]:
    text = (el.text or "").strip()
    owner = el.getparent()
    while owner is not None and (not owner.get("id") or local(owner.tag).endswith("EventDefinition")):
        owner = owner.getparent()  # the flow, event or activity the designer sees on the diagram
    if local(el.tag) in ("timeDate", "timeDuration", "timeCycle") and _ISO_TIMER.match(text):
        return [_finding(file, owner if owner is not None else el,
                         f"定时「{text[:80]}」须写成带引号的字符串，如 '{text.strip()[:40]}'，或用 deadline(...)",
                         f"timer {text[:80]!r} is a bare ISO 8601 value (Camunda style); timers are Python "
                         f"expressions here: quote it, '{text.strip()[:40]}', or use deadline(...)")]
    zh, en, certain = feel_hint(text)
    if certain:  # a Python condition is compiled in the sandbox when the engine has built the process
        return [_finding(file, owner if owner is not None else el, f"表达式「{text[:80]}」无法运行：{zh}",
                         f"expression {text[:80]!r} cannot run: {en}")]
    return []


# ---------------------------------------------------------------------------- DMN

def check_dmn(root: etree._Element, file: str) -> list[Finding]:
    """A DMN file as SpiffWorkflow's engine would run it: one decision table per decision, a hit
    policy it knows, every cell, input expression and output compiled in the sandbox."""
    dmn_ns = ns(root.tag)
    if local(root.tag) != "definitions" or dmn_ns not in DMN_NAMESPACES:
        return [_finding(file, root, "这不是受支持的 DMN 文件（需 DMN 1.1–1.3 的 definitions 根元素）",
                         f"not a supported DMN file: root {local(root.tag)!r} in namespace {dmn_ns!r} "
                         "(DMN 1.1, 1.2 or 1.3 expected)")]
    decisions = root.findall(f"{{{dmn_ns}}}decision")
    if not decisions:
        return [_finding(file, root, "DMN 文件中没有决策（decision）", "the DMN file contains no decision")]
    found: list[Finding] = []
    for decision in decisions:
        tables = decision.findall(f"{{{dmn_ns}}}decisionTable")
        if not tables:
            kind = next((local(c.tag) for c in decision if local(c.tag) not in ("description", "extensionElements",
                                                                                 "informationRequirement", "variable",
                                                                                 "authorityRequirement",
                                                                                 "knowledgeRequirement", "question",
                                                                                 "allowedAnswers")), "")
            found.append(_finding(file, decision, f"决策「{decision.get('name') or decision.get('id')}」不是决策表"
                                  f"{'（' + kind + '）' if kind else ''}，此处只支持决策表",
                                  f"decision {decision.get('id')!r} is not a decision table"
                                  f"{' (' + kind + ')' if kind else ''}; only decision tables run here"))
            continue
        if len(tables) > 1:
            found.append(_finding(file, tables[1], "一个决策只使用第一张决策表，其余的被忽略",
                                  "only the first decision table of a decision is used", "warning"))
        table = tables[0]
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in HIT_POLICIES:
            found.append(_finding(file, table, f"命中策略「{policy}」不受支持，只能用 UNIQUE、FIRST 或 COLLECT",
                                  f"hit policy {policy} is not supported; use UNIQUE, FIRST or COLLECT"))
        if (table.get("aggregation") or "").strip():
            found.append(_finding(file, table, "COLLECT 的聚合（SUM、COUNT 等）不受支持",
                                  f"aggregation {table.get('aggregation')} is not supported", "error"))
        found.extend(_dmn_cells(table, file, dmn_ns))
    return found


def _dmn_cells(table: etree._Element, file: str, dmn_ns: str) -> list[Finding]:
    found: list[Finding] = []
    q = f"{{{dmn_ns}}}"
    for inp in table.findall(f"{q}input"):
        expr = inp.find(f"{q}inputExpression/{q}text")
        if expr is None or not (expr.text or "").strip():
            found.append(_finding(file, inp, f"输入列「{inp.get('label') or inp.get('id')}」没有输入表达式",
                                  "the input column has no input expression"))
            continue
        found.extend(_cell(file, inp, expr.text or "", "input", "输入表达式", "input expression"))
    for rule in table.findall(f"{q}rule"):
        for entry in rule.findall(f"{q}inputEntry"):
            found.extend(_cell(file, entry, _text(entry, q), "entry", "条件单元格", "input cell"))
        for entry in rule.findall(f"{q}outputEntry"):
            found.extend(_cell(file, entry, _text(entry, q), "output", "输出单元格", "output cell"))
    return found


def _text(entry: etree._Element, q: str) -> str:
    t = entry.find(f"{q}text")
    return (t.text or "") if t is not None else ""


def _cell(file: str, el: etree._Element, text: str, kind: str, zh_kind: str, en_kind: str) -> list[Finding]:
    """One DMN cell, compiled as SpiffWorkflow's engine would build its expression from it."""
    text = text.strip()
    if kind == "entry" and text in ("", "-"):
        return []
    if kind == "output" and not text:
        return []
    if kind == "entry":
        source = re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", text)
        if "dmninputexpr" in source:
            problem = compile_problem(source, "expression")
        else:
            problem = compile_problem(text, "expression")
            if problem is not None and compile_problem(f"v {text}", "expression") is None:
                problem = None  # "< 5", "in ('a', 'b')": the engine puts the input in front
    else:
        problem = compile_problem(text, "expression")
    zh, en, certain = feel_hint(text)
    if problem is None and not certain:
        return []
    problem = problem or en
    shown = text if len(text) <= 80 else text[:77] + "..."
    return [_finding(file, el, f"{zh_kind}「{shown}」无法使用：{zh or sandbox_message_zh(problem)}",
                     f"{en_kind} {shown!r} refused: {en or problem}")]


# ---------------------------------------------------------------------------- engine messages in Chinese

_ENGINE_ZH = (
    (re.compile(r'No DMN Diagram available with id "([^"]*)"'), r"找不到编号为「\1」的决策（rules/ 中没有这个决策表）"),
    (re.compile(r"A Service Task must have an operator"), "服务任务没有设置要调用的服务（operator），此处无法执行"),
    (re.compile(r"The process '([^']*)' was not found"), r"调用的流程「\1」在 processes/ 中不存在"),
    (re.compile(r"Cannot resolve data(Output|Input)Association"), "数据关联指向的数据对象不存在，请检查数据对象连线"),
    (re.compile(r"Duplicate process ID: (\S+)"), r"流程编号「\1」重复：两个流程不能用同一个编号"),
    (re.compile(r"Multiple (start|end) events?"), "开始或结束事件过多"),
    (re.compile(r"No start event"), "流程没有开始事件"),
    (re.compile(r"(Invalid|Unknown) (task|element) type|Unsupported"), "元素类型不受支持"),
    (re.compile(r"has no (incoming|outgoing)"), "元素缺少连线"),
    (re.compile(r"IndexError|list index out of range"), "文件结构不完整（缺少必需的元素，例如 DMN 的 decision 或 decisionTable）"),
    (re.compile(r"AttributeError"), "文件结构与本系统支持的格式不符"),
    (re.compile(r"[Ss]yntax|invalid syntax"), "表达式有语法错误"),
)


def engine_message_zh(message: str) -> str:
    """Plain Chinese for an engine message a designer cannot read; the English stays beside it."""
    for pattern, zh in _ENGINE_ZH:
        m = pattern.search(message)
        if m:
            return m.expand(zh)
    return "引擎无法处理此处（详见英文说明）"


# ---------------------------------------------------------------------------- user tasks, read from the XML

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def check_user_tasks(process: etree._Element, file: str, role_of: Any, forms: Any, stages: tuple[str, ...]) -> list[Finding]:
    """Tongguan's conventions for every user task of a process the engine could not build (so
    its task specs do not exist): one problem per missing lane role, form, unit or stage, so a
    foreign file lists them all at once instead of after the engine errors are fixed."""
    lane_of: dict[str, str | None] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            lane_of[(ref.text or "").strip()] = lane.get("name")
    found = []
    for task in process.iter(f"{{{BPMN_NS}}}userTask"):
        props = {p.get("name"): p.get("value") for p in task.iter(f"{{{SPIFF_NS}}}property")}
        lane = lane_of.get(task.get("id") or "")
        if role_of(lane) is None:
            found.append(_finding(file, task, "人工任务必须放在以角色命名的泳道里，如「派遣员 (dispatcher)」",
                                  f"user task must sit in a lane named after a role, e.g. '派遣员 (dispatcher)'; lane is {lane!r}"))
        form = props.get("form")
        if not form:
            found.append(_finding(file, task, "缺少属性「form」（任务用的表单）", "missing property 'form'"))
        elif form not in forms:
            found.append(_finding(file, task, "属性「form」指向的表单在 forms/ 中不存在", f"form file {form!r} not found in forms/"))
        if not props.get("unit"):
            found.append(_finding(file, task, "缺少属性「unit」（承办单位）", "missing property 'unit'"))
        if props.get("stage") not in stages:
            found.append(_finding(file, task, "属性「stage」必须是七步之一：" + "、".join(stages),
                                  f"property 'stage' must be one of {', '.join(stages)}"))
    return found


_SANDBOX_ZH = (
    (re.compile(r'"([^"]+)" is an invalid (variable|attribute) name because it starts with "_"'),
     r"出于安全原因，名称不能以下划线开头（「\1」）"),
    (re.compile(r"SyntaxError|invalid syntax|was never closed|unexpected EOF|unmatched"), "语法错误：请检查括号、引号和运算符"),
    (re.compile(r"(Exec|Eval) calls are not allowed"), "出于安全原因，不允许使用 exec/eval"),
    (re.compile(r"nested too deeply"), "代码嵌套太深，无法编译"),
    (re.compile(r"outside function"), "yield/return 只能写在函数里"),
    (re.compile(r"not allowed"), "出于安全原因，不允许这样写"),
)


def sandbox_message_zh(message: str) -> str:
    """Plain Chinese for the sandbox's refusal of a script or expression."""
    for pattern, zh in _SANDBOX_ZH:
        m = pattern.search(message)
        if m:
            return m.expand(zh)
    return "不是有效的受限 Python 代码"


_ISO_TIMER = re.compile(r"^\s*(P(\d|T)|R\d*/|\d{4}-\d{2}-\d{2}T)[^'\"]*$")
