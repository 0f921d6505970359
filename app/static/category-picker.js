// Tongguan: the category picker. An input with data-category-picker="<search URL>" holds a
// GB/T 47678.5 key (event:06001); typing Chinese, pinyin initials ("jg") or a code searches the
// active catalogue, ↑/↓ move through the matches, Enter picks the highlighted one, Esc closes (a
// second Esc puts the last picked key back). The first match is highlighted only when it alone is
// exact (its whole name, code, initials or pinyin) or the only match: for an ambiguous query ("jg":
// twenty manhole covers and a landscape light) Enter picks nothing until ↑/↓ chose one, so a
// dispatcher typing fast never files a case under a category nobody looked at. Without this script the input still takes a key typed by hand. Its
// styles are in app.css (.picker-*): the Content-Security-Policy allows no inline styles.
(function () {
  'use strict';
  if (window.tongguanCategoryPicker) return; // the form renderer may include the script twice
  window.tongguanCategoryPicker = true;

  var DELAY = 120; // ms after the last keystroke
  var LIMIT = 20;

  function span(cls, text) {
    var el = document.createElement('span');
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function Picker(input) {
    this.input = input;
    this.source = input.getAttribute('data-category-picker');
    this.kinds = {
      component: input.getAttribute('data-picker-component') || '部件',
      event: input.getAttribute('data-picker-event') || '事件',
      topic: input.getAttribute('data-picker-topic') || '话题'
    };
    this.items = [];
    this.active = -1;
    this.timer = null;
    this.seq = 0;
    this.cache = {};
    this.picked = input.value;
    this.choice = document.getElementById(input.id + '-choice');

    var wrap = document.createElement('div');
    wrap.className = 'picker';
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    this.list = document.createElement('ul');
    this.list.id = input.id + '-list';
    this.list.className = 'picker-list';
    this.list.setAttribute('role', 'listbox');
    this.list.hidden = true;
    var label = document.querySelector('label[for="' + input.id + '"]');
    if (label) this.list.setAttribute('aria-label', label.textContent.replace(/\s*\*.*$/, '').trim());
    wrap.appendChild(this.list);

    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', this.list.id);
    var help = input.getAttribute('data-picker-help');
    if (help) {
      var hint = span('sr-only', help);
      hint.id = input.id + '-picker-help';
      wrap.appendChild(hint);
      var described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
      described.push(hint.id);
      if (this.choice) described.push(this.choice.id);
      input.setAttribute('aria-describedby', described.join(' '));
      if (!input.placeholder) input.placeholder = help.split('，')[0].split(',')[0];
    }

    var self = this;
    input.addEventListener('input', function () { self.schedule(); });
    input.addEventListener('keydown', function (event) { self.onKey(event); });
    input.addEventListener('blur', function () { window.setTimeout(function () { self.close(); }, 150); });
    this.list.addEventListener('mousedown', function (event) {
      var option = event.target.closest ? event.target.closest('[role=option]') : null;
      if (!option) return;
      event.preventDefault(); // keep the focus in the input
      self.pick(Number(option.getAttribute('data-index')));
    });
  }

  Picker.prototype.isOpen = function () { return !this.list.hidden; };

  Picker.prototype.schedule = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.search(self.input.value.trim()); }, DELAY);
  };

  Picker.prototype.search = function (q) {
    var self = this;
    if (!q) { this.close(); return; }
    if (this.cache[q]) { this.show(this.cache[q]); return; }
    var seq = ++this.seq;
    var url = this.source + (this.source.indexOf('?') < 0 ? '?' : '&') + 'q=' + encodeURIComponent(q) + '&limit=' + LIMIT;
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) {
        self.cache[q] = body.items || [];
        if (seq === self.seq && self.input.value.trim() === q) self.show(self.cache[q]);
      })
      .catch(function () { /* offline: the input still takes a key typed by hand */ });
  };

  Picker.prototype.show = function (items) {
    this.items = items;
    this.list.textContent = '';
    if (!items.length) {
      var empty = document.createElement('li');
      empty.className = 'picker-empty';
      empty.setAttribute('role', 'presentation');
      empty.textContent = this.input.getAttribute('data-picker-empty') || '—';
      this.list.appendChild(empty);
    }
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var li = document.createElement('li');
      li.id = this.list.id + '-' + i;
      li.className = 'picker-option';
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.setAttribute('data-index', String(i));
      li.setAttribute('data-key', item.key);
      li.appendChild(span('picker-code', item.code));
      li.appendChild(span('picker-name', item.name));
      li.appendChild(span('picker-kind', this.kinds[item.kind] || item.kind));
      li.appendChild(span('picker-major', item.major_class));
      this.list.appendChild(li);
    }
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    var sure = items.length === 1 || (items.length > 1 && items[0].exact && !items[1].exact);
    this.move(sure ? 0 : -1);
    this.hint(false);
  };

  // "choose with ↑/↓": shown when Enter found nothing highlighted in an open list
  Picker.prototype.hint = function (show) {
    if (!this.note) {
      this.note = document.createElement('p');
      this.note.className = 'picker-note';
      this.note.id = this.input.id + '-picker-note';
      this.note.setAttribute('role', 'status');
      this.list.parentNode.appendChild(this.note);
    }
    this.note.textContent = show ? (this.input.getAttribute('data-picker-choose') || '↑ ↓') : '';
    this.note.hidden = !show;
  };

  Picker.prototype.move = function (index) {
    var options = this.list.querySelectorAll('[role=option]');
    if (this.active >= 0 && options[this.active]) options[this.active].setAttribute('aria-selected', 'false');
    this.active = index;
    if (index < 0 || !options[index]) {
      this.input.removeAttribute('aria-activedescendant');
      return;
    }
    options[index].setAttribute('aria-selected', 'true');
    this.input.setAttribute('aria-activedescendant', options[index].id);
    if (options[index].scrollIntoView) options[index].scrollIntoView({ block: 'nearest' });
  };

  Picker.prototype.close = function () {
    window.clearTimeout(this.timer);
    this.seq++; // an answer still on its way must not reopen the list
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.active = -1;
    if (this.note) this.hint(false);
  };

  Picker.prototype.pick = function (index) {
    var item = this.items[index];
    if (!item) return;
    this.input.value = item.key;
    this.picked = item.key;
    if (this.choice) {
      this.choice.textContent = (item.code ? item.code + ' ' : '') + item.name + ' · ' +
        (this.kinds[item.kind] || item.kind) + (item.major_class ? ' · ' + item.major_class : '');
    }
    this.close();
    this.input.dispatchEvent(new Event('change', { bubbles: true }));
  };

  Picker.prototype.onKey = function (event) {
    if (event.isComposing) return; // the IME is still choosing characters
    var count = this.items.length;
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault();
        if (!this.isOpen()) { this.search(this.input.value.trim()); return; }
        if (count) this.move((this.active + 1) % count);
        this.hint(false);
        break;
      case 'ArrowUp':
        event.preventDefault();
        if (this.isOpen() && count) this.move(this.active < 0 ? count - 1 : (this.active - 1 + count) % count);
        this.hint(false);
        break;
      case 'Enter':
        if (!this.isOpen() || event.ctrlKey || event.metaKey) return; // closed: the form's own Enter
        event.preventDefault();
        event.stopPropagation();
        // only what is highlighted: an ambiguous list stays open and says how to choose
        if (this.active >= 0) this.pick(this.active); else if (count) this.hint(true); else this.close();
        break;
      case 'Escape':
        event.preventDefault();
        if (this.isOpen()) { this.close(); break; }
        if (this.input.value !== this.picked) this.input.value = this.picked;
        break;
      case 'Tab':
        this.close();
        break;
      default:
        break;
    }
  };

  function init() {
    var inputs = document.querySelectorAll('input[data-category-picker]:not([disabled])');
    if (!inputs.length) return;
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].dataset.pickerReady) {
        inputs[i].dataset.pickerReady = '1';
        new Picker(inputs[i]);
      }
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
