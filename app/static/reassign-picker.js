// Tongguan: the 改派 (reassign) pickers on a task page. The form works without this script: the
// unit <select> lists the supervisor's units as the tree, and "列出该单位人员" posts the chosen unit
// back so the page lists the people holding the task's role over it. With the script that button
// is hidden and the people are loaded from data-reassign-options (JSON, the same answer as
// GET /api/v1/tasks/<id>/reassign-options) whenever the unit changes.
(function () {
  'use strict';
  if (window.tongguanReassignPicker) return;
  window.tongguanReassignPicker = true;

  function setup(box) {
    var unit = box.querySelector('select[name="unit"]');
    var user = box.querySelector('select[name="user"]');
    var note = document.getElementById('reassign-people-note');
    var pick = box.querySelector('.reassign-pick');
    if (!unit || !user || !window.fetch) return;
    if (pick) pick.hidden = true;
    var seq = 0;

    function say(text) {
      if (note) note.textContent = text;
    }

    function fill(data) {
      var keep = user.options.length ? user.options[0] : null; // "— 不指定 —"
      while (user.options.length) user.remove(0);
      if (keep) user.add(keep);
      data.people.forEach(function (p) {
        var label = p.display_name + '（' + p.username + '）';
        if (p.current) label += ' · ' + box.getAttribute('data-current-text');
        user.add(new Option(label, p.username));
      });
      user.value = '';
      if (data.people.length) {
        say(box.getAttribute('data-count-text').replace('{unit}', data.unit.name).replace('{n}', data.people.length));
      } else {
        say(box.getAttribute('data-none-text'));
      }
      box.setAttribute('data-loaded-unit', data.unit.code);
    }

    unit.addEventListener('change', function () {
      var mine = ++seq;
      box.setAttribute('aria-busy', 'true');
      var url = box.getAttribute('data-reassign-options') + '?unit=' + encodeURIComponent(unit.value);
      fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
        .then(function (r) {
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        })
        .then(function (data) {
          if (mine === seq) fill(data);
        })
        .catch(function () {
          if (mine !== seq) return;
          if (pick) pick.hidden = false; // fall back to the form's own way
          say(box.getAttribute('data-error-text'));
        })
        .then(function () {
          if (mine === seq) box.removeAttribute('aria-busy');
        });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-reassign-options]'), setup);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
