// A diagram for a BPMN file that has none. Many tools (Signavio's and Trisotech's XML exports,
// Camunda 8 files written by code, SpiffWorkflow's test files) save the process without BPMN DI;
// bpmn-js cannot open such a file ("no diagram to display"). Here each process is laid out left to
// right: columns by the order of the sequence flows from the start, one band per lane (a pool
// around them, added when the file has lanes but no collaboration), boundary events on their
// task. Only the diagram is added: every element, name, flow and property of the file is kept.
import { is } from 'bpmn-js/lib/util/ModelUtil';

var COLUMN = 160, ROW = 110, POOL_LABEL = 30, MIN_BAND = 140, GAP = 40;

function size(node) {
  if (is(node, 'bpmn:Gateway')) return { width: 50, height: 50 };
  if (is(node, 'bpmn:Event')) return { width: 36, height: 36 };
  return { width: 100, height: 80 };
}

export function needsLayout(definitions) {
  return !(definitions.get('diagrams') || []).some(function (d) { return d.plane && d.plane.bpmnElement; });
}

function leafLanes(laneSets) {
  var out = [];
  (laneSets || []).forEach(function (set) {
    (set.lanes || []).forEach(function (lane) {
      var child = lane.childLaneSet;
      if (child && (child.lanes || []).length) out = out.concat(leafLanes([child]));
      else out.push(lane);
    });
  });
  return out;
}

// columns: breadth first from the nodes nothing flows into (a loop back keeps its first column)
function columns(nodes, flows) {
  var out = {}, next = {}, incoming = {};
  nodes.forEach(function (n) { next[n.id] = []; incoming[n.id] = 0; });
  flows.forEach(function (f) {
    if (f.sourceRef && f.targetRef && next[f.sourceRef.id] && next[f.targetRef.id] !== undefined) {
      next[f.sourceRef.id].push(f.targetRef.id);
      incoming[f.targetRef.id] += 1;
    }
  });
  var queue = nodes.filter(function (n) { return !incoming[n.id]; }).map(function (n) { return n.id; });
  if (!queue.length && nodes.length) queue = [nodes[0].id];
  queue.forEach(function (id) { out[id] = 0; });
  while (queue.length) {
    var id = queue.shift();
    next[id].forEach(function (to) {
      if (out[to] === undefined) { out[to] = out[id] + 1; queue.push(to); }
    });
    if (!queue.length) {  // a part no flow reaches: after what was placed
      var rest = nodes.filter(function (n) { return out[n.id] === undefined; })[0];
      if (rest) { out[rest.id] = 0; queue.push(rest.id); }
    }
  }
  return out;
}

function bounds(moddle, x, y, s) {
  return moddle.create('dc:Bounds', { x: Math.round(x), y: Math.round(y), width: s.width, height: s.height });
}

function point(moddle, x, y) { return moddle.create('dc:Point', { x: Math.round(x), y: Math.round(y) }); }

// lays out one process at (x0, y0); returns its size and pushes its shapes and edges
function layOutProcess(moddle, process, x0, y0, out) {
  var elements = process.get('flowElements') || [];
  var nodes = elements.filter(function (e) { return is(e, 'bpmn:FlowNode') && !is(e, 'bpmn:BoundaryEvent'); });
  var flows = elements.filter(function (e) { return is(e, 'bpmn:SequenceFlow'); });
  var col = columns(nodes, flows);
  var lanes = leafLanes(process.get('laneSets'));
  var bandOf = {};
  lanes.forEach(function (lane, i) { (lane.get('flowNodeRef') || []).forEach(function (n) { bandOf[n.id] = i; }); });
  var bands = lanes.length ? lanes.length + (nodes.some(function (n) { return bandOf[n.id] === undefined; }) ? 1 : 0) : 1;
  nodes.forEach(function (n) { if (bandOf[n.id] === undefined) bandOf[n.id] = lanes.length ? lanes.length : 0; });
  // rows within a band: nodes of one column stacked
  var slot = {}, depth = [];
  for (var b = 0; b < bands; b++) depth.push(1);
  nodes.forEach(function (n) {
    var key = bandOf[n.id] + ':' + col[n.id];
    slot[n.id] = slot[key] || 0;
    slot[key] = slot[n.id] + 1;
    depth[bandOf[n.id]] = Math.max(depth[bandOf[n.id]], slot[key]);
  });
  var heights = depth.map(function (d) { return Math.max(MIN_BAND, d * ROW + 30); });
  var tops = [];
  heights.reduce(function (top, h, i) { tops[i] = top; return top + h; }, y0);
  var height = heights.reduce(function (a, h) { return a + h; }, 0);
  var maxCol = nodes.reduce(function (m, n) { return Math.max(m, col[n.id]); }, 0);
  var width = POOL_LABEL + (maxCol + 1) * COLUMN + GAP;
  var centre = {};
  nodes.forEach(function (n) {
    var s = size(n);
    var cx = x0 + POOL_LABEL + col[n.id] * COLUMN + COLUMN / 2;
    var cy = tops[bandOf[n.id]] + 15 + slot[n.id] * ROW + ROW / 2;
    centre[n.id] = { x: cx, y: cy, s: s };
    var attrs = { id: n.id + '_di', bpmnElement: n, bounds: bounds(moddle, cx - s.width / 2, cy - s.height / 2, s) };
    if (is(n, 'bpmn:SubProcess')) attrs.isExpanded = false;
    if (is(n, 'bpmn:ExclusiveGateway')) attrs.isMarkerVisible = true;
    out.push(moddle.create('bpmndi:BPMNShape', attrs));
  });
  elements.filter(function (e) { return is(e, 'bpmn:BoundaryEvent') && e.attachedToRef && centre[e.attachedToRef.id]; })
    .forEach(function (e, i) {
      var host = centre[e.attachedToRef.id];
      var s = size(e);
      centre[e.id] = { x: host.x - 30 + (i % 3) * 30, y: host.y + host.s.height / 2, s: s };
      out.push(moddle.create('bpmndi:BPMNShape', { id: e.id + '_di', bpmnElement: e,
        bounds: bounds(moddle, centre[e.id].x - s.width / 2, centre[e.id].y - s.height / 2, s) }));
    });
  flows.forEach(function (f) {
    var a = f.sourceRef && centre[f.sourceRef.id], z = f.targetRef && centre[f.targetRef.id];
    if (!a || !z) return;
    var points;
    if (col[f.targetRef.id] > col[f.sourceRef.id] || is(f.sourceRef, 'bpmn:BoundaryEvent')) {
      var sx = a.x + a.s.width / 2, tx = z.x - z.s.width / 2;
      if (is(f.sourceRef, 'bpmn:BoundaryEvent')) { sx = a.x; }
      var sy = is(f.sourceRef, 'bpmn:BoundaryEvent') ? a.y + a.s.height / 2 : a.y;
      points = Math.abs(sy - z.y) < 1 ? [[sx, sy], [tx, z.y]]
        : is(f.sourceRef, 'bpmn:BoundaryEvent') ? [[sx, sy], [sx, z.y], [tx, z.y]]
          : [[sx, sy], [(sx + tx) / 2, sy], [(sx + tx) / 2, z.y], [tx, z.y]];
    } else {  // back or within a column: around below
      var below = Math.max(a.y + a.s.height / 2, z.y + z.s.height / 2) + 20;
      points = [[a.x, a.y + a.s.height / 2], [a.x, below], [z.x, below], [z.x, z.y + z.s.height / 2]];
    }
    out.push(moddle.create('bpmndi:BPMNEdge', { id: f.id + '_di', bpmnElement: f,
      waypoint: points.map(function (p) { return point(moddle, p[0], p[1]); }) }));
  });
  lanes.forEach(function (lane, i) {
    out.push(moddle.create('bpmndi:BPMNShape', { id: lane.id + '_di', bpmnElement: lane, isHorizontal: true,
      bounds: bounds(moddle, x0 + POOL_LABEL, tops[i], { width: width - POOL_LABEL, height: heights[i] }) }));
  });
  return { width: width, height: height, lanes: lanes.length };
}

// Adds a diagram to `definitions` (a bpmn:Definitions read by bpmn-js's moddle); returns whether it did.
export function layOut(moddle, definitions) {
  if (!needsLayout(definitions)) return false;
  var roots = definitions.get('rootElements');
  var processes = roots.filter(function (r) { return is(r, 'bpmn:Process'); });
  var collaboration = roots.filter(function (r) { return is(r, 'bpmn:Collaboration'); })[0];
  if (!collaboration && processes.some(function (p) { return leafLanes(p.get('laneSets')).length; })) {
    // lanes are drawn in a pool: one participant per process
    collaboration = moddle.create('bpmn:Collaboration', { id: 'Collaboration_' + (processes[0].id || 'imported') });
    collaboration.$parent = definitions;
    collaboration.set('participants', processes.map(function (p) {
      var participant = moddle.create('bpmn:Participant', { id: 'Participant_' + p.id, name: p.name, processRef: p });
      participant.$parent = collaboration;
      return participant;
    }));
    roots.unshift(collaboration);
  }
  var participants = collaboration ? (collaboration.get('participants') || []) : [];
  var planeElements = [];
  var y = 80;
  processes.forEach(function (p) {
    var block = layOutProcess(moddle, p, 160, y, planeElements);
    var participant = participants.filter(function (pa) { return pa.processRef === p; })[0];
    if (participant) {
      planeElements.push(moddle.create('bpmndi:BPMNShape', { id: participant.id + '_di', bpmnElement: participant,
        isHorizontal: true, bounds: bounds(moddle, 160, y, { width: block.width, height: block.height }) }));
    }
    y += block.height + GAP;
  });
  var plane = moddle.create('bpmndi:BPMNPlane', { id: 'BPMNPlane_imported', bpmnElement: collaboration || processes[0],
    planeElement: planeElements });
  var diagram = moddle.create('bpmndi:BPMNDiagram', { id: 'BPMNDiagram_imported', plane: plane });
  plane.$parent = diagram;
  diagram.$parent = definitions;
  definitions.set('diagrams', [diagram]);
  return true;
}
