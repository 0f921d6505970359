// The properties panel group "统管约定" (Tongguan conventions): what the engine host reads from a
// diagram (docs/process-conventions.md), edited with fields and pickers so a designer never types
// XML. Every change is a command of the modeler (undo/redo work).
import { h } from '@bpmn-io/properties-panel/preact';
import { SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited,
  isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { is, getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';
import { page, text } from './page';
import { calledDecision, definitionsOf, eventDefinition, laneNameWithRole, laneRole, setCalledDecision,
  setTaskProperty, taskProperty } from './conventions';

function options(list, current, emptyLabel) {
  var opts = [{ value: '', label: emptyLabel || text('none') }];
  var seen = {};
  list.forEach(function (o) {
    var value = typeof o === 'string' ? o : o.value;
    seen[value] = true;
    opts.push({ value: value, label: typeof o === 'string' ? o : o.label });
  });
  if (current && !seen[current]) opts.push({ value: current, label: text('not_in_bundle', { name: current }) });
  return opts;
}

// a spiffworkflow:property of a user task, as a text field or a picker
function TaskProperty(props) {
  var element = props.element;
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var debounce = useService('debounceInput');
  var getValue = function () { return taskProperty(element, props.name) || ''; };
  var setValue = function (value) { setTaskProperty(element, props.name, (value || '').trim(), bpmnFactory, commandStack); };
  if (props.choices) {
    return h(SelectEntry, { element: element, id: props.id, label: props.label, description: props.description,
      getValue: getValue, setValue: setValue,
      getOptions: function () { return options(props.choices(), getValue()); } });
  }
  return h(TextFieldEntry, { element: element, id: props.id, label: props.label, description: props.description,
    getValue: getValue, setValue: setValue, debounce: debounce });
}

function LaneRole(props) {
  var element = props.element;
  var modeling = useService('modeling');
  return h(SelectEntry, { element: element, id: props.id, label: text('role'), description: text('role_help'),
    getValue: function () { return laneRole(element); },
    setValue: function (role) {
      modeling.updateProperties(element, { name: laneNameWithRole(getBusinessObject(element).name, role) });
    },
    getOptions: function () { return options(page().roles, laneRole(element)); } });
}

// the lane a flow node sits in (its role does the task): picking another lane moves the shape into
// it, and bpmn-js updates the lanes' flowNodeRef lists as when the shape is dragged there
function laneShapes(elementRegistry) {
  return elementRegistry.filter(function (e) {
    if (!is(e, 'bpmn:Lane')) return false;
    var child = getBusinessObject(e).childLaneSet;
    return !(child && (child.lanes || []).length);
  });
}

function laneOf(element, elementRegistry) {
  var bo = getBusinessObject(element);
  return laneShapes(elementRegistry).filter(function (lane) {
    return (getBusinessObject(lane).flowNodeRef || []).indexOf(bo) >= 0;
  })[0] || null;
}

function roleLabel(role) {
  var found = page().roles.filter(function (r) { return r.value === role; })[0];
  return found ? found.label : role;
}

function TaskLane(props) {
  var element = props.element;
  var modeling = useService('modeling');
  var elementRegistry = useService('elementRegistry');
  var lane = laneOf(element, elementRegistry);
  var role = lane ? laneRole(lane) : '';
  var description = !lane ? text('lane_none') : (role ? text('lane_help', { role: roleLabel(role) }) : text('lane_no_role'));
  return h(SelectEntry, { element: element, id: props.id, label: text('lane'), description: description,
    getValue: function () { var l = laneOf(element, elementRegistry); return l ? l.id : ''; },
    setValue: function (id) {
      var target = id && elementRegistry.get(id);
      if (!target) return;
      var dy = Math.round((target.y + target.height / 2) - (element.y + element.height / 2));
      if (dy) modeling.moveElements([element], { x: 0, y: dy });
    },
    getOptions: function () {
      var lanes = laneShapes(elementRegistry).map(function (l) {
        return { value: l.id, label: getBusinessObject(l).name || l.id };
      });
      return options(lanes, '', text('lane_none'));
    } });
}

function Code(props) {
  var element = props.element;
  var debounce = useService('debounceInput');
  return h(TextAreaEntry, { element: element, id: props.id, label: props.label, description: text('python_rules'),
    monospace: true, rows: props.rows || 4, debounce: debounce, getValue: props.getValue, setValue: props.setValue });
}

function ScriptCode(props) {
  var element = props.element;
  var modeling = useService('modeling');
  return h(Code, { element: element, id: props.id, label: text('script'), rows: 8,
    getValue: function () { return getBusinessObject(element).script || ''; },
    setValue: function (value) { modeling.updateProperties(element, { scriptFormat: 'python', script: value || undefined }); } });
}

function ConditionCode(props) {
  var element = props.element;
  var modeling = useService('modeling');
  var bpmnFactory = useService('bpmnFactory');
  return h(Code, { element: element, id: props.id, label: text('condition'), rows: 2,
    getValue: function () {
      var c = getBusinessObject(element).conditionExpression;
      return c ? (c.body || '') : '';
    },
    setValue: function (value) {
      var expr = value ? bpmnFactory.create('bpmn:FormalExpression', { body: value }) : undefined;
      modeling.updateProperties(element, { conditionExpression: expr });
    } });
}

var DEADLINES = ["deadline('yellow')", "deadline('due')"];

function TimerDeadline(props) {
  var element = props.element;
  var commandStack = useService('commandStack');
  var bpmnFactory = useService('bpmnFactory');
  var def = eventDefinition(element, 'bpmn:TimerEventDefinition');
  var getValue = function () { return def.timeDate ? (def.timeDate.body || '') : ''; };
  return h(SelectEntry, { element: element, id: props.id, label: text('deadline'), description: text('deadline_help'),
    getValue: getValue,
    setValue: function (value) {
      var expr = value ? bpmnFactory.create('bpmn:FormalExpression', { body: value }) : undefined;
      commandStack.execute('element.updateModdleProperties', { element: element, moddleElement: def,
        properties: { timeDate: expr, timeDuration: undefined, timeCycle: undefined } });
    },
    getOptions: function () {
      return options([{ value: DEADLINES[0], label: text('deadline_yellow') }, { value: DEADLINES[1], label: text('deadline_due') }], getValue());
    } });
}

var SIGNALS = { escalate: 'escalation', 'return': 'returned' };

function SignalPick(props) {
  var element = props.element;
  var commandStack = useService('commandStack');
  var bpmnFactory = useService('bpmnFactory');
  var def = eventDefinition(element, 'bpmn:SignalEventDefinition');
  var getValue = function () { return def.signalRef ? (def.signalRef.name || '') : ''; };
  return h(SelectEntry, { element: element, id: props.id, label: text('signal'), description: text('signal_help'),
    getValue: getValue,
    setValue: function (name) {
      var definitions = definitionsOf(element);
      var roots = definitions.get('rootElements');
      var commands = [];
      var signal = name ? roots.filter(function (r) { return is(r, 'bpmn:Signal') && r.name === name; })[0] : undefined;
      if (name && !signal) {
        var variable = bpmnFactory.create('spiffworkflow:VariableName', { value: SIGNALS[name] });
        var ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [variable] });
        signal = bpmnFactory.create('bpmn:Signal', { name: name, extensionElements: ext });
        signal.id = 'Signal_' + name;
        variable.$parent = ext; ext.$parent = signal; signal.$parent = definitions;
        commands.push({ cmd: 'element.updateModdleProperties', context: { element: element, moddleElement: definitions,
          properties: { rootElements: [signal].concat(roots) } } });
      }
      commands.push({ cmd: 'element.updateModdleProperties', context: { element: element, moddleElement: def,
        properties: { signalRef: signal } } });
      commandStack.execute('properties-panel.multi-command-executor', commands);
    },
    getOptions: function () {
      return options([{ value: 'escalate', label: text('signal_escalate') }, { value: 'return', label: text('signal_return') }], getValue());
    } });
}

function CalledProcess(props) {
  var element = props.element;
  var modeling = useService('modeling');
  return h(SelectEntry, { element: element, id: props.id, label: text('called_process'), description: text('called_process_help'),
    getValue: function () { return getBusinessObject(element).calledElement || ''; },
    setValue: function (value) { modeling.updateProperties(element, { calledElement: value || undefined }); },
    getOptions: function () { return options(page().processes, getBusinessObject(element).calledElement); } });
}

function CalledDecision(props) {
  var element = props.element;
  var commandStack = useService('commandStack');
  var bpmnFactory = useService('bpmnFactory');
  return h(SelectEntry, { element: element, id: props.id, label: text('called_decision'), description: text('called_decision_help'),
    getValue: function () { return calledDecision(element); },
    setValue: function (value) { setCalledDecision(element, value || '', bpmnFactory, commandStack); },
    getOptions: function () { return options(page().decisions, calledDecision(element)); } });
}

function entries(element) {
  var list = [];
  if (is(element, 'bpmn:UserTask')) {
    list.push({ id: 'tg-lane', component: TaskLane, isEdited: isSelectEntryEdited });
    list.push({ id: 'tg-form', component: TaskProperty, name: 'form', label: text('form'), description: text('form_help'),
      choices: function () { return page().forms; }, isEdited: isSelectEntryEdited });
    list.push({ id: 'tg-unit', component: TaskProperty, name: 'unit', label: text('unit'), description: text('unit_help'), isEdited: isTextFieldEntryEdited });
    list.push({ id: 'tg-limit', component: TaskProperty, name: 'limit', label: text('limit'), description: text('limit_help'), isEdited: isTextFieldEntryEdited });
    list.push({ id: 'tg-sign-limit', component: TaskProperty, name: 'sign_limit', label: text('sign_limit'), description: text('sign_limit_help'), isEdited: isTextFieldEntryEdited });
    list.push({ id: 'tg-stage', component: TaskProperty, name: 'stage', label: text('stage'),
      choices: function () { return page().stages; }, isEdited: isSelectEntryEdited });
  }
  if (is(element, 'bpmn:Lane')) list.push({ id: 'tg-role', component: LaneRole, isEdited: isSelectEntryEdited });
  if (is(element, 'bpmn:ScriptTask')) list.push({ id: 'tg-script', component: ScriptCode, isEdited: isTextAreaEntryEdited });
  if (is(element, 'bpmn:SequenceFlow')) {
    var source = element.source && getBusinessObject(element.source);
    if (source && (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway') || getBusinessObject(element).conditionExpression)) {
      list.push({ id: 'tg-condition', component: ConditionCode, isEdited: isTextAreaEntryEdited });
    }
  }
  if (eventDefinition(element, 'bpmn:TimerEventDefinition')) list.push({ id: 'tg-deadline', component: TimerDeadline, isEdited: isSelectEntryEdited });
  if (eventDefinition(element, 'bpmn:SignalEventDefinition')) list.push({ id: 'tg-signal', component: SignalPick, isEdited: isSelectEntryEdited });
  if (is(element, 'bpmn:CallActivity')) list.push({ id: 'tg-called', component: CalledProcess, isEdited: isSelectEntryEdited });
  if (is(element, 'bpmn:BusinessRuleTask')) list.push({ id: 'tg-decision', component: CalledDecision, isEdited: isSelectEntryEdited });
  return list;
}

function TongguanPropertiesProvider(propertiesPanel) {
  propertiesPanel.registerProvider(500, this);
}
TongguanPropertiesProvider.$inject = ['propertiesPanel'];

TongguanPropertiesProvider.prototype.getGroups = function (element) {
  return function (groups) {
    var list = entries(element);
    if (list.length) groups.splice(1, 0, { id: 'tongguan', label: text('conventions'), entries: list });
    return groups;
  };
};

export default {
  __init__: ['tongguanPropertiesProvider'],
  tongguanPropertiesProvider: ['type', TongguanPropertiesProvider]
};
