// Tongguan: a little progressive enhancement. Every page works without it.
(function () {
  'use strict';

  // Ctrl+Enter (Cmd+Enter on a Mac) submits the form the cursor is in.
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target && event.target.closest ? event.target.closest('form[data-ctrl-enter]') : null;
    if (!form) return;
    event.preventDefault();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });

  // In long data-entry forms Enter moves to the next field instead of sending a half-filled form.
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter' || event.ctrlKey || event.metaKey || event.shiftKey || event.isComposing) return;
    var el = event.target;
    if (!el || el.tagName !== 'INPUT' || /^(checkbox|radio|submit|button)$/.test(el.type)) return;
    var form = el.closest('form[data-enter-next]');
    if (!form) return;
    event.preventDefault();
    var items = Array.prototype.filter.call(form.elements, function (f) {
      return !f.disabled && f.type !== 'hidden' && f.tabIndex >= 0 && f.offsetParent !== null;
    });
    var next = items[items.indexOf(el) + 1];
    if (next) next.focus();
  });

  // A "now" button beside date-time inputs (for on-site reports). Pages that fetch fields later
  // (the intake form's channel fields) call Tongguan.addNowButtons(container) for those.
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function addNowButtons(root) {
    var inputs = root.querySelectorAll('input[type=datetime-local][data-now]:not([disabled])');
    Array.prototype.forEach.call(inputs, function (input) {
      if (input.parentNode.classList.contains('with-button')) return;
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-now';
      button.textContent = input.getAttribute('data-now');
      button.addEventListener('click', function () {
        // the server reads these inputs as Beijing time, whatever the device's zone
        var d = new Date(Date.now() + 8 * 3600 * 1000);
        input.value = d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) +
          'T' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
        input.dispatchEvent(new Event('change', { bubbles: true }));
      });
      var wrap = document.createElement('div');
      wrap.className = 'with-button';
      input.parentNode.insertBefore(wrap, input);
      wrap.appendChild(input);
      wrap.appendChild(button);
    });
  }
  window.Tongguan = window.Tongguan || {};
  window.Tongguan.addNowButtons = addNowButtons;
  document.addEventListener('DOMContentLoaded', function () { addNowButtons(document); });

  // Ask before destructive actions; stop a second click from posting twice.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.submitted === '1') {
      event.preventDefault();
      return;
    }
    if ((form.method || '').toLowerCase() === 'post') {
      form.dataset.submitted = '1';
      var buttons = form.querySelectorAll('button[type=submit]');
      for (var i = 0; i < buttons.length; i++) buttons[i].setAttribute('aria-busy', 'true');
    }
  });

  // A show/hide button beside password fields that ask for it (data-reveal="show|hide" labels):
  // people check a long passphrase before they send it.
  var secrets = document.querySelectorAll('input[type=password][data-reveal]');
  for (var k = 0; k < secrets.length; k++) {
    (function (input) {
      var labels = input.getAttribute('data-reveal').split('|');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-quiet reveal-btn';
      button.textContent = labels[0];
      button.setAttribute('aria-pressed', 'false');
      button.setAttribute('aria-controls', input.id);
      button.addEventListener('click', function () {
        var shown = input.type === 'password';
        input.type = shown ? 'text' : 'password';
        button.textContent = labels[shown ? 1 : 0];
        button.setAttribute('aria-pressed', shown ? 'true' : 'false');
        input.focus();
      });
      var wrap = document.createElement('div');
      wrap.className = 'reveal';
      input.parentNode.insertBefore(wrap, input);
      wrap.appendChild(input);
      wrap.appendChild(button);
      // never leave a password readable in a form that is being sent
      if (input.form) input.form.addEventListener('submit', function () { input.type = 'password'; });
    })(secrets[k]);
  }

  // The monthly KPI report's print button (the page's print CSS leaves the navigation out).
  var printers = document.querySelectorAll('[data-print]');
  for (var p = 0; p < printers.length; p++) printers[p].addEventListener('click', function () { window.print(); });

  // Back from the browser cache: the form may be sent again.
  window.addEventListener('pageshow', function () {
    var forms = document.querySelectorAll('form[data-submitted]');
    for (var i = 0; i < forms.length; i++) delete forms[i].dataset.submitted;
  });
})();
