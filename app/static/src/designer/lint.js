// bpmnlint in the browser without its CLI: the recommended configuration, its rules bundled from
// node_modules, plus Tongguan's own rules, resolved from a static table (what bpmnlint-pack-config
// would generate).
import recommended from 'bpmnlint/config/recommended';
import { is } from 'bpmnlint-utils';
import { taskProperty, laneRole } from './conventions';

var ruleFiles = {
  'ad-hoc-sub-process': require('bpmnlint/rules/ad-hoc-sub-process'),
  'conditional-flows': require('bpmnlint/rules/conditional-flows'),
  'end-event-required': require('bpmnlint/rules/end-event-required'),
  'event-based-gateway': require('bpmnlint/rules/event-based-gateway'),
  'event-sub-process-typed-start-event': require('bpmnlint/rules/event-sub-process-typed-start-event'),
  'fake-join': require('bpmnlint/rules/fake-join'),
  'global': require('bpmnlint/rules/global'),
  'label-required': require('bpmnlint/rules/label-required'),
  'link-event': require('bpmnlint/rules/link-event'),
  'no-bpmndi': require('bpmnlint/rules/no-bpmndi'),
  'no-complex-gateway': require('bpmnlint/rules/no-complex-gateway'),
  'no-disconnected': require('bpmnlint/rules/no-disconnected'),
  'no-duplicate-sequence-flows': require('bpmnlint/rules/no-duplicate-sequence-flows'),
  'no-gateway-join-fork': require('bpmnlint/rules/no-gateway-join-fork'),
  'no-implicit-split': require('bpmnlint/rules/no-implicit-split'),
  'no-implicit-end': require('bpmnlint/rules/no-implicit-end'),
  'no-implicit-start': require('bpmnlint/rules/no-implicit-start'),
  'no-inclusive-gateway': require('bpmnlint/rules/no-inclusive-gateway'),
  'no-overlapping-elements': require('bpmnlint/rules/no-overlapping-elements'),
  'single-blank-start-event': require('bpmnlint/rules/single-blank-start-event'),
  'single-event-definition': require('bpmnlint/rules/single-event-definition'),
  'start-event-required': require('bpmnlint/rules/start-event-required'),
  'sub-process-blank-start-event': require('bpmnlint/rules/sub-process-blank-start-event'),
  'superfluous-gateway': require('bpmnlint/rules/superfluous-gateway'),
  'superfluous-label': require('bpmnlint/rules/superfluous-label'),
  'superfluous-termination': require('bpmnlint/rules/superfluous-termination')
};

// Tongguan's rules (docs/process-conventions.md, "User tasks"); the messages are keys of the
// library texts table, translated by bpmn-js-bpmnlint through the translate service.
function userTaskForm() {
  return { check: function (node, reporter) {
    if (is(node, 'bpmn:UserTask') && !taskProperty(node, 'form')) reporter.report(node.id, 'User task has no form');
  } };
}

function userTaskStage() {
  return { check: function (node, reporter) {
    if (is(node, 'bpmn:UserTask') && !taskProperty(node, 'stage')) reporter.report(node.id, 'User task has no stage');
    if (is(node, 'bpmn:UserTask') && !taskProperty(node, 'unit')) reporter.report(node.id, 'User task has no unit');
  } };
}

function laneWithoutRole() {
  return { check: function (node, reporter) {
    if (is(node, 'bpmn:Lane') && !laneRole(node.name || '')) reporter.report(node.id, 'Lane has no role');
  } };
}

var cache = {};
Object.keys(ruleFiles).forEach(function (name) { cache['rule:bpmnlint/' + name] = ruleFiles[name]; });
cache['rule:bpmnlint-plugin-tongguan/user-task-form'] = userTaskForm;
cache['rule:bpmnlint-plugin-tongguan/user-task-properties'] = userTaskStage;
cache['rule:bpmnlint-plugin-tongguan/lane-role'] = laneWithoutRole;

var resolver = {
  resolveRule: function (pkg, ruleName) {
    var rule = cache['rule:' + pkg + '/' + ruleName];
    if (!rule) throw new Error('cannot resolve rule <' + pkg + '/' + ruleName + '>: not bundled');
    return rule;
  },
  resolveConfig: function (pkg, configName) {
    throw new Error('cannot resolve config <' + configName + '> in <' + pkg + '>: not bundled');
  }
};

var rules = {};
Object.keys(recommended.rules).forEach(function (name) { rules[name] = recommended.rules[name]; });
// the engine needs no names on events and joins (the shipped diagrams leave some unnamed): a hint
rules['label-required'] = 'warn';
// an exclusive gateway that merges and splits runs in SpiffWorkflow; the seven-step loop re-enters
// the circulation through one (gw_start_tier): a hint to draw two, not an error
rules['no-gateway-join-fork'] = 'warn';
rules['tongguan/user-task-form'] = 'error';
rules['tongguan/user-task-properties'] = 'error';
rules['tongguan/lane-role'] = 'error';

export default { resolver: resolver, config: { rules: rules } };
