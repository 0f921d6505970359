// Tongguan's DMN editor page (/designer/dmn/<file>): dmn-js (decision tables and the decision
// requirements diagram), saving as a draft. window.tongguanDesigner is the modeler.
import DmnModeler from 'dmn-js/lib/Modeler';
import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression-controls.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';
import { fetchSource, page, setDirty, showProblems, showStatus, text, translateModule, wireSaveButton } from './designer/page';
import './designer/designer.css';

function start() {
  var d = page();
  if (!d || d.root.getAttribute('data-kind') !== 'dmn') return;
  var modeler = new DmnModeler({
    container: '#designer-canvas',
    common: { additionalModules: [translateModule] }
  });
  window.tongguanDesigner = modeler;
  var problems = [];

  // a problem's element in the decision table: a cell (its id), an input or output column (its
  // header), a rule (its row); marked red with the message as its tooltip. dmn-js redraws cells
  // as they are edited, so the marks are put back after every change.
  function cellsOf(id) {
    var root = document.getElementById('designer-canvas');
    var esc = window.CSS && CSS.escape ? CSS.escape(id) : id;
    var found = root.querySelectorAll('[data-element-id="' + esc + '"]');
    if (!found.length) found = root.querySelectorAll('th[data-col-id="' + esc + '"]');
    if (!found.length) found = root.querySelectorAll('[data-row-id="' + esc + '"]');
    return Array.prototype.slice.call(found);
  }

  function paint() {
    var root = document.getElementById('designer-canvas');
    Array.prototype.forEach.call(root.querySelectorAll('.tg-problem'), function (el) {
      el.classList.remove('tg-problem');
      el.removeAttribute('data-problem');
      el.removeAttribute('title');
    });
    problems.forEach(function (p) {
      if (!p.element) return;
      cellsOf(p.element).forEach(function (el) {
        el.classList.add('tg-problem');
        var before = el.getAttribute('data-problem');
        var message = before ? before + '\n' + p.message : p.message;
        el.setAttribute('data-problem', message);
        el.setAttribute('title', message);
      });
    });
  }

  function markProblems(list) {
    problems = list.filter(function (p) { return !p.file || p.file === d.file; });
    paint();
    showProblems(list, function (id) {
      var el = cellsOf(id)[0];
      if (!el) return;
      el.scrollIntoView({ block: 'center' });
    });
  }

  function watch(viewer) {
    if (!viewer || viewer.__tongguanWatched) return;
    viewer.__tongguanWatched = true;
    viewer.on('commandStack.changed', function () { setDirty(true); });
    viewer.on('elements.changed', function () { setTimeout(paint, 0); });
  }

  fetchSource()
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function (result) {
      // open the first decision table, where the rules are
      var table = modeler.getViews().filter(function (v) { return v.type === 'decisionTable'; })[0];
      if (table) return modeler.open(table).then(function () { return result; });
      return result;
    })
    .then(function (result) {
      if (result && result.warnings && result.warnings.length) showStatus(text('import_warnings', { n: result.warnings.length }), 'warning');
      modeler.on('views.changed', function () {
        watch(modeler.getActiveViewer());
        setTimeout(paint, 0);
      });
      watch(modeler.getActiveViewer());
      // my draft's stored problems of this file (an import, the last save): listed and marked
      if (d.problems.length) markProblems(d.problems);
      d.root.setAttribute('data-ready', 'true');
    })
    .catch(function (err) {
      showStatus(text('open_failed', { message: err.message || String(err) }), 'error');
      d.root.setAttribute('data-ready', 'error');
    });

  wireSaveButton(function () { return modeler.saveXML({ format: true }).then(function (out) { return out.xml; }); },
                 markProblems);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
