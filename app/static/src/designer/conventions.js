// Reading and writing Tongguan's process conventions (docs/process-conventions.md) on the BPMN
// model, exactly as the shipped processes/*.bpmn store them:
//   user task:  <bpmn:extensionElements><spiffworkflow:properties>
//                 <spiffworkflow:property name="form" value="x.json" /> ...
//   lane:       the role key in parentheses at the end of its name, "派遣员 (dispatcher)"
//   business rule task: <spiffworkflow:calledDecisionId>
//   signal:     <bpmn:signal name="escalate"> with <spiffworkflow:variableName>
import { is, getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

var LANE_ROLE = /\(\s*([a-z_]+)\s*\)\s*$/;

function extension(bo, type) {
  var ext = bo && bo.get && bo.get('extensionElements');
  if (!ext) return null;
  return (ext.get('values') || []).filter(function (v) { return is(v, type); })[0] || null;
}

export function taskProperty(elementOrBo, name) {
  var props = extension(getBusinessObject(elementOrBo), 'spiffworkflow:Properties');
  if (!props) return undefined;
  var found = (props.get('properties') || []).filter(function (p) { return p.name === name; })[0];
  return found ? found.value : undefined;
}

// Commands that make sure bo has an extension element of `type`; returns [commands, extElement].
function ensureExtension(element, bo, type, attrs, bpmnFactory) {
  var commands = [];
  var ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element: element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  var found = (ext.get('values') || []).filter(function (v) { return is(v, type); })[0];
  if (!found) {
    found = bpmnFactory.create(type, attrs);
    found.$parent = ext;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element: element, moddleElement: ext, properties: { values: (ext.get('values') || []).concat([found]) } } });
  }
  return [commands, found];
}

export function setTaskProperty(element, name, value, bpmnFactory, commandStack) {
  var bo = getBusinessObject(element);
  var empty = value === undefined || value === null || value === '';
  if (empty && taskProperty(bo, name) === undefined) return;
  var made = ensureExtension(element, bo, 'spiffworkflow:Properties', { properties: [] }, bpmnFactory);
  var commands = made[0];
  var props = made[1];
  var list = props.get('properties') || [];
  var prop = list.filter(function (p) { return p.name === name; })[0];
  if (prop && empty) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element: element, moddleElement: props, properties: { properties: list.filter(function (p) { return p !== prop; }) } } });
  } else if (prop) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element: element, moddleElement: prop, properties: { value: value } } });
  } else {
    prop = bpmnFactory.create('spiffworkflow:Property', { name: name, value: value });
    prop.$parent = props;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element: element, moddleElement: props, properties: { properties: list.concat([prop]) } } });
  }
  commandStack.execute('properties-panel.multi-command-executor', commands);
}

export function laneRole(nameOrElement) {
  var name = typeof nameOrElement === 'string' ? nameOrElement : (getBusinessObject(nameOrElement).name || '');
  var m = LANE_ROLE.exec(name || '');
  return m ? m[1] : '';
}

export function laneNameWithRole(name, role) {
  var base = (name || '').replace(LANE_ROLE, '').trim();
  return role ? (base ? base + ' (' + role + ')' : '(' + role + ')') : base;
}

export function calledDecision(element) {
  var found = extension(getBusinessObject(element), 'spiffworkflow:CalledDecisionId');
  return found ? (found.value || '') : '';
}

export function setCalledDecision(element, value, bpmnFactory, commandStack) {
  var bo = getBusinessObject(element);
  var made = ensureExtension(element, bo, 'spiffworkflow:CalledDecisionId', { value: value }, bpmnFactory);
  var commands = made[0];
  if (!commands.length) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element: element, moddleElement: made[1], properties: { value: value } } });
  }
  commandStack.execute('properties-panel.multi-command-executor', commands);
}

export function eventDefinition(element, type) {
  var bo = getBusinessObject(element);
  return (bo.get('eventDefinitions') || []).filter(function (d) { return is(d, type); })[0] || null;
}

export function definitionsOf(element) {
  var bo = getBusinessObject(element);
  while (bo.$parent) bo = bo.$parent;
  return bo;
}
