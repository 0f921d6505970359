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
        var viewer = modeler.getActiveViewer();
        if (viewer && !viewer.__tongguanWatched) {
          viewer.__tongguanWatched = true;
          viewer.on('commandStack.changed', function () { setDirty(true); });
        }
      });
      var viewer = modeler.getActiveViewer();
      if (viewer) { viewer.__tongguanWatched = true; viewer.on('commandStack.changed', function () { setDirty(true); }); }
      d.root.setAttribute('data-ready', 'true');
    })
    .catch(function (err) {
      showStatus(text('open_failed', { message: err.message || String(err) }), 'error');
      d.root.setAttribute('data-ready', 'error');
    });

  wireSaveButton(function () { return modeler.saveXML({ format: true }).then(function (out) { return out.xml; }); },
                 function (problems) { showProblems(problems); });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
