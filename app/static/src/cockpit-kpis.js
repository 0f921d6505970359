// The cockpit's KPI tiles (templates/cockpit/_kpis.html): refresh the figures every data-kpi-refresh
// seconds from the page's own JSON (/kpis/figures.json, the same figures as GET /api/v1/kpis).
(function () {
  'use strict';

  function text(f, labels) {
    if (f.value === null || f.value === undefined) return labels.none;
    if (f.kind === 'rate') return (f.value * 100).toFixed(1) + '%';
    if (f.kind === 'hours') return f.value.toFixed(1) + ' ' + labels.hours;
    return f.value.toFixed(2);
  }

  function target(f, labels) {
    if (f.target === null || f.target === undefined) return '';
    var sign = f.direction === 'higher' ? '≥' : '≤';
    var value = f.kind === 'rate' ? Math.round(f.target * 100) + '%' : String(f.target);
    return labels.target + ' ' + sign + ' ' + value + ' · ' + f.numerator + ' / ' + f.denominator;
  }

  function state(f) {
    return f.meets_target === true ? 'kpi-ok' : f.meets_target === false ? 'kpi-miss' : 'kpi-none';
  }

  function draw(section, body) {
    var labels = JSON.parse(section.dataset.kpiLabels || '{}');
    var period = section.querySelector('[data-kpi-period]');
    if (period) period.textContent = body.from + ' – ' + body.to;
    body.kpis.forEach(function (f) {
      var tile = section.querySelector('[data-kpi="' + f.key + '"]');
      if (!tile) return;
      tile.classList.remove('kpi-ok', 'kpi-miss', 'kpi-none');
      tile.classList.add(state(f));
      var link = tile.querySelector('[data-kpi-value]');
      if (link) {
        link.textContent = text(f, labels);
        var q = new URLSearchParams({unit: section.dataset.kpiUnit, key: f.key, part: 'numerator', from: body.from, to: body.to});
        link.href = section.dataset.kpiCases + '?' + q.toString();
      }
      var t = tile.querySelector('[data-kpi-target]');
      if (t) t.textContent = target(f, labels);
    });
  }

  function start(section) {
    var seconds = Math.max(30, parseInt(section.dataset.kpiRefresh || '60', 10));
    function refresh() {
      fetch(section.dataset.kpiUrl, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body) draw(section, body); })
        .catch(function () { /* offline for a moment: the next refresh tries again */ });
    }
    window.setInterval(refresh, seconds * 1000);
  }

  document.querySelectorAll('[data-kpi-url]').forEach(start);
})();
