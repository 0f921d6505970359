// Tongguan's form editor page (/designer/form/<file>): the JSON Schema in a text area, a live
// preview rendered by the server with the product's own form macros (POST /designer/forms/preview),
// saving as a draft.
import { fetchSource, page, setDirty, showProblems, showStatus, text, wireSaveButton } from './designer/page';
import './designer/designer.css';

function start() {
  var d = page();
  if (!d || d.root.getAttribute('data-kind') !== 'form') return;
  var area = document.getElementById('designer-form-text');
  var preview = document.getElementById('designer-preview');
  var error = document.getElementById('designer-preview-error');
  var previewUrl = d.root.getAttribute('data-preview-url');
  var seq = 0;
  var timer = null;

  function render() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set('schema', area.value);
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
        d.root.setAttribute('data-preview-fields', String(answer.body.fields));
      } else {
        var errors = (answer.body.errors && answer.body.errors.schema) || [answer.body.message || String(answer.status)];
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
    render();
  }).catch(function (err) {
    showStatus(text('open_failed', { message: err.message || String(err) }), 'error');
    d.root.setAttribute('data-ready', 'error');
  });

  wireSaveButton(function () { return area.value; }, function (problems) { showProblems(problems); });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
