// What the designer pages hand their scripts: data-* attributes of the #designer element, written
// by the server (texts through _(), so no text is hard-coded in JavaScript).
export function pageData() {
  var root = document.getElementById('designer');
  if (!root) return null;
  function json(name, fallback) {
    var raw = root.getAttribute('data-' + name);
    if (!raw) return fallback;
    try { return JSON.parse(raw); } catch (e) { return fallback; }
  }
  return {
    root: root,
    file: root.getAttribute('data-file'),
    sourceUrl: root.getAttribute('data-source-url'),
    saveUrl: root.getAttribute('data-save-url'),
    csrf: root.getAttribute('data-csrf'),
    library: json('library-texts', {}),
    texts: json('texts', {}),
    forms: json('forms', []),
    processes: json('processes', []),
    decisions: json('decisions', []),
    roles: json('roles', []),
    stages: json('stages', [])
  };
}

var data = null;

export function page() {
  if (!data) data = pageData();
  return data;
}

// A text of the page, with {name} replaced.
export function text(key, replacements) {
  var d = page();
  var template = (d && d.texts[key]) || key;
  return template.replace(/\{([^}]+)\}/g, function (whole, name) {
    return replacements && replacements[name] !== undefined ? String(replacements[name]) : whole;
  });
}

// bpmn.io's translate service over the page's table {English: the user's language}.
export var translateModule = {
  translate: ['value', function translate(template, replacements) {
    var d = page();
    var t = (d && d.library[template]) || template;
    return t.replace(/\{([^}]+)\}/g, function (whole, name) {
      return replacements && replacements[name] !== undefined ? String(replacements[name]) : whole;
    });
  }]
};

// POST the files to the drafts API (session cookie + CSRF header, as the page's forms do).
export function saveFiles(files) {
  var d = page();
  return fetch(d.saveUrl, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': d.csrf },
    body: JSON.stringify({ files: files })
  }).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (body) { return { status: r.status, body: body }; });
  });
}

// The list of problems under the editor, and the status line.
export function showStatus(message, kind) {
  var el = document.getElementById('designer-status');
  if (!el) return;
  el.textContent = message;
  el.className = 'designer-status' + (kind ? ' designer-status-' + kind : '');
}

export function showProblems(problems, onPick) {
  var list = document.getElementById('designer-problems');
  if (!list) return;
  while (list.firstChild) list.removeChild(list.firstChild);
  list.hidden = !problems.length;
  problems.forEach(function (p) {
    var li = document.createElement('li');
    li.className = 'designer-problem designer-problem-' + (p.severity || 'error');
    li.setAttribute('data-element', p.element || '');
    var sev = document.createElement('span');
    sev.className = 'designer-problem-severity';
    sev.textContent = text(p.severity === 'warning' ? 'warning' : 'error');
    li.appendChild(sev);
    if (p.element) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn-quiet designer-problem-element';
      b.textContent = p.label ? p.label + ' (' + p.element + ')' : p.element;
      b.addEventListener('click', function () { if (onPick) onPick(p.element); });
      li.appendChild(b);
    }
    li.appendChild(document.createTextNode(' ' + p.message));
    list.appendChild(li);
  });
}

// Answer of a save: the problems, or why it failed.
export function handleSaveAnswer(answer, onProblems) {
  var body = answer.body || {};
  if (answer.status === 201 || answer.status === 200) {
    var problems = body.problems || [];
    onProblems(problems);
    setDirty(false);
    if (body.ok) showStatus(text('saved', { id: body.id }), 'success');
    else showStatus(text('saved_with_problems', { id: body.id, n: problems.length }), 'error');
  } else if (answer.status === 404 || answer.status === 405) {
    showStatus(text('save_unavailable'), 'error');
  } else if (answer.status === 413) {
    showStatus(text('too_large'), 'error');
  } else {
    showStatus(text('save_failed', { status: answer.status, message: body.message || '' }), 'error');
  }
}

export function fetchSource() {
  var d = page();
  return fetch(d.sourceUrl, { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) throw new Error(String(r.status));
    return r.text();
  });
}

// Unsaved changes: marked on the page (data-dirty) and asked about when leaving it.
var dirty = false;
export function setDirty(value) {
  dirty = value;
  var d = page();
  if (d) d.root.setAttribute('data-dirty', value ? 'true' : 'false');
}
window.addEventListener('beforeunload', function (event) {
  if (!dirty) return;
  event.preventDefault();
  event.returnValue = '';
});
