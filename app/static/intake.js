// Tongguan: unified intake in the browser (progressive enhancement: every page works without it).
// - the operator's form: switching channel swaps the extension fields in place, nothing typed is lost;
//   the caller's number is copied to the reporter's phone while that is empty
// - file inputs: the chosen files listed with their sizes, refused before sending when too large
// - the grid worker's report: "use my location" fills latitude and longitude
// - duplicate decisions: a button with data-confirm asks before it submits
(function () {
  'use strict';
  if (window.tongguanIntake) return; // included by several parts of one page
  window.tongguanIntake = true;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) { return key in values ? values[key] : m; });
  }

  function megabytes(bytes) {
    return (Math.round(bytes / 104857.6) / 10).toString();
  }

  function humanSize(bytes) {
    if (bytes < 1024) return bytes + ' B';
    if (bytes < 1048576) return Math.round(bytes / 1024) + ' KB';
    return megabytes(bytes) + ' MB';
  }

  // ------------------------------------------------------------------ channel switching

  // app.js adds the "now" buttons of date-time fields at page load; fields fetched later need them too
  function addNowButtons(root) {
    if (window.Tongguan && window.Tongguan.addNowButtons) window.Tongguan.addNowButtons(root);
  }


  function setUpChannels(form) {
    var slot = form.querySelector('[data-extension-slot]');
    var url = form.getAttribute('data-extension-url');
    if (!slot || !url || !window.fetch) return;
    var fallback = form.querySelector('.channel-switch');
    if (fallback) fallback.parentNode.removeChild(fallback);
    var cache = {}; // channel -> its fieldset, detached with whatever was typed in it
    var current = slot.querySelector('fieldset[data-channel]');
    var pending = null;

    function show(channel, fieldset) {
      if (current) {
        cache[current.getAttribute('data-channel')] = current;
        slot.removeChild(current);
      }
      slot.appendChild(fieldset);
      current = fieldset;
      slot.removeAttribute('aria-busy');
      var url = new URL(window.location.href);
      url.searchParams.set('channel', channel);
      window.history.replaceState(null, '', url.pathname + url.search);
    }

    form.addEventListener('change', function (event) {
      var radio = event.target;
      if (radio.name !== 'channel' || radio.type !== 'radio' || !radio.checked) return;
      var channel = radio.value;
      if ((current && current.getAttribute('data-channel') === channel) || pending === channel) return;
      if (cache[channel]) { pending = null; show(channel, cache[channel]); return; }
      pending = channel;
      slot.setAttribute('aria-busy', 'true');
      fetch(url + '?channel=' + encodeURIComponent(channel), { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          if (pending !== channel) return; // the operator moved on meanwhile
          pending = null;
          var holder = document.createElement('div');
          holder.innerHTML = html;
          var fieldset = holder.querySelector('fieldset[data-channel]');
          if (!fieldset) throw new Error('no fields');
          addNowButtons(fieldset);
          show(channel, fieldset);
        })
        .catch(function () {
          // keep the fields of the channel shown: submit with the switch button's meaning instead
          slot.removeAttribute('aria-busy');
          var action = document.createElement('input');
          action.type = 'hidden';
          action.name = 'action';
          action.value = 'switch';
          form.appendChild(action);
          form.submit();
        });
    });

    // Alt+digit picks a channel wherever the cursor is (the radios' accesskeys), and the cursor stays there
    document.addEventListener('keydown', function (event) {
      if (!event.altKey || event.ctrlKey || event.metaKey || !/^Digit[1-9]$/.test(event.code || '')) return;
      var radio = form.querySelector('input[name=channel][accesskey="' + event.code.slice(5) + '"]');
      if (!radio || radio.disabled) return;
      event.preventDefault();
      if (!radio.checked) {
        radio.checked = true;
        radio.dispatchEvent(new Event('change', { bubbles: true }));
      }
    });

    // the caller's number is the reporter's phone unless the operator typed another
    var phone = form.elements.namedItem('reporter_phone');
    if (phone && phone.tagName === 'INPUT') {
      phone.addEventListener('input', function (event) {
        if (event.isTrusted) delete phone.dataset.copied;
      });
      form.addEventListener('input', function (event) {
        var source = event.target;
        if (!source.name || !/^ext\.caller_number$/.test(source.name)) return;
        if (phone.value === '' || phone.dataset.copied === '1') {
          phone.value = source.value.replace(/[^0-9+-]/g, '');
          phone.dataset.copied = '1';
        }
      });
    }
  }

  // ------------------------------------------------------------------ files

  function fileProblem(input) {
    var maxFile = parseInt(input.getAttribute('data-max-file'), 10) || 0;
    var files = input.files || [];
    for (var i = 0; i < files.length; i++) {
      if (maxFile && files[i].size > maxFile) {
        return fill(input.getAttribute('data-too-big') || '', { name: files[i].name, size: megabytes(maxFile) });
      }
    }
    var maxRequest = parseInt(input.getAttribute('data-max-request'), 10) || 0;
    if (maxRequest && input.form) {
      var total = 0;
      var inputs = input.form.querySelectorAll('input[type=file]');
      for (var j = 0; j < inputs.length; j++) {
        for (var k = 0; k < (inputs[j].files || []).length; k++) total += inputs[j].files[k].size;
      }
      if (total > maxRequest - 65536) { // room for the rest of the form
        return fill(input.getAttribute('data-too-much') || '', { total: megabytes(total), size: megabytes(maxRequest) });
      }
    }
    return '';
  }

  // list the chosen files; a new choice replaces the message about the files chosen before
  function checkFiles(input, chosen) {
    var field = input.closest('.field');
    var list = field && field.querySelector('[data-file-list]');
    var error = document.getElementById(input.id + '-error');
    if (list && chosen) {
      list.textContent = '';
      Array.prototype.forEach.call(input.files || [], function (file) {
        var item = document.createElement('li');
        item.textContent = file.name + ' · ' + humanSize(file.size);
        list.appendChild(item);
      });
    }
    var problem = fileProblem(input);
    if (error && (problem || chosen)) {
      error.textContent = problem;
      error.hidden = !problem;
    }
    if (field && (problem || chosen)) field.classList.toggle('has-error', !!problem);
    if (problem) input.setAttribute('aria-invalid', 'true'); else if (chosen) input.removeAttribute('aria-invalid');
    return problem;
  }

  document.addEventListener('change', function (event) {
    var input = event.target;
    if (input.type === 'file' && input.hasAttribute('data-max-file')) checkFiles(input, true);
  });

  // before app.js marks the form as sent: a form with oversized files is not sent at all
  document.addEventListener('submit', function (event) {
    var inputs = event.target.querySelectorAll('input[type=file][data-max-file]');
    for (var i = 0; i < inputs.length; i++) {
      if (checkFiles(inputs[i], false)) {
        event.preventDefault();
        event.stopPropagation();
        inputs[i].focus();
        return;
      }
    }
  }, true);

  // ------------------------------------------------------------------ location

  function setUpLocate(box) {
    var form = box.closest('form');
    var button = box.querySelector('[data-locate-button]');
    var status = box.querySelector('[data-locate-status]');
    if (!form || !button || !status) return;
    box.hidden = false;
    function say(text, failed) {
      status.textContent = text;
      status.classList.toggle('locate-error', !!failed);
    }
    button.addEventListener('click', function () {
      if (!navigator.geolocation || window.isSecureContext === false) {
        say(box.getAttribute('data-unsupported'), true);
        return;
      }
      button.setAttribute('aria-busy', 'true');
      button.disabled = true;
      say(box.getAttribute('data-locating'), false);
      navigator.geolocation.getCurrentPosition(function (position) {
        button.removeAttribute('aria-busy');
        button.disabled = false;
        var lat = form.elements.namedItem('lat');
        var lng = form.elements.namedItem('lng');
        if (lat) { lat.value = position.coords.latitude.toFixed(6); lat.dispatchEvent(new Event('change', { bubbles: true })); }
        if (lng) { lng.value = position.coords.longitude.toFixed(6); lng.dispatchEvent(new Event('change', { bubbles: true })); }
        say(fill(box.getAttribute('data-located'), { m: Math.round(position.coords.accuracy || 0) }), false);
      }, function (error) {
        button.removeAttribute('aria-busy');
        button.disabled = false;
        var key = error.code === 1 ? 'data-denied' : error.code === 3 ? 'data-timeout' : 'data-unavailable';
        say(box.getAttribute(key), true);
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
  }

  // ------------------------------------------------------------------ confirmation on one button

  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button[data-confirm]') : null;
    if (button && !window.confirm(button.getAttribute('data-confirm'))) event.preventDefault();
  });

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-intake]'), setUpChannels);
    Array.prototype.forEach.call(document.querySelectorAll('[data-locate]'), setUpLocate);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
