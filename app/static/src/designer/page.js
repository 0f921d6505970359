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
    draftsUrl: root.getAttribute('data-drafts-url') || root.getAttribute('data-save-url'),
    draftId: root.getAttribute('data-draft-id') || null,
    draftRevision: parseInt(root.getAttribute('data-draft-revision'), 10) || null,
    library: json('library-texts', {}),
    texts: json('texts', {}),
    forms: json('forms', []),
    processes: json('processes', []),
    decisions: json('decisions', []),
    roles: json('roles', []),
    stages: json('stages', []),
    problems: json('problems', [])  // my draft's problems of this file, as its last save found them
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

// Save the files as my draft (session cookie + CSRF header, as the page's forms do): the first save
// POSTs a new draft; once I have one (the page says so, or the POST answers 409 with `draft`), PUT
// into it with the revision loaded, so a copy saved meanwhile elsewhere is refused, not overwritten.
function send(method, url, body) {
  var d = page();
  return fetch(url, {
    method: method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': d.csrf },
    body: body === undefined ? undefined : JSON.stringify(body)
  }).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (json) { return { status: r.status, body: json }; });
  });
}

function putDraft(files) {
  var d = page();
  var body = { files: files };
  if (d.draftRevision) body.revision = d.draftRevision;
  return send('PUT', d.draftsUrl + '/' + d.draftId, body);
}

export function saveFiles(files) {
  var d = page();
  if (d.draftId) return putDraft(files);
  return send('POST', d.draftsUrl, { files: files }).then(function (answer) {
    if (answer.status !== 409 || !answer.body || !answer.body.draft) return answer;
    // a draft of mine is open already (another tab): save into it, at the revision it has now
    d.draftId = String(answer.body.draft);
    return send('GET', d.draftsUrl + '/' + d.draftId).then(function (loaded) {
      d.draftRevision = (loaded.body && loaded.body.revision) || null;
      return putDraft(files);
    });
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
  var d = page();
  if (answer.status === 201 || answer.status === 200) {
    var problems = body.problems || [];
    d.draftId = String(body.id);
    d.draftRevision = body.revision || null;
    d.root.setAttribute('data-draft-id', d.draftId);
    d.root.setAttribute('data-draft-revision', String(d.draftRevision || ''));
    onProblems(problems);
    setDirty(false);
    if (body.ok) showStatus(text('saved', { id: body.id }), 'success');
    else showStatus(text('saved_with_problems', { id: body.id, n: problems.length }), 'error');
  } else if (answer.status === 409 && body.editing_by) {
    showStatus(text('editing_by', { message: body.message || '' }), 'error');
  } else if (answer.status === 409 && body.revision) {
    showStatus(text('stale', { revision: body.revision }), 'error');
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
  // the deployed file (text), or my draft's version of it (the drafts API: JSON {name, content})
  return fetch(d.sourceUrl, { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) throw new Error(String(r.status));
    if ((r.headers.get('Content-Type') || '').indexOf('application/json') === 0) {
      return r.json().then(function (body) { return body.content; });
    }
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

// The editor's 保存 button: the file's text (a promise) is saved as (or into) my draft, and the
// answer's problems go to onProblems. One for the BPMN, DMN and form editors.
export function wireSaveButton(fileText, onProblems) {
  var d = page();
  var save = document.getElementById('designer-save');
  if (!save || !d) return;
  save.addEventListener('click', function () {
    save.disabled = true;
    showStatus(text('saving'));
    Promise.resolve()
      .then(fileText)
      .then(function (content) { var files = {}; files[d.file] = content; return saveFiles(files); })
      .then(function (answer) { handleSaveAnswer(answer, onProblems); })
      .catch(function () { showStatus(text('save_failed', { status: 0, message: '' }), 'error'); })
      .then(function () { save.disabled = false; });
  });
}
