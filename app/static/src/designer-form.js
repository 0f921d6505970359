// Tongguan's JSON editor pages: a form (/designer/form/<file>: the JSON Schema in a text area, a live
// preview rendered by the server with the product's own form macros, POST /designer/forms/preview)
// and a KPI formula (/designer/kpi/<file>: the formula, computed over last month by the server,
// POST /designer/kpis/preview); both save as a draft.
import { fetchSource, page, setDirty, showProblems, showStatus, text, wireSaveButton } from './designer/page';
import './designer/designer.css';

function start() {
  var d = page();
  var kind = d && d.root.getAttribute('data-kind');
  if (kind !== 'form' && kind !== 'kpi') return;
  var field = kind === 'kpi' ? 'formula' : 'schema';
  var area = document.getElementById('designer-form-text');
  var preview = document.getElementById('designer-preview');
  var error = document.getElementById('designer-preview-error');
  var previewUrl = d.root.getAttribute('data-preview-url');
  var seq = 0;
  var timer = null;
  var problems = [];

  // a problem of a field: the field marked in the preview with its message (put back after each
  // render); its button selects the field in the text
  function paint() {
    Array.prototype.forEach.call(preview.querySelectorAll('.tg-problem-message'), function (el) { el.remove(); });
    Array.prototype.forEach.call(preview.querySelectorAll('.tg-problem'), function (el) { el.classList.remove('tg-problem'); });
    problems.forEach(function (p) {
      if (!p.element) return;
      Array.prototype.forEach.call(preview.querySelectorAll('[data-field]'), function (field) {
        if (field.getAttribute('data-field') !== p.element) return;
        field.classList.add('tg-problem');
        var message = document.createElement('p');
        message.className = 'tg-problem-message';
        message.textContent = p.message;
        field.appendChild(message);
      });
    });
  }

  function pick(name) {
    var at = area.value.indexOf(JSON.stringify(name) + ':');
    if (at < 0) at = area.value.indexOf(JSON.stringify(name));
    if (at < 0) return;
    area.focus();
    area.setSelectionRange(at, at + JSON.stringify(name).length);
  }

  function markProblems(list) {
    problems = list.filter(function (p) { return !p.file || p.file === d.file; });
    paint();
    showProblems(list, pick);
  }

  function render() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set(field, area.value);
    body.set('file', d.file);
    fetch(previewUrl, {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'Accept': 'application/json', 'X-CSRFToken': d.csrf }
    }).then(function (r) {
      return r.json().then(function (json) { return { status: r.status, body: json }; });
    }).then(function (answer) {
      if (mine !== seq) return;
      if (answer.status === 200) {
        error.hidden = true;
        preview.innerHTML = answer.body.html; // rendered and escaped by the server's templates
        paint();
        d.root.setAttribute('data-preview-fields', String(answer.body.fields));
      } else {
        var errors = (answer.body.errors && answer.body.errors[field]) || [answer.body.message || String(answer.status)];
        error.textContent = errors.join(' ');
        error.hidden = false;
      }
      d.root.setAttribute('data-ready', 'true');
    }).catch(function (err) {
      if (mine !== seq) return;
      error.textContent = text('preview_failed', { message: err.message || String(err) });
      error.hidden = false;
    });
  }

  area.addEventListener('input', function () {
    setDirty(true);
    clearTimeout(timer);
    timer = setTimeout(render, 300);
  });

  fetchSource().then(function (source) {
    area.value = source;
    if (d.problems.length) markProblems(d.problems); // my draft's stored problems of this file
    render();
  }).catch(function (err) {
    showStatus(text('open_failed', { message: err.message || String(err) }), 'error');
    d.root.setAttribute('data-ready', 'error');
  });

  wireSaveButton(function () { return area.value; }, markProblems);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
