// Tongguan's BPMN editor page (/designer/bpmn/<file>): bpmn-js Modeler with the properties panel,
// the "统管约定" group, bpmnlint while drawing, and saving as a draft. window.tongguanDesigner is
// the modeler (the browser tests and the benchmark read it).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import spiffworkflow from './designer/spiffworkflow.json';
import lintConfig from './designer/lint';
import tongguanProperties from './designer/properties';
import { fetchSource, page, setDirty, showProblems, showStatus, text, translateModule, wireSaveButton } from './designer/page';
import { setupTestRun } from './designer/testrun';
import { setupDiff } from './designer/diff';
import { layOut } from './designer/layout';
import './designer/designer.css';

function start() {
  var d = page();
  if (!d || d.root.getAttribute('data-kind') !== 'bpmn') return;
  var modeler = new BpmnModeler({
    container: '#designer-canvas',
    // the general group and Tongguan's conventions open, as a designer needs them most
    propertiesPanel: { parent: '#designer-properties', layout: { groups: { general: { open: true }, tongguan: { open: true } } } },
    linting: { bpmnlint: lintConfig, active: true },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, tongguanProperties, lintModule, translateModule],
    moddleExtensions: { spiffworkflow: spiffworkflow }
  });
  window.tongguanDesigner = modeler;
  var canvas = modeler.get('canvas');
  var marked = [];

  function pick(id) {
    var registry = modeler.get('elementRegistry');
    var el = registry.get(id);
    if (!el) return;
    modeler.get('selection').select(el);
    canvas.scrollToElement(el);
  }

  function markProblems(problems) {
    var registry = modeler.get('elementRegistry');
    marked.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, 'tg-problem'); });
    marked = [];
    problems.forEach(function (p) {
      var el = p.element && registry.get(p.element);
      if (el) {
        canvas.addMarker(p.element, 'tg-problem');
        marked.push(p.element);
        if (!p.label && el.businessObject && el.businessObject.name) p.label = el.businessObject.name;
      }
    });
    showProblems(problems, pick);
  }

  // a file without a diagram (many tools save none) is laid out first; nothing else of it changes
  var laidOut = false;
  function open(xml) {
    return modeler.get('moddle').fromXML(xml, 'bpmn:Definitions').then(function (read) {
      laidOut = layOut(modeler.get('moddle'), read.rootElement);
      if (!laidOut) return modeler.importXML(xml);
      return modeler.importDefinitions(read.rootElement).then(function (result) {
        result.warnings = (read.warnings || []).concat(result.warnings || []);
        if (laidOut) setDirty(true); // the diagram drawn here is saved with the next save
        return result;
      });
    });
  }

  fetchSource()
    .then(open)
    .then(function (result) {
      canvas.zoom('fit-viewport');
      modeler.on('commandStack.changed', function () { setDirty(modeler.get('commandStack').canUndo()); });
      setupTestRun(modeler, d); // the 试运行 and 差异 panels below the editor
      setupDiff(modeler, d);
      if (result.warnings && result.warnings.length) showStatus(text('import_warnings', { n: result.warnings.length }), 'warning');
      else if (laidOut) showStatus(text('laid_out'), 'warning');
      // my draft's stored problems of this file (an import, the last save): listed and marked
      if (d.problems.length) markProblems(d.problems);
      d.root.setAttribute('data-laid-out', laidOut ? 'true' : 'false');
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
