// The cockpit's hot spots panel (templates/cockpit/_hotspots.html): the top hot spots of the unit,
// read from /api/v1/hotspots with the page's session, redrawn every data-refresh seconds.
import './hotspots-panel.css';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function draw(panel, texts, data) {
  const list = panel.querySelector('[data-hotspots-list]');
  const caseUrl = panel.dataset.caseUrl;
  list.replaceChildren();
  if (!data.hotspots.length) {
    list.append(el('li', 'muted', texts.empty));
    return;
  }
  for (const h of data.hotspots) {
    const item = el('li', 'hotspot');
    item.dataset.hotspot = String(h.rank);
    const head = el('div', 'hotspot-head');
    head.append(el('strong', 'hotspot-place', h.place || (h.lat !== null ? `${h.lat.toFixed(4)}, ${h.lng.toFixed(4)}` : '—')));
    head.append(el('span', 'hotspot-heat', `${texts.heat} ${h.heat.toFixed(1)}`));
    item.append(head);
    item.append(el('div', 'hotspot-desc', h.description));
    const figures = el('div', 'hotspot-figures muted',
      `${texts.reports} ${h.reports} · ${texts.open} ${h.open}/${h.cases}${h.people.length ? ' · ' + h.people.join('、') : ''}`);
    item.append(figures);
    const first = h.case_ids[h.case_ids.length - 1];
    if (first !== undefined) {
      const link = el('a', 'hotspot-cases', `${h.cases} ${texts.cases} ›`);
      link.href = caseUrl + String(first);
      item.append(link);
    }
    list.append(item);
  }
}

function start(panel) {
  const texts = JSON.parse(panel.dataset.texts || '{}');
  const status = panel.querySelector('[data-hotspots-status]');
  const every = Math.max(15, Number(panel.dataset.refresh) || 60) * 1000;
  async function load() {
    try {
      const answer = await fetch(panel.dataset.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!answer.ok) throw new Error(String(answer.status));
      const data = await answer.json();
      draw(panel, texts, data);
      // the list may be a stored one (HOTSPOT_MAX_AGE): say when it was computed, not when it was read
      const computed = data.computed_at ? new Date(data.computed_at) : new Date();
      status.textContent = `${texts.updated} ${computed.toLocaleTimeString()}`;
      panel.dataset.loaded = 'true';
    } catch (error) {
      status.textContent = texts.failed;
    }
  }
  load();
  window.setInterval(load, every);
}

document.querySelectorAll('[data-hotspots-panel]').forEach(start);
