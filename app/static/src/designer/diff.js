// The BPMN editor's 差异 (diff) panel: what the diagram as edited changes against the deployed
// version (POST /api/v1/processes/diff). Added and changed elements are coloured on the canvas;
// the list gives added, removed (only there: they are not on the diagram) and changed elements
// with each field before → after.
import { call, canvasMarks, clear, el, errorLines, fill, panelTexts, statusLine } from './testrun';

export function setupDiff(modeler, d) {
  var panel = document.getElementById('designer-diff');
  if (!panel) return;
  var t = panelTexts(panel);
  var canvas = modeler.get('canvas');
  var registry = modeler.get('elementRegistry');
  var button = document.getElementById('diff-run');
  var status = document.getElementById('diff-status');
  var list = document.getElementById('diff-list');
  var marks = canvasMarks(modeler, panel);
  var mark = marks.mark, unmark = marks.unmark;
  var say = statusLine(status);

  function value(v) {
    if (v === null || v === undefined || v === '') return t.empty;
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  function item(kind, entry) {
    var li = el('li', 'diff-item diff-' + kind);
    li.setAttribute('data-element', entry.id);
    li.appendChild(el('span', 'diff-kind', t[kind] + ' '));
    li.appendChild(document.createTextNode((entry.name || entry.id) + ' '));
    li.appendChild(el('span', 'mono muted', '(' + entry.id + (entry.type ? ' · ' + entry.type : '') + ')'));
    if (entry.changes && entry.changes.length) {
      var changes = el('ul', 'diff-changes');
      entry.changes.forEach(function (c) {
        var row = el('li', 'diff-change');
        row.setAttribute('data-field', c.field);
        row.appendChild(el('span', 'mono', c.field + ': '));
        row.appendChild(el('span', 'diff-before', value(c.before)));
        row.appendChild(document.createTextNode(' → '));
        row.appendChild(el('span', 'diff-after', value(c.after)));
        changes.appendChild(row);
      });
      li.appendChild(changes);
    }
    if (registry.get(entry.id)) {
      li.classList.add('diff-on-diagram');
      li.addEventListener('click', function () {
        var shape = registry.get(entry.id);
        if (!shape) return;
        modeler.get('selection').select(shape);
        canvas.scrollToElement(shape);
      });
    }
    return li;
  }

  function show(answer) {
    unmark();
    clear(list);
    var mine = (answer.files || []).filter(function (f) { return f.file === d.file; })[0];
    if (!mine || !answer.changed || mine.status === 'unchanged') {
      say(t.no_change, 'success');
      panel.setAttribute('data-changed', 'false');
      return;
    }
    if (mine.error) { say(fill(t.unreadable, { message: mine.error }), 'error'); return; }
    (mine.elements.added || []).forEach(function (id) { mark(id, 'tg-diff-added'); });
    (mine.elements.changed || []).forEach(function (id) { mark(id, 'tg-diff-changed'); });
    var n = 0;
    (mine.parts || []).forEach(function (part) {
      if (part.status === 'unchanged') return;
      var section = el('li', 'diff-part');
      section.appendChild(el('strong', null, fill(t.part, { id: part.id, status: t['status_' + part.status] || part.status })));
      var items = el('ul', 'diff-items');
      ['added', 'removed', 'changed'].forEach(function (kind) {
        (part[kind] || []).forEach(function (entry) { items.appendChild(item(kind, entry)); n += 1; });
      });
      section.appendChild(items);
      list.appendChild(section);
    });
    panel.setAttribute('data-changed', 'true');
    marks.publish();
    say(fill(t.summary, { n: n, added: (mine.elements.added || []).length, removed: (mine.elements.removed || []).length,
                          changed: (mine.elements.changed || []).length }));
  }

  button.addEventListener('click', function () {
    button.disabled = true;
    say(t.working);
    modeler.saveXML({ format: true })
      .then(function (out) { var files = {}; files[d.file] = out.xml; return call('POST', panel.getAttribute('data-url'), { files: files }); })
      .then(function (answer) {
        if (answer.status === 200) show(answer.body);
        else say(fill(t.failed, { status: answer.status, message: errorLines(answer.body).join('；') }), 'error');
      })
      .catch(function () { say(t.network, 'error'); })
      .then(function () { button.disabled = false; });
  });
}
