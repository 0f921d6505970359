"""What a draft changes against the deployed bundle (差异对比), element by element.

Compared on the files themselves, not on parsed specs, so that a draft that does not parse yet
(or a foreign file) still gets its diff, and so that every id is one the modeler has on its
diagram: BPMN flow elements and lanes per process, DMN decisions, inputs, outputs and rules, and
the fields of JSON Schema forms. An element counts as changed when one of the things that decide
how a case runs differs: its type, name, lane (→ role), the Tongguan task properties (form, unit,
limit, sign_limit, stage), scripts, conditions, timers, called process or decision, where a flow
goes, what a boundary event is attached to; layout alone (the diagram's DI) never does.

(SpiffWorkflow's ``SpecDiff`` compares parsed task specs to migrate running workflows; it needs
both versions to parse and names internal specs a designer never sees. The migration of running
cases uses it; this diff is for the person drawing.)
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lxml import etree

from app.engine.definitions import BundleError, lane_role, parse_xml_safely

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SECTIONS = ("processes", "rules", "forms")
#: BPMN elements inside a process that are not flow elements of their own
_NOT_ELEMENTS = {"laneSet", "lane", "extensionElements", "documentation", "incoming", "outgoing", "ioSpecification",
                 "dataInputAssociation", "dataOutputAssociation", "multiInstanceLoopCharacteristics",
                 "standardLoopCharacteristics", "conditionExpression", "script", "flowNodeRef", "textAnnotation",
                 "association", "property"}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = (el.text or "").strip()
    return text or None


def _child(el: etree._Element, name: str) -> etree._Element | None:
    for c in el:
        if _local(c) == name:
            return c
    return None


# ---------------------------------------------------------------------------- BPMN

def _bpmn_facts(el: etree._Element, lanes: Mapping[str, str]) -> dict[str, Any]:
    """What matters of one flow element (the fields a change is reported in)."""
    facts: dict[str, Any] = {"type": _local(el), "name": el.get("name")}
    eid = el.get("id") or ""
    if eid in lanes:
        facts["lane"] = lanes[eid]
        facts["role"] = lane_role(lanes[eid])
    ext = _child(el, "extensionElements")
    if ext is not None:
        for prop in ext.iter(f"{{{SPIFF_NS}}}property"):
            if prop.get("name"):
                facts[f"property:{prop.get('name')}"] = prop.get("value")
        for tag in ("preScript", "postScript", "calledDecisionId", "instructionsForEndUser"):
            found = next(ext.iter(f"{{{SPIFF_NS}}}{tag}"), None)
            if found is not None:
                facts[tag] = _text(found)
    script = _child(el, "script")
    if script is not None:
        facts["script"] = _text(script)
    condition = _child(el, "conditionExpression")
    if condition is not None:
        facts["condition"] = _text(condition)
    for attr in ("sourceRef", "targetRef", "default", "attachedToRef", "cancelActivity", "calledElement"):
        if el.get(attr) is not None:
            facts[attr] = el.get(attr)
    for definition in el:
        kind = _local(definition)
        if not kind.endswith("EventDefinition"):
            continue
        facts["event"] = kind
        for tag in ("timeDate", "timeDuration", "timeCycle"):
            found = _child(definition, tag)
            if found is not None:
                facts["timer"] = f"{tag}: {_text(found)}"
        for attr in ("signalRef", "messageRef", "errorRef", "escalationRef"):
            if definition.get(attr):
                facts[attr] = definition.get(attr)
    loop = _child(el, "multiInstanceLoopCharacteristics")
    if loop is not None:
        facts["multi_instance"] = " ".join(f"{k}={v}" for k, v in sorted(loop.attrib.items())) or "yes"
    return facts


def _bpmn_elements(root: etree._Element) -> dict[str, dict[str, dict[str, Any]]]:
    """Process id → element id → facts (sub-processes' contents included, under their process)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for process in root.iter("{*}process"):
        pid = process.get("id") or ""
        lanes: dict[str, str] = {}
        elements: dict[str, dict[str, Any]] = {}
        for lane in process.iter("{*}lane"):
            lane_name = lane.get("name") or lane.get("id") or ""
            elements[lane.get("id") or lane_name] = {"type": "lane", "name": lane.get("name"),
                                                     "role": lane_role(lane.get("name"))}
            for ref in lane:
                if _local(ref) == "flowNodeRef" and ref.text:
                    lanes[ref.text.strip()] = lane_name
        stack = list(process)
        while stack:
            el = stack.pop()
            kind = _local(el)
            if not kind or kind in _NOT_ELEMENTS or not el.get("id"):
                continue
            elements[el.get("id")] = _bpmn_facts(el, lanes)
            if kind in ("subProcess", "transaction", "adHocSubProcess"):
                stack.extend(el)
        out[pid] = elements
    return out


# ---------------------------------------------------------------------------- DMN

def _dmn_elements(root: etree._Element) -> dict[str, dict[str, dict[str, Any]]]:
    """Decision id → element id → facts: the decision, its inputs, outputs and rules."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for decision in root.iter("{*}decision"):
        did = decision.get("id") or ""
        elements: dict[str, dict[str, Any]] = {did: {"type": "decision", "name": decision.get("name")}}
        for table in decision.iter("{*}decisionTable"):
            elements[did]["hitPolicy"] = table.get("hitPolicy") or "UNIQUE"
            for el in table:
                kind, eid = _local(el), el.get("id")
                if not eid:
                    continue
                if kind == "input":
                    expression = _child(el, "inputExpression")
                    elements[eid] = {"type": "input", "name": el.get("label"),
                                     "expression": _text(_child(expression, "text")) if expression is not None else None}
                elif kind == "output":
                    elements[eid] = {"type": "output", "name": el.get("label"), "variable": el.get("name")}
                elif kind == "rule":
                    facts: dict[str, Any] = {"type": "rule", "name": _text(_child(el, "description"))}
                    entries = [c for c in el if _local(c) in ("inputEntry", "outputEntry")]
                    inputs = [_text(_child(c, "text")) for c in entries if _local(c) == "inputEntry"]
                    outputs = [_text(_child(c, "text")) for c in entries if _local(c) == "outputEntry"]
                    facts["inputs"] = " | ".join(i or "-" for i in inputs)
                    facts["outputs"] = " | ".join(o or "" for o in outputs)
                    elements[eid] = facts
            rule_ids = [el.get("id") for el in table if _local(el) == "rule" and el.get("id")]
            elements[did]["rule_order"] = " ".join(rule_ids)
        out[did] = elements
    return out


# ---------------------------------------------------------------------------- forms

def _form_elements(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """A form as one "process" (its file) whose elements are its fields."""
    schema = json.loads(text)
    if not isinstance(schema, dict):
        raise ValueError("a form must be a JSON object")
    required = set(schema.get("required") or [])
    fields: dict[str, dict[str, Any]] = {"_form": {"type": "form", "name": schema.get("title"),
                                                    "order": " ".join(map(str, schema.get("x-order") or []))}}
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        fields[name] = {"type": f"field:{prop.get('type')}", "name": prop.get("title"), "required": name in required,
                        "schema": json.dumps({k: v for k, v in prop.items() if k != "title"}, ensure_ascii=False,
                                             sort_keys=True)}
    return {"form": fields}


# ---------------------------------------------------------------------------- comparing

def _read(section: str, name: str, text: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    if text is None:
        return {}
    if section == "forms":
        return _form_elements(text)
    root = parse_xml_safely(text, f"{section}/{name}")
    return _bpmn_elements(root) if section == "processes" else _dmn_elements(root)


def _summary(eid: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": eid, "type": facts.get("type"), "name": facts.get("name")}


def _compare(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    added = [_summary(e, after[e]) for e in after if e not in before]
    removed = [_summary(e, before[e]) for e in before if e not in after]
    changed = []
    for eid in after:
        if eid not in before or before[eid] == after[eid]:
            continue
        keys = list(dict.fromkeys([*before[eid], *after[eid]]))
        changes = [{"field": k, "before": before[eid].get(k), "after": after[eid].get(k)}
                   for k in keys if before[eid].get(k) != after[eid].get(k)]
        changed.append({**_summary(eid, after[eid]), "changes": changes})
    return {"added": added, "removed": removed, "changed": changed}


def file_diff(section: str, name: str, before: str | None, after: str | None) -> dict[str, Any]:
    """The diff of one bundle file (``before`` None: the draft adds the file)."""
    kind = {"processes": "bpmn", "rules": "dmn", "forms": "form"}[section]
    entry: dict[str, Any] = {"file": f"{section}/{name}", "kind": kind,
                             "status": "added" if before is None else ("unchanged" if before == after else "changed"),
                             "error": None, "parts": [], "elements": {"added": [], "removed": [], "changed": []}}
    if before == after:
        return entry
    try:
        old, new = _read(section, name, before), _read(section, name, after)
    except BundleError as exc:
        entry["error"] = "; ".join(m for ms in exc.errors.values() for m in ms)
        return entry
    except (ValueError, RecursionError) as exc:
        entry["error"] = f"不能读取此文件 / the file cannot be read: {exc}"
        return entry
    for part in list(dict.fromkeys([*old, *new])):
        compared = _compare(old.get(part, {}), new.get(part, {}))
        status = "added" if part not in old else "removed" if part not in new else \
            "changed" if any(compared.values()) else "unchanged"
        if status == "unchanged":
            continue
        entry["parts"].append({"id": part, "status": status, **compared})
        for key in ("added", "removed", "changed"):
            entry["elements"][key].extend(e["id"] for e in compared[key] if not e["id"].startswith("_"))
    if not entry["parts"]:
        entry["status"] = "unchanged"  # only layout, comments or formatting differ
    return entry


def bundle_diff(deployed: Mapping[str, Mapping[str, str]], files: Mapping[str, str]) -> dict[str, Any]:
    """Each file of the draft (``{"processes/x.bpmn": text}``) against the deployed bundle: per
    file, per process / decision / form, the elements added, removed and changed (with each
    changed field before and after), and the element ids a modeler colours."""
    out = []
    for name in sorted(files):
        section, _sep, filename = name.partition("/")
        out.append(file_diff(section, filename, deployed.get(section, {}).get(filename), files[name]))
    return {"files": out, "changed": any(f["status"] != "unchanged" for f in out)}
