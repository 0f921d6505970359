"""Walks the seven-step closed loop (processes/seven_step_loop.bpmn, whose event assignment and
handling run in the four-tier circulation, each tier calling processes/tier_handling.bpmn;
rules/starting_tier.dmn + rules/dispatch_proposal.dmn) with SpiffWorkflow alone, and checks the
diagrams against docs/process-conventions.md.

The org helpers `unit_ancestor` / `unit_department` are small fakes here, and so are the host's
`deadline()` / `remind()` / `supervise()` (app/engine/effects.py) used by the handling timers:
these tests are about the diagrams, the rules and the forms, not about the org module or the host.
"""
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[2]
BPMN_FILE = ROOT / 'processes' / 'seven_step_loop.bpmn'
BPMN_FILES = sorted((ROOT / 'processes').glob('*.bpmn'))  # the case process and the processes it calls
TIER_FILE = ROOT / 'processes' / 'tier_handling.bpmn'
DMN_FILE = ROOT / 'rules' / 'dispatch_proposal.dmn'
DMN_FILES = [DMN_FILE, ROOT / 'rules' / 'starting_tier.dmn']
FORMS_DIR = ROOT / 'forms'
PROCESS_ID = 'seven_step_loop'
FAR_FUTURE = '9999-12-31T00:00:00+00:00'

ROLES = {'operator', 'grid_worker', 'dispatcher', 'handler', 'supervisor', 'designer', 'leader', 'admin'}
STAGES = {'collect', 'verify', 'assign', 'handle', 'feedback', 'inspect', 'evaluate'}

NS = {
    'bpmn': 'http://www.omg.org/spec/BPMN/20100524/MODEL',
    'bpmndi': 'http://www.omg.org/spec/BPMN/20100524/DI',
    'dc': 'http://www.omg.org/spec/DD/20100524/DC',
    'di': 'http://www.omg.org/spec/DD/20100524/DI',
}

# ---- fake org structure ------------------------------------------------------------------
# city -> district d-01 -> street s-01 -> community c-01; district d-02 has no departments.
UNITS = {
    'city': ('city', None),
    'd-01': ('district', 'city'),
    's-01': ('street', 'd-01'),
    'c-01': ('community', 's-01'),
    'd-02': ('district', 'city'),
    's-02': ('street', 'd-02'),
    'c-02': ('community', 's-02'),
}
DEPARTMENTS = {
    ('d-01', 'sz'): 'd-01-sz', ('d-01', 'hw'): 'd-01-hw', ('d-01', 'jt'): 'd-01-jt',
    ('d-01', 'cg'): 'd-01-cg', ('d-01', 'yl'): 'd-01-yl', ('d-01', 'zj'): 'd-01-zj',
    ('city', 'sz'): 'city-sz', ('city', 'hw'): 'city-hw', ('city', 'zh'): 'city-zh',
    ('city', 'zj'): 'city-zj',
}


def unit_ancestor(code, kind):
    while code is not None:
        unit_kind, parent = UNITS[code]
        if unit_kind == kind:
            return code
        code = parent
    return None


def unit_department(code, dept_type):
    return DEPARTMENTS.get((code, dept_type))


# ---- fake host effects ---------------------------------------------------------------------
class Effects:
    """`deadline()` answers what the test sets (far future: no deadline yet, like the host before
    a deadline is known); `remind()` / `supervise()` are recorded."""

    def __init__(self):
        self.moments = {'yellow': FAR_FUTURE, 'due': FAR_FUTURE}
        self.calls = []

    def deadline(self, point='due'):
        return self.moments[point]

    def remind(self, task_id, message):
        self.calls.append(('remind', task_id, message))

    def supervise(self, task_id, message):
        self.calls.append(('supervise', task_id, message))


# ---- helpers -----------------------------------------------------------------------------
@pytest.fixture(scope='module')
def specs():
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for path in BPMN_FILES:
        parser.add_bpmn_file(str(path))
    for path in DMN_FILES:
        parser.add_dmn_file(str(path))
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


def load_form(name):
    return json.loads((FORMS_DIR / name).read_text(encoding='utf-8'))


def seed(**overrides):
    data = {
        'case_id': 1,
        'channel': 'hotline',
        'category_code': 'event:06010',
        'category_kind': 'event',
        'category_major': '06',
        'urgency': 'normal',
        'dispatch_unit': 'city',
        'grid_unit': 'c-01',
        'district_unit': 'd-01',
    }
    data.update(overrides)
    return data


# a manhole cover (component 01): starts at the district tier, proposed to the district's sz
MANHOLE = {'category_code': 'component:01002', 'category_kind': 'component', 'category_major': '01'}


def start(specs, effects=None, **overrides):
    spec, subprocess_specs = specs
    effects = effects or Effects()
    engine = PythonScriptEngine(environment=TaskDataEnvironment({
        'unit_ancestor': unit_ancestor,
        'unit_department': unit_department,
        'deadline': effects.deadline,
        'remind': effects.remind,
        'supervise': effects.supervise,
    }))
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    wf.task_tree.data.update(seed(**overrides))
    wf.do_engine_steps()
    return wf


def ready(wf):
    return wf.get_tasks(state=TaskState.READY, manual=True)


def ready_names(wf):
    return [t.task_spec.bpmn_id for t in ready(wf)]


def complete(wf, name, **form_data):
    """Complete the only ready user task, which must be `name`, like the host does: validate the
    submitted data against the task's form, merge it into the task data (every field of the form,
    absent ones as None), run, do engine steps. A photo field the form requires and the call does
    not name gets attachment ids (the host ties real photos; the diagram only sees their ids)."""
    tasks = ready(wf)
    assert [t.task_spec.bpmn_id for t in tasks] == [name]
    return complete_task(wf, tasks[0], **form_data)


def complete_task(wf, task, **form_data):
    schema = load_form(task.task_spec.extensions['properties']['form'])
    for field, prop in schema['properties'].items():
        if prop.get('format') == 'photo' and prop.get('minItems') and field not in form_data:
            form_data[field] = list(range(1, prop['minItems'] + 1))
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(form_data)]
    assert not errors, f'{task.task_spec.bpmn_id}: form data rejected by its form: {errors}'
    task.data.update({field: None for field in schema['properties']})
    task.data.update(form_data)
    task.run()
    wf.do_engine_steps()
    return task


def task_data(wf, name):
    tasks = [t for t in ready(wf) if t.task_spec.bpmn_id == name]
    assert tasks, f'{name} is not ready (ready: {ready_names(wf)})'
    return tasks[0].data


def send_signal(wf, name, **payload):
    """What the host does for an escalation (吹哨) or an approved return (退单)."""
    wf.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
    wf.do_engine_steps()


def dispatch(wf, lead_unit=None, time_limit=None, **extra):
    """The triage of the current tier dispatches to `lead_unit` (default: the proposal)."""
    data = task_data(wf, 'triage')
    complete(wf, 'triage', decision='dispatch', lead_unit=lead_unit or data['proposed_lead'],
             handling_limit=time_limit or data['time_limit'], **extra)


def finish_from_handle(wf, satisfied=True):
    complete(wf, 'handle_case', handling_notes='已处置完毕')
    complete(wf, 'report_back', result='resolved', result_notes='已清理完毕', measures=['clean'])
    complete(wf, 'inspect_case', passed=True)
    complete(wf, 'callback_case', satisfied=satisfied, reached=True, score=5 if satisfied else 2)


def file_and_triage(wf, lead_unit=None):
    complete(wf, 'file_case', decision='file', grid_unit='c-01', urgency='normal')
    dispatch(wf, lead_unit)


# ---- paths -------------------------------------------------------------------------------
def test_happy_path_closes_case(specs):
    wf = start(specs)
    assert ready_names(wf) == ['verify_on_site']
    data = task_data(wf, 'verify_on_site')
    assert (data['rework_count'], data['reopen_count'], data['max_reopen'], data['outcome']) == (0, 0, 2, None)
    assert (data['escalation_count'], data['return_count'], data['tier'], data['solved_tier']) == (0, 0, None, None)

    complete(wf, 'verify_on_site', confirmed=True, verify_notes='现场确有暴露垃圾')
    complete(wf, 'file_case', decision='file', grid_unit='c-01', urgency='normal')

    # exposed garbage (event 06) starts in the community micro loop
    data = task_data(wf, 'triage')
    assert data['proposed_department'] == 'hw'
    assert data['time_limit'] == '4h'
    assert data['district_unit'] == 'd-01'
    assert data['proposed_unit'] == 'd-01-hw'
    assert (data['tier'], data['tier_unit'], data['proposed_lead']) == ('community', 'c-01', 'c-01')
    complete(wf, 'triage', decision='dispatch', lead_unit='c-01', handling_limit='4h')

    data = task_data(wf, 'handle_case')
    assert (data['handling_unit'], data['co_units']) == ('c-01', [])
    complete(wf, 'handle_case', handling_notes='已清理')
    complete(wf, 'report_back', result='resolved', result_notes='已清理完毕',
             measures=['clean'], finished_at='2025-03-03T10:00:00+08:00')
    complete(wf, 'inspect_case', passed=True)
    complete(wf, 'callback_case', satisfied=True, score=5, reached=True)

    assert wf.is_completed()
    assert ready_names(wf) == []
    assert wf.data['outcome'] == 'closed'
    assert wf.data['rework_count'] == 0
    assert wf.data['reopen_count'] == 0
    assert (wf.data['escalation_count'], wf.data['return_count']) == (0, 0)
    assert (wf.data['solved_tier'], wf.data['handling_unit']) == ('community', 'c-01')
    ends = [t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)]
    assert 'case_closed' in ends and 'case_rejected' not in ends


def test_rejection(specs):
    wf = start(specs, channel='grid')
    complete(wf, 'file_case', decision='reject', reject_reason='不属于受理范围')
    assert wf.is_completed()
    assert wf.data['outcome'] == 'rejected'
    ends = [t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)]
    assert 'case_rejected' in ends and 'case_closed' not in ends
    assert 'starting_tier' not in ends and 'propose_dispatch' not in ends and 'circulation' not in ends


def test_handler_return_goes_back_to_triage(specs):
    # the handle form has no return choice any more: a return is the BPMN signal `return`, sent by
    # the host once a supervisor approved it (or a supervisor returned the task directly)
    assert 'action' not in load_form('handle_case.json')['properties']
    wf = start(specs, channel='grid', **MANHOLE)
    complete(wf, 'file_case', decision='file', grid_unit='c-01', urgency='normal')
    assert task_data(wf, 'triage')['tier'] == 'district'
    dispatch(wf, 'd-01-jt', '4h')  # the wrong department
    assert ready_names(wf) == ['handle_case']
    send_signal(wf, 'return', reason='不属于交通部门职责')
    assert ready_names(wf) == ['triage']
    data = task_data(wf, 'triage')
    assert (data['tier'], data['tier_unit'], data['return_count']) == ('district', 'd-01', 1)
    assert data['returned'] == {'reason': '不属于交通部门职责'}
    assert [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.CANCELLED, manual=True)] == ['handle_case']
    # triage itself catches no return: the process refuses the signal there
    with pytest.raises(WorkflowException, match='not waiting'):
        send_signal(wf, 'return', reason='再退一次')
    assert ready_names(wf) == ['triage'] and task_data(wf, 'triage')['return_count'] == 1
    # the dispatcher re-routes to another unit
    complete(wf, 'triage', decision='dispatch', lead_unit='d-01-sz', handling_limit='1d')
    data = task_data(wf, 'handle_case')
    assert (data['handling_unit'], data['time_limit']) == ('d-01-sz', '1d')
    finish_from_handle(wf)
    assert wf.is_completed() and wf.data['outcome'] == 'closed'
    assert wf.data['return_count'] == 1 and wf.data['escalation_count'] == 0


def test_failed_inspection_goes_back_to_triage_of_the_solving_tier(specs):
    wf = start(specs, channel='grid', **MANHOLE)
    file_and_triage(wf, lead_unit='d-01-hw')  # not the proposal (d-01-sz)
    complete(wf, 'handle_case', handling_notes='已加固')
    complete(wf, 'report_back', result='partially', result_notes='部分处置')
    complete(wf, 'inspect_case', passed=False, inspect_notes='井盖仍松动')
    assert ready_names(wf) == ['triage']
    data = task_data(wf, 'triage')
    assert data['rework_count'] == 1
    # back at the tier that solved it, proposed to the unit that handled it
    assert (data['tier'], data['tier_unit'], data['proposed_lead']) == ('district', 'd-01', 'd-01-hw')
    dispatch(wf)
    assert task_data(wf, 'handle_case')['handling_unit'] == 'd-01-hw'
    finish_from_handle(wf)
    assert wf.is_completed()
    assert wf.data['outcome'] == 'closed'
    assert wf.data['rework_count'] == 1


def test_unsatisfied_callback_reopens_at_most_max_reopen_times(specs):
    wf = start(specs, channel='grid')
    file_and_triage(wf)
    finish_from_handle(wf, satisfied=False)
    assert ready_names(wf) == ['triage']
    data = task_data(wf, 'triage')
    assert data['reopen_count'] == 1
    assert (data['tier'], data['proposed_lead']) == ('community', 'c-01')
    dispatch(wf)
    finish_from_handle(wf, satisfied=False)
    assert ready_names(wf) == ['triage']
    assert task_data(wf, 'triage')['reopen_count'] == 2
    dispatch(wf)
    finish_from_handle(wf, satisfied=False)  # limit reached: closed although unsatisfied
    assert wf.is_completed()
    assert wf.data['outcome'] == 'closed'
    assert wf.data['reopen_count'] == 2


def test_reopened_case_comes_back_to_the_tier_that_solved_it(specs):
    # the community escalates; the street solves it; the reopened case goes back to the street
    wf = start(specs, channel='grid')
    complete(wf, 'file_case', decision='file', grid_unit='c-01')
    complete(wf, 'triage', decision='escalate', escalate_reason='需要街道协调')
    assert task_data(wf, 'triage')['tier'] == 'street'
    dispatch(wf, 's-01', '1d')
    finish_from_handle(wf, satisfied=False)
    data = task_data(wf, 'triage')
    assert (data['tier'], data['tier_unit'], data['proposed_lead'], data['reopen_count']) == ('street', 's-01', 's-01', 1)


def test_escalation_climbs_the_tiers(specs):
    wf = start(specs, channel='grid')
    complete(wf, 'file_case', decision='file', grid_unit='c-01')
    climbed = []
    for _ in range(4):
        data = task_data(wf, 'triage')
        climbed.append((data['tier'], data['tier_unit'], data['proposed_lead'], data['escalation_count']))
        complete(wf, 'triage', decision='escalate', escalate_reason='本级无法解决')
    data = task_data(wf, 'triage')
    climbed.append((data['tier'], data['tier_unit'], data['proposed_lead'], data['escalation_count']))
    assert climbed == [('community', 'c-01', 'c-01', 0), ('street', 's-01', 's-01', 1),
                       ('district', 'd-01', 'd-01-hw', 2), ('city', 'city', 'city-hw', 3),
                       ('city', 'city', 'city-hw', 4)]  # the city is the top: it triages again
    # a handler blows the whistle (吹哨) with the escalate signal; from the street to the district here
    wf = start(specs, channel='grid')
    complete(wf, 'file_case', decision='file', grid_unit='c-01')
    complete(wf, 'triage', decision='escalate', escalate_reason='需要街道协调')
    dispatch(wf, 's-01', '1d')
    send_signal(wf, 'escalate', reason='涉及多个部门')
    assert ready_names(wf) == ['triage']
    data = task_data(wf, 'triage')
    assert (data['tier'], data['escalation_count'], data['escalation']) == ('district', 2, {'reason': '涉及多个部门'})
    dispatch(wf)
    finish_from_handle(wf)
    assert wf.is_completed() and wf.data['solved_tier'] == 'district' and wf.data['handling_unit'] == 'd-01-hw'


def test_co_handlers_work_in_parallel_with_the_lead(specs):
    wf = start(specs, channel='grid', **MANHOLE)
    complete(wf, 'file_case', decision='file', grid_unit='c-01')
    dispatch(wf, 'd-01-sz', co_units=['d-01-jt', 'd-01-sz', 's-01'])  # the lead in co_units is dropped
    tasks = sorted((t.task_spec.bpmn_id, t.data.get('co_unit') or t.data['handling_unit']) for t in ready(wf))
    assert tasks == [('cohandle_case', 'd-01-jt'), ('cohandle_case', 's-01'), ('handle_case', 'd-01-sz')]
    by_unit = {t.data.get('co_unit') or t.data['handling_unit']: t for t in ready(wf)}
    complete_task(wf, by_unit['d-01-sz'], handling_notes='已更换井盖')
    assert sorted(ready_names(wf)) == ['cohandle_case', 'cohandle_case']  # waits for every co-handler
    complete_task(wf, by_unit['d-01-jt'], cohandling_notes='已设置交通警示')
    complete_task(wf, by_unit['s-01'], cohandling_notes='已通知居民')
    assert ready_names(wf) == ['report_back']
    assert task_data(wf, 'report_back')['handling_unit'] == 'd-01-sz'


def test_handling_timers_remind_and_supervise(specs):
    effects = Effects()
    wf = start(specs, effects, channel='grid', **MANHOLE)
    file_and_triage(wf)
    wf.refresh_waiting_tasks()
    wf.do_engine_steps()
    assert effects.calls == [] and ready_names(wf) == ['handle_case']  # no deadline known yet

    # a handle task whose yellow and due moments have passed: reminded (催办) and supervised (转督办)
    effects = Effects()
    effects.moments.update(yellow='2020-01-01T01:00:00+00:00', due='2020-01-01T02:00:00+00:00')
    wf = start(specs, effects, channel='grid', **MANHOLE)
    file_and_triage(wf)
    wf.refresh_waiting_tasks()
    wf.do_engine_steps()
    assert sorted(c[:2] for c in effects.calls) == [('remind', 'handle_case'), ('supervise', 'handle_case')]
    assert ready_names(wf) == ['handle_case']  # neither interrupts the work
    finish_from_handle(wf)
    assert wf.is_completed() and wf.data['outcome'] == 'closed'


def test_grid_channel_skips_verification(specs):
    wf = start(specs, channel='grid')
    assert ready_names(wf) == ['file_case']


def test_case_without_grid_skips_verification(specs):
    wf = start(specs, grid_unit=None, district_unit=None)
    assert ready_names(wf) == ['file_case']
    # the dispatcher must then name the grid; the form enforces it
    schema = load_form('file_case.json')
    assert not Draft202012Validator(schema).is_valid({'decision': 'file'})
    complete(wf, 'file_case', decision='file', grid_unit='c-01')
    data = task_data(wf, 'triage')
    assert data['proposed_unit'] == 'd-01-hw'
    assert (data['district_unit'], data['tier'], data['tier_unit']) == ('d-01', 'community', 'c-01')


def test_user_tasks_carry_their_unit_and_limit(specs):
    wf = start(specs)
    complete(wf, 'verify_on_site', confirmed=True)
    complete(wf, 'file_case', decision='file', grid_unit='c-01', urgency='urgent')
    data = task_data(wf, 'triage')
    assert (data['proposed_department'], data['time_limit']) == ('hw', '2h')
    engine = wf.script_engine
    task = ready(wf)[0]
    spec_props = task.task_spec.extensions['properties']
    assert engine.evaluate(task, spec_props['unit']) == 'c-01'
    assert engine.evaluate(task, spec_props['limit']) == '1h'
    complete(wf, 'triage', decision='dispatch', lead_unit=data['proposed_lead'], handling_limit=data['time_limit'])
    task = ready(wf)[0]
    spec_props = task.task_spec.extensions['properties']
    assert task.task_spec.bpmn_id == 'handle_case'
    assert engine.evaluate(task, spec_props['unit']) == 'c-01'
    assert engine.evaluate(task, spec_props['limit']) == '2h'
    assert engine.evaluate(task, spec_props['sign_limit']) == '2h'


# ---- dispatch proposal and starting tier (DMN) ----------------------------------------------
@pytest.mark.parametrize('kind, major, urgency, department, limit, unit, tier, lead', [
    ('component', '01', 'normal', 'sz', '4h', 'd-01-sz', 'district', 'd-01-sz'),     # manhole covers etc.
    ('component', '01', 'urgent', 'sz', '2h', 'd-01-sz', 'district', 'd-01-sz'),
    ('event', '01', 'normal', 'sz', '4h', 'd-01-sz', 'district', 'd-01-sz'),
    ('event', '02', 'normal', 'jt', '1d', 'd-01-jt', 'district', 'd-01-jt'),
    ('component', '04', 'normal', 'yl', '2d', 'd-01-yl', 'district', 'd-01-yl'),
    ('event', '06', 'normal', 'hw', '4h', 'd-01-hw', 'community', 'c-01'),         # exposed garbage
    ('event', '07', 'normal', 'cg', '3d', 'd-01-cg', 'street', 's-01'),
    ('event', '08', 'normal', 'zj', '7d', 'd-01-zj', 'district', 'd-01-zj'),       # construction
    ('event', '08', 'urgent', 'zj', '4h', 'd-01-zj', 'district', 'd-01-zj'),
    ('event', '09', 'normal', 'cg', '1d', 'd-01-cg', 'street', 's-01'),
    ('event', '10', 'normal', 'zh', '7d', 'city-zh', 'street', 's-01'),            # district has no zh: city office
    ('component', '06', 'normal', 'zh', '7d', 'city-zh', 'district', None),        # catch-all; the district has no zh office: no proposal
    (None, None, 'normal', 'zh', '7d', 'city-zh', 'street', 's-01'),               # uncategorised
    (None, None, 'urgent', 'zh', '1d', 'city-zh', 'street', 's-01'),
])
def test_dispatch_proposal(specs, kind, major, urgency, department, limit, unit, tier, lead):
    code = f'{kind}:{major}001' if kind else None
    wf = start(specs, channel='grid', category_kind=kind, category_major=major,
               category_code=code, urgency=urgency)
    complete(wf, 'file_case', decision='file', grid_unit='c-01', urgency=urgency)
    data = task_data(wf, 'triage')
    assert (data['proposed_department'], data['time_limit'], data['proposed_unit']) == (department, limit, unit)
    assert re.fullmatch(load_form('triage.json')['properties']['handling_limit']['pattern'], data['time_limit'])
    tier_units = {'community': 'c-01', 'street': 's-01', 'district': 'd-01', 'city': 'city'}
    assert (data['tier'], data['tier_unit'], data['proposed_lead']) == (tier, tier_units[tier], lead)


def test_proposal_falls_back_to_city_department(specs):
    # community c-02 lies in district d-02, which has no departments of its own
    wf = start(specs, channel='grid', grid_unit='c-02', district_unit='d-02')
    complete(wf, 'file_case', decision='file', grid_unit='c-02')
    data = task_data(wf, 'triage')
    assert data['district_unit'] == 'd-02'
    assert data['proposed_unit'] == 'city-hw'
    assert (data['tier'], data['tier_unit']) == ('community', 'c-02')


def test_every_major_class_has_a_specific_rule():
    tree = etree.parse(str(DMN_FILE))
    ns = {'dmn': 'https://www.omg.org/spec/DMN/20191111/MODEL/'}
    table = tree.find('.//dmn:decision[@id="dispatch_proposal"]/dmn:decisionTable', ns)
    assert table.get('hitPolicy') == 'UNIQUE'
    inputs = [i.findtext('dmn:inputExpression/dmn:text', namespaces=ns) for i in table.findall('dmn:input', ns)]
    assert inputs == ['category_kind', 'category_major', 'urgency']
    outputs = [o.get('name') for o in table.findall('dmn:output', ns)]
    assert outputs == ['proposed_department', 'time_limit', 'legal_basis']
    rows = []
    for rule in table.findall('dmn:rule', ns):
        assert (rule.findtext('dmn:description', namespaces=ns) or '').strip()
        rows.append(tuple((e.findtext('dmn:text', namespaces=ns) or '').strip()
                          for e in rule.findall('dmn:inputEntry', ns)))
        outs = [(e.findtext('dmn:text', namespaces=ns) or '').strip() for e in rule.findall('dmn:outputEntry', ns)]
        assert len(outs) == 3 and len(outs[2].strip("'")) >= 4, (rule.get('id'), outs)  # every rule names its legal basis
    assert rows[-1] == ('-', '-', '-')
    covered = {(k, m) for k, m, _ in rows}
    for major in ['01', '02', '03', '04', '05']:
        assert ("'component'", f"'{major}'") in covered
    for major in ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10']:
        assert ("'event'", f"'{major}'") in covered


# ---- diagram against the conventions --------------------------------------------------------
def test_user_tasks_follow_conventions(specs):
    spec, subprocess_specs = specs
    user_tasks = [ts for sp in [spec, *subprocess_specs.values()] for ts in sp.task_specs.values()
                  if isinstance(ts, UserTask)]
    assert sorted(ts.bpmn_id for ts in user_tasks) == sorted([
        'verify_on_site', 'file_case', 'triage', 'handle_case', 'cohandle_case',
        'report_back', 'inspect_case', 'callback_case'])
    stages = set()
    for ts in user_tasks:
        props = ts.extensions.get('properties', {})
        assert {'form', 'unit', 'stage'} <= set(props), ts.bpmn_id
        assert props['stage'] in STAGES, ts.bpmn_id
        stages.add(props['stage'])
        for key in ('limit', 'sign_limit'):
            if key in props:
                assert props[key], (ts.bpmn_id, key)
        match = re.search(r'\(([a-z_]+)\)$', ts.lane or '')
        assert match and match.group(1) in ROLES, (ts.bpmn_id, ts.lane)
        assert (ts.documentation or '').strip(), ts.bpmn_id
        form_path = FORMS_DIR / props['form']
        assert form_path.is_file(), form_path
        schema = load_form(props['form'])
        Draft202012Validator.check_schema(schema)
        assert schema['type'] == 'object'
        assert schema['x-order'] == list(schema['properties'])
        for key, field in schema['properties'].items():
            assert field.get('title') and field.get('x-title-en'), (props['form'], key)
    assert stages == STAGES


def _lanes(path):
    tree = etree.parse(str(path))
    lanes = {lane.get('name'): [r.text for r in lane.findall('bpmn:flowNodeRef', NS)]
             for lane in tree.iterfind('.//bpmn:lane', NS)}
    process = tree.find('bpmn:process', NS)
    nodes = {el.get('id') for el in process if el.get('id') and el.tag != f'{{{NS["bpmn"]}}}sequenceFlow'
             and el.tag != f'{{{NS["bpmn"]}}}laneSet' and not el.tag.endswith('documentation')}
    refs = [r for refs in lanes.values() for r in refs]
    assert sorted(refs) == sorted(nodes), path.name  # every flow node in exactly one lane
    for name in lanes:
        assert re.search(r'\(([a-z_]+)\)$', name).group(1) in ROLES, (path.name, name)
    return tree, lanes


def test_lanes():
    for path in BPMN_FILES:
        _lanes(path)
    _, lanes = _lanes(BPMN_FILE)
    assert set(lanes) == {'受理员 (operator)', '网格员 (grid_worker)', '派遣员 (dispatcher)', '处置人员 (handler)'}
    assert 'file_case' in lanes['派遣员 (dispatcher)']
    tree, lanes = _lanes(TIER_FILE)
    assert set(lanes) == {'派遣员 (dispatcher)', '处置人员 (handler)'}
    assert 'triage' in lanes['派遣员 (dispatcher)']
    # handle_case sits in the handling sub-process, which is drawn in the handler lane
    assert {'handling', 'report_back'} <= set(lanes['处置人员 (handler)'])
    handling = tree.find('bpmn:process/bpmn:subProcess[@id="handling"]', NS)
    assert {'handle_case', 'cohandle_case'} <= {el.get('id') for el in handling.iterfind('bpmn:userTask', NS)}


def test_other_forms_are_valid_schemas():
    for path in sorted(FORMS_DIR.glob('*.json')):
        schema = json.loads(path.read_text(encoding='utf-8'))
        Draft202012Validator.check_schema(schema)
        assert schema['type'] == 'object'
        assert schema['x-order'] == list(schema['properties']), path.name
        assert set(schema.get('required', [])) <= set(schema['properties']), path.name


def test_case_intake_form():
    validator = Draft202012Validator(load_form('case_intake.json'))
    ok = {'title': '路面积水', 'description': '某路口积水严重', 'address': '人民路1号',
          'channel': 'hotline', 'urgency': 'normal'}
    assert validator.is_valid(ok)
    for phone in ['13812345678', '+8613812345678', '010-12345678', '0571-87654321-801']:
        assert validator.is_valid({**ok, 'reporter_phone': phone}), phone
    for phone in ['12345', '2381234567', 'abc']:
        assert not validator.is_valid({**ok, 'reporter_phone': phone}), phone
    assert not validator.is_valid({**ok, 'channel': 'fax'})
    assert not validator.is_valid({**ok, 'lat': 91})
    assert not validator.is_valid({k: v for k, v in ok.items() if k != 'address'})
    assert validator.is_valid({**ok, 'category_code': 'event:06010', 'lat': 30.27, 'lng': 120.15})
    assert not validator.is_valid({**ok, 'category_code': '06010'})


@pytest.mark.parametrize('path', BPMN_FILES, ids=lambda p: p.name)
def test_bpmn_file_is_safe_and_has_no_reserved_ids(path):
    text = path.read_text(encoding='utf-8')
    assert '<!DOCTYPE' not in text and '<!ENTITY' not in text
    tree = etree.parse(str(path))
    ids = {el.get('id') for el in tree.iter() if isinstance(el.tag, str) and el.get('id')}
    assert not ids & {'Start', 'End'}
    for expr in tree.iterfind('.//bpmn:conditionExpression', NS):
        assert '__' not in expr.text and 'import' not in expr.text and '${' not in expr.text


@pytest.mark.parametrize('path', BPMN_FILES, ids=lambda p: p.name)
def test_diagram_interchange_is_complete(path):
    tree = etree.parse(str(path))
    process = tree.find('bpmn:process', NS)
    collaboration = tree.find('bpmn:collaboration', NS)
    participant = collaboration.find('bpmn:participant', NS)
    assert participant.get('processRef') == process.get('id')
    if path == BPMN_FILE:
        assert process.get('id') == PROCESS_ID
    plane = tree.find('.//bpmndi:BPMNPlane', NS)
    assert plane is not None, f'{path.name} has no diagram (bpmndi): docs/process-conventions.md asks to keep it'
    assert plane.get('bpmnElement') == collaboration.get('id')

    shapes = {}
    for shape in plane.iterfind('bpmndi:BPMNShape', NS):
        b = shape.find('dc:Bounds', NS)
        shapes[shape.get('bpmnElement')] = tuple(float(b.get(k)) for k in ('x', 'y', 'width', 'height'))
    edges = {edge.get('bpmnElement'): [(float(p.get('x')), float(p.get('y')))
                                       for p in edge.iterfind('di:waypoint', NS)]
             for edge in plane.iterfind('bpmndi:BPMNEdge', NS)}

    # sequence flows of the process and of its (expanded) sub-processes
    flows = {f.get('id'): (f.get('sourceRef'), f.get('targetRef')) for f in process.iter(f'{{{NS["bpmn"]}}}sequenceFlow')}
    lanes = [lane.get('id') for lane in process.iterfind('.//bpmn:lane', NS)]
    flow_nodes = {}
    for lane in process.iterfind('.//bpmn:lane', NS):
        for ref in lane.iterfind('bpmn:flowNodeRef', NS):
            flow_nodes[ref.text] = lane.get('id')
    # the flow nodes inside a sub-process are drawn inside it, not referenced by a lane
    nested = {}
    for sub in process.iter(f'{{{NS["bpmn"]}}}subProcess'):
        for el in sub:
            if el.get('id') and el.tag != f'{{{NS["bpmn"]}}}sequenceFlow':
                nested[el.get('id')] = sub.get('id')
    boundary = {b.get('id'): b.get('attachedToRef') for b in process.iter(f'{{{NS["bpmn"]}}}boundaryEvent')}

    assert participant.get('id') in shapes
    for element in lanes + list(flow_nodes) + list(nested):
        assert element in shapes, f'no BPMNShape for {element}'
    assert set(edges) == set(flows), 'every sequence flow needs exactly one BPMNEdge'
    assert set(shapes) == set(lanes) | set(flow_nodes) | set(nested) | {participant.get('id')}

    def inside(inner, outer):
        x, y, w, h = inner
        ox, oy, ow, oh = outer
        return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh

    def on_border(point, box):
        x, y, w, h = box
        px, py = point
        within_x, within_y = x - 0.5 <= px <= x + w + 0.5, y - 0.5 <= py <= y + h + 0.5
        return (within_x and within_y and
                (abs(px - x) < 0.5 or abs(px - x - w) < 0.5 or abs(py - y) < 0.5 or abs(py - y - h) < 0.5))

    def centre(box):
        x, y, w, h = box
        return x + w / 2, y + h / 2

    pool = shapes[participant.get('id')]
    for node, lane in flow_nodes.items():
        assert inside(shapes[lane], pool)
        if node in boundary:
            continue
        assert inside(shapes[node], shapes[lane]), f'{node} is drawn outside its lane {lane}'
    for node, sub in nested.items():
        if node in boundary:
            continue
        assert inside(shapes[node], shapes[sub]), f'{node} is drawn outside its sub-process {sub}'
    for event, activity in boundary.items():
        assert on_border(centre(shapes[event]), shapes[activity]), f'{event} is not drawn on the border of {activity}'
    for flow_id, (src, tgt) in flows.items():
        points = edges[flow_id]
        assert len(points) >= 2
        assert on_border(points[0], shapes[src]), f'{flow_id} does not start on {src}'
        assert on_border(points[-1], shapes[tgt]), f'{flow_id} does not end on {tgt}'
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            assert x1 == x2 or y1 == y2, f'{flow_id} has a diagonal segment'
    # lanes are stacked without gaps or overlaps, inside the pool
    lane_boxes = sorted(shapes[lane] for lane in lanes)
    lane_boxes.sort(key=lambda b: b[1])
    assert lane_boxes[0][1] == pool[1]
    for upper, lower in zip(lane_boxes, lane_boxes[1:]):
        assert upper[1] + upper[3] == lower[1]
    assert lane_boxes[-1][1] + lane_boxes[-1][3] == pool[1] + pool[3]
