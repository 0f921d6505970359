// The BPMN editor's 试运行 (test run) panel: starts a throw-away run of the diagram as edited
// (POST /api/v1/processes/test-runs, the page's session + CSRF token), renders each waiting task's
// form with the product's own renderer (POST /designer/forms/preview), submits it, sends
// 上报/退单, fires timers, and draws the path taken on the canvas. Nothing reaches an inbox: the
// API keeps test runs apart from cases. Texts come from the template (data-texts, through _()).
import { page } from './page';

var RUN_MARKERS = ['tg-run-done', 'tg-run-flow', 'tg-run-waiting', 'tg-run-error'];

// The markers a panel put on the canvas, to take them off again; ``mark`` skips ids not on this
// diagram (elements of a called process in another file) and says whether it marked.
export function canvasMarks(modeler, panel) {
  var canvas = modeler.get('canvas');
  var registry = modeler.get('elementRegistry');
  var marked = [];
  return {
    mark: function (id, marker) {
      if (!id || !registry.get(id)) return false;
      canvas.addMarker(id, marker);
      marked.push([id, marker]);
      return true;
    },
    unmark: function () {
      marked.forEach(function (m) { if (registry.get(m[0])) canvas.removeMarker(m[0], m[1]); });
      marked = [];
    },
    publish: function () {  // for tests and assistive tools: what is marked, as data-marked
      panel.setAttribute('data-marked', marked.map(function (m) { return m[0] + ':' + m[1]; }).join(' '));
    },
  };
}

// A panel's status line.
export function statusLine(status) {
  return function (message, kind) {
    status.textContent = message;
    status.className = 'designer-status' + (kind ? ' designer-status-' + kind : '');
  };
}

export function panelTexts(root) {
  try { return JSON.parse(root.getAttribute('data-texts') || '{}'); } catch (e) { return {}; }
}

export function fill(template, replacements) {
  return String(template || '').replace(/\{([^}]+)\}/g, function (whole, name) {
    return replacements && replacements[name] !== undefined ? String(replacements[name]) : whole;
  });
}

export function el(tag, className, content) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined && content !== null) node.textContent = String(content);
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

// A JSON call with the page's session and CSRF token: resolves {status, body}.
export function call(method, url, body) {
  var d = page();
  var init = { method: method, credentials: 'same-origin',
               headers: { 'Accept': 'application/json', 'X-CSRFToken': d.csrf } };
  if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  return fetch(url, init).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (json) { return { status: r.status, body: json }; });
  });
}

// The messages of an error answer: its message and every field error.
export function errorLines(body) {
  var lines = [];
  if (body && body.message) lines.push(body.message);
  function walk(prefix, value) {
    if (Array.isArray(value)) value.forEach(function (v) { if (typeof v === 'object' && v) walk(prefix, v); else lines.push((prefix ? prefix + ': ' : '') + v); });
    else if (value && typeof value === 'object') Object.keys(value).forEach(function (k) { walk(prefix ? prefix + '.' + k : k, value[k]); });
    else if (value !== undefined && value !== null) lines.push((prefix ? prefix + ': ' : '') + value);
  }
  if (body && body.errors) walk('', body.errors);
  if (body && body.problems) body.problems.forEach(function (p) { lines.push((p.element ? p.element + ': ' : '') + p.message); });
  return lines;
}

function currentFiles(modeler, file) {
  return modeler.saveXML({ format: true }).then(function (out) { var files = {}; files[file] = out.xml; return files; });
}

// The form's values from the rendered fields, typed by the JSON Schema (photo fields left out).
export function formData(form, schema, photoFields) {
  var data = {};
  var props = (schema && schema.properties) || {};
  Object.keys(props).forEach(function (name) {
    if (photoFields.indexOf(name) >= 0) return;
    var prop = props[name];
    var inputs = Array.prototype.filter.call(form.elements, function (x) { return x.name === name; });
    if (!inputs.length) return;
    var type = Array.isArray(prop.type) ? prop.type[0] : prop.type;
    if (type === 'array') {
      data[name] = inputs.filter(function (x) { return x.checked; }).map(function (x) { return x.value; });
      return;
    }
    var input = inputs[0];
    var value;
    if (input.type === 'radio') {
      var picked = inputs.filter(function (x) { return x.checked; })[0];
      if (!picked) return;
      value = picked.value;
    } else if (input.type === 'checkbox') {
      value = input.checked ? 'true' : 'false';
    } else {
      value = input.value;
    }
    if (value === '' || value === undefined) return;
    if (type === 'boolean') data[name] = value === 'true';
    else if (type === 'integer') data[name] = parseInt(value, 10);
    else if (type === 'number') data[name] = Number(value);
    else data[name] = value;
  });
  return data;
}

function prefill(form, values) {
  Object.keys(values || {}).forEach(function (name) {
    var value = values[name];
    Array.prototype.forEach.call(form.elements, function (x) {
      if (x.name !== name) return;
      if (x.type === 'radio') x.checked = String(value) === x.value;
      else if (x.type === 'checkbox') x.checked = Array.isArray(value) ? value.indexOf(x.value) >= 0 : !!value;
      else if (x.tagName === 'SELECT' || x.type !== 'file') x.value = value === null ? '' : String(value);
    });
  });
}

export function setupTestRun(modeler, d) {
  var panel = document.getElementById('designer-testrun');
  if (!panel) return;
  var t = panelTexts(panel);
  var startForm = document.getElementById('testrun-start');
  var status = document.getElementById('testrun-status');
  var waitingBox = document.getElementById('testrun-waiting');
  var timersBox = document.getElementById('testrun-timers');
  var pathList = document.getElementById('testrun-path');
  var errorBox = document.getElementById('testrun-error');
  var effectsBox = document.getElementById('testrun-effects');
  var endButton = document.getElementById('testrun-end');
  var runsUrl = panel.getAttribute('data-url');
  var previewUrl = d.root.getAttribute('data-preview-url');
  var run = null;
  var marks = canvasMarks(modeler, panel);
  var mark = marks.mark, unmark = marks.unmark;
  var say = statusLine(status);

  function mine(item) { return !item.file || item.file === d.file; }

  function draw() {
    unmark();
    var shown = [];
    run.path.forEach(function (p) {
      if (!mine(p)) return;
      if (mark(p.element, 'tg-run-done')) shown.push(p.element);
      mark(p.flow, 'tg-run-flow');
    });
    run.waiting.forEach(function (w) {
      if (!mine(w)) return;
      mark(w.element, 'tg-run-waiting');
      mark(w.flow, 'tg-run-flow');
    });
    if (run.error && run.error.element && mine(run.error)) mark(run.error.element, 'tg-run-error');
    else if (run.elements && run.elements.error) mark(run.elements.error, 'tg-run-error');
    marks.publish();
  }

  function listPath() {
    clear(pathList);
    run.path.forEach(function (p) {
      var li = el('li', 'testrun-step', (p.name || p.element) + ' ');
      li.setAttribute('data-element', p.element);
      li.appendChild(el('span', 'mono muted', '(' + p.element + (mine(p) ? '' : ' · ' + p.file) + ')'));
      pathList.appendChild(li);
    });
    run.waiting.forEach(function (w) {
      var li = el('li', 'testrun-step testrun-step-waiting', fill(t.waiting_at, { name: w.name || w.element }) + ' ');
      li.setAttribute('data-element', w.element);
      li.appendChild(el('span', 'mono muted', '(' + w.element + ')'));
      pathList.appendChild(li);
    });
    clear(errorBox);
    errorBox.hidden = !run.error;
    if (run.error) {
      errorBox.appendChild(el('strong', null, t.failed + ' '));
      errorBox.appendChild(document.createTextNode((run.error.element ? run.error.element + ': ' : '') + (run.error.message || '')));
    }
    clear(effectsBox);
    effectsBox.hidden = !(run.effects && run.effects.length);
    (run.effects || []).forEach(function (e) {
      effectsBox.appendChild(el('li', null, fill(t.effect, { kind: e.kind || e.name || '', detail: JSON.stringify(e) })));
    });
  }

  function afterAnswer(answer, okMessage) {
    if (answer.status === 200 || answer.status === 201) {
      run = answer.body;
      panel.setAttribute('data-run', String(run.id));
      panel.setAttribute('data-status', run.status);
      endButton.hidden = false;
      show();
      var key = { completed: 'completed', stuck: 'stuck', failed: 'failed_start' }[run.status];
      say(run.error ? t.failed + ' ' + (run.error.message || '') : (key ? t[key] : okMessage), run.error ? 'error' : 'success');
      return true;
    }
    if (answer.status === 401 || answer.status === 400) say(t.session_lost, 'error');
    else say(fill(t.request_failed, { status: answer.status, message: errorLines(answer.body).join('；') }), 'error');
    return false;
  }

  function show() {
    draw();
    listPath();
    renderWaiting();
    renderTimers();
  }

  function renderWaiting() {
    clear(waitingBox);
    if (!run.waiting.length) { waitingBox.appendChild(el('p', 'muted', t.no_waiting)); return; }
    run.waiting.forEach(function (w) {
      var box = el('section', 'testrun-task');
      box.setAttribute('data-element', w.element);
      box.appendChild(el('h4', null, (w.name || w.element) + ' '));
      box.firstChild.appendChild(el('span', 'mono muted', w.element));
      var facts = [fill(t.role, { role: w.role || '—' }), fill(t.unit, { unit: w.unit ? w.unit.name + ' (' + w.unit.code + ')' : '—' })];
      if (w.limit) facts.push(fill(t.limit, { limit: w.limit }));
      box.appendChild(el('p', 'muted', facts.join(' · ')));
      if (w.documentation) box.appendChild(el('p', 'testrun-doc', w.documentation));
      if (w.photo_fields && w.photo_fields.length) box.appendChild(el('p', 'muted', t.photos_left_out));
      var holder = el('div', 'testrun-form');
      holder.appendChild(el('p', 'muted', t.loading_form));
      box.appendChild(holder);
      var errors = el('ul', 'testrun-form-errors');
      errors.hidden = true;
      box.appendChild(errors);
      var actions = el('div', 'testrun-actions');
      var submit = el('button', 'btn btn-primary testrun-submit', t.submit);
      submit.type = 'button';
      var reason = el('input', 'testrun-reason');
      reason.type = 'text';
      reason.value = t.default_reason;
      reason.setAttribute('aria-label', t.reason);
      reason.maxLength = 500;
      var escalate = el('button', 'btn testrun-escalate', t.escalate);
      escalate.type = 'button';
      var ret = el('button', 'btn testrun-return', t.return_);
      ret.type = 'button';
      actions.appendChild(submit);
      actions.appendChild(reason);
      actions.appendChild(escalate);
      actions.appendChild(ret);
      box.appendChild(actions);
      waitingBox.appendChild(box);

      var body = new URLSearchParams();
      body.set('schema', JSON.stringify(w.form));
      fetch(previewUrl, { method: 'POST', credentials: 'same-origin', body: body,
                          headers: { 'Accept': 'application/json', 'X-CSRFToken': d.csrf } })
        .then(function (r) { return r.json().then(function (json) { return { status: r.status, body: json }; }); })
        .then(function (answer) {
          if (answer.status !== 200) throw new Error(errorLines(answer.body).join('；') || String(answer.status));
          holder.innerHTML = answer.body.html; // rendered and escaped by the server's own form templates
          var form = holder.querySelector('form');
          (w.photo_fields || []).forEach(function (name) {
            var field = holder.querySelector('[data-field="' + name + '"]');
            if (field) field.parentNode.removeChild(field);
          });
          prefill(form, w.values);
          form.addEventListener('submit', function (event) { event.preventDefault(); submit.click(); });
          box.setAttribute('data-form-ready', 'true');
        })
        .catch(function (err) { clear(holder); holder.appendChild(el('p', 'designer-status-error', fill(t.form_failed, { message: err.message }))); });

      function busy(value) { [submit, escalate, ret].forEach(function (b) { b.disabled = value; }); }
      submit.addEventListener('click', function () {
        var form = holder.querySelector('form');
        var data = form ? formData(form, w.form, w.photo_fields || []) : {};
        busy(true);
        say(t.working);
        call('POST', runsUrl + '/' + run.id + '/tasks/' + encodeURIComponent(w.id), { data: data }).then(function (answer) {
          if (answer.status === 422) {
            clear(errors);
            errorLines(answer.body).forEach(function (line) { errors.appendChild(el('li', null, line)); });
            errors.hidden = false;
            say(t.fix_fields, 'error');
          } else {
            afterAnswer(answer, fill(t.done_step, { name: w.name || w.element }));
          }
        }).catch(function () { say(t.network, 'error'); }).then(function () { busy(false); });
      });
      [[escalate, 'escalate'], [ret, 'return']].forEach(function (pair) {
        pair[0].addEventListener('click', function () {
          busy(true);
          say(t.working);
          call('POST', runsUrl + '/' + run.id + '/signals', { task: w.id, name: pair[1], reason: reason.value || t.default_reason })
            .then(function (answer) { afterAnswer(answer, fill(t.signalled, { name: w.name || w.element })); })
            .catch(function () { say(t.network, 'error'); }).then(function () { busy(false); });
        });
      });
    });
  }

  function renderTimers() {
    clear(timersBox);
    timersBox.hidden = !(run.timers && run.timers.length);
    (run.timers || []).forEach(function (timer) {
      var li = el('li', 'testrun-timer', fill(t.timer, { name: timer.name || timer.element, at: new Date(timer.at).toLocaleString() }) + ' ');
      li.setAttribute('data-element', timer.element);
      var fire = el('button', 'btn btn-quiet testrun-fire', t.fire);
      fire.type = 'button';
      fire.addEventListener('click', function () {
        fire.disabled = true;
        say(t.working);
        // a moment just after the timer's: every timer due by then fires
        call('POST', runsUrl + '/' + run.id + '/timers', { at: new Date(Date.parse(timer.at) + 1000).toISOString() })
          .then(function (answer) { afterAnswer(answer, fill(t.fired, { name: timer.name || timer.element })); })
          .catch(function () { say(t.network, 'error'); fire.disabled = false; });
      });
      li.appendChild(fire);
      timersBox.appendChild(li);
    });
  }

  startForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var data = {};
    Array.prototype.forEach.call(startForm.elements, function (x) {
      if (x.name && x.value !== '') data[x.name] = x.value;
    });
    var button = startForm.querySelector('button[type="submit"]');
    button.disabled = true;
    say(t.starting);
    currentFiles(modeler, d.file)
      .then(function (files) { return call('POST', runsUrl, { files: files, data: data }); })
      .then(function (answer) {
        if (answer.status === 422 && answer.body && answer.body.problems) {
          say(fill(t.draft_problems, { n: answer.body.problems.length }) + ' ' + errorLines(answer.body).slice(1).join('；'), 'error');
        } else {
          afterAnswer(answer, t.started);
        }
      })
      .catch(function () { say(t.network, 'error'); })
      .then(function () { button.disabled = false; });
  });

  endButton.addEventListener('click', function () {
    if (!run) return;
    call('DELETE', runsUrl + '/' + run.id).then(function () {
      run = null;
      unmark();
      [waitingBox, timersBox, pathList, effectsBox, errorBox].forEach(clear);
      panel.removeAttribute('data-run');
      panel.removeAttribute('data-status');
      panel.setAttribute('data-marked', '');
      endButton.hidden = true;
      say(t.ended);
    });
  });
}

export { RUN_MARKERS };
