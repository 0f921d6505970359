"""Small BPMN bundles built in tests: one lane, user tasks with forms, a script or a gateway."""
from __future__ import annotations

import json

FORM = json.dumps({"type": "object", "properties": {"note": {"type": "string"}, "divisor": {"type": "integer"}}})

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_{pid}" targetNamespace="http://tongguan.test">
  <bpmn:collaboration id="collab_{pid}"><bpmn:participant id="pool_{pid}" processRef="{pid}"/></bpmn:collaboration>
  <bpmn:process id="{pid}" name="{pid}" isExecutable="true">
    <bpmn:laneSet id="lanes_{pid}"><bpmn:lane id="lane_{pid}" name="派遣员 (dispatcher)">{refs}</bpmn:lane></bpmn:laneSet>
"""


def user_task(tid: str, name: str, unit: str = "dispatch_unit", limit: str | None = "'1h'") -> str:
    limit_prop = f'<spiffworkflow:property name="limit" value="{limit}"/>' if limit else ""
    return f"""<bpmn:userTask id="{tid}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="form" value="f.json"/><spiffworkflow:property name="unit" value="{unit}"/>
      {limit_prop}<spiffworkflow:property name="stage" value="verify"/></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>"""


def linear(pid: str, *, script: str | None = None, unit_of_first: str = "dispatch_unit", second_name: str = "第二步") -> str:
    """start → t1 → [script] → t2 → end."""
    nodes = ["ev_start", "t1", "t2", "ev_end"] + (["s1"] if script else [])
    body = ['<bpmn:startEvent id="ev_start"/>', user_task("t1", "第一步", unit_of_first), user_task("t2", second_name),
            '<bpmn:endEvent id="ev_end"/>']
    chain = ["ev_start", "t1"] + (["s1"] if script else []) + ["t2", "ev_end"]
    if script:
        body.append(f'<bpmn:scriptTask id="s1" name="脚本"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(zip(chain, chain[1:]))]
    return _wrap(pid, nodes, body + flows)


def gateway(pid: str, condition: str) -> str:
    """start → t1 → gateway (condition → t2, default → end)."""
    nodes = ["ev_start", "t1", "gw", "t2", "ev_end", "ev_end2"]
    body = ['<bpmn:startEvent id="ev_start"/>', user_task("t1", "第一步"), '<bpmn:exclusiveGateway id="gw" default="f_default"/>',
            user_task("t2", "条件分支"), '<bpmn:endEvent id="ev_end"/>', '<bpmn:endEvent id="ev_end2"/>',
            '<bpmn:sequenceFlow id="f0" sourceRef="ev_start" targetRef="t1"/>',
            '<bpmn:sequenceFlow id="f1" sourceRef="t1" targetRef="gw"/>',
            f'<bpmn:sequenceFlow id="f_cond" sourceRef="gw" targetRef="t2"><bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>',
            '<bpmn:sequenceFlow id="f_default" sourceRef="gw" targetRef="ev_end2"/>',
            '<bpmn:sequenceFlow id="f3" sourceRef="t2" targetRef="ev_end"/>']
    return _wrap(pid, nodes, body)


def _wrap(pid: str, nodes: list[str], body: list[str]) -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
    return HEADER.format(pid=pid, refs=refs) + "\n".join(body) + "\n  </bpmn:process>\n</bpmn:definitions>\n"


def bundle(pid: str, xml: str) -> dict[str, dict[str, str]]:
    return {"processes": {f"{pid}.bpmn": xml}, "rules": {}, "forms": {"f.json": FORM}}


def waits_for_message(pid: str) -> str:
    """start → t1 → a message catch event nothing sends → t2 → end: after t1 the case can go no further."""
    nodes = ["ev_start", "t1", "wait", "t2", "ev_end"]
    body = ['<bpmn:startEvent id="ev_start"/>', user_task("t1", "第一步"),
            f'<bpmn:intermediateCatchEvent id="wait" name="等待外部消息"><bpmn:messageEventDefinition id="md_{pid}" '
            f'messageRef="msg_{pid}"/></bpmn:intermediateCatchEvent>',
            user_task("t2", "第二步"), '<bpmn:endEvent id="ev_end"/>']
    chain = ["ev_start", "t1", "wait", "t2", "ev_end"]
    body += [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(zip(chain, chain[1:]))]
    xml = _wrap(pid, nodes, body)
    return xml.replace("\n</bpmn:definitions>", f'\n  <bpmn:message id="msg_{pid}" name="never_sent"/>\n</bpmn:definitions>')


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_{did}" name="{did}" namespace="http://tongguan.test/dmn">
  <decision id="{did}" name="{did}">
    <decisionTable id="table_{did}" hitPolicy="FIRST">
      <input id="in_{did}" label="note"><inputExpression id="in_expr_{did}" typeRef="string"><text>note</text></inputExpression></input>
      <output id="out_{did}" label="result" name="result" typeRef="string"/>
      <rule id="r1_{did}"><inputEntry id="r1_in_{did}"><text>{cell}</text></inputEntry><outputEntry id="r1_out_{did}"><text>{output}</text></outputEntry></rule>
      <rule id="r2_{did}"><inputEntry id="r2_in_{did}"><text>-</text></inputEntry><outputEntry id="r2_out_{did}"><text>'other'</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def with_rule(pid: str, cell: str, output: str = "'matched'") -> dict[str, dict[str, str]]:
    """start → t1 → business rule task ``rule`` (a one-input DMN table with ``cell``) → t2 → end."""
    did = f"d_{pid}"
    xml = linear(pid, script="x = 1").replace(
        '<bpmn:scriptTask id="s1" name="脚本"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
        f'<bpmn:businessRuleTask id="rule" name="规则"><bpmn:extensionElements><spiffworkflow:calledDecisionId>{did}'
        '</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>')
    xml = xml.replace('"s1"', '"rule"').replace(">s1<", ">rule<")
    return {"processes": {f"{pid}.bpmn": xml}, "rules": {f"{did}.dmn": DMN.format(did=did, cell=cell, output=output)},
            "forms": {"f.json": FORM}}
