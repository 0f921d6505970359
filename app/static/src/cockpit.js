// The cockpit's charts (ECharts from node_modules, bundled by esbuild into app/static/vendor/cockpit.js).
// The page is drawn on the server from the same data; this script draws the charts from data-cockpit,
// asks /api/v1/cockpit again every `refresh` seconds while the tab is visible (no page reload: the
// numbers, links, tables and charts are updated in place), and sends a click on a bar or slice to the
// list of its cases. Nothing inline (CSP): tooltips are ECharts' rich text, not HTML.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import './cockpit.css';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

var LIGHT_COLOURS = { red: '#d92d20', yellow: '#f5b300', green: '#1a7f37', none: '#98a2b3' };
var SERIES_COLOURS = ['#0b5cad', '#12b76a', '#f79009', '#7a5af8', '#ee46bc', '#06aed4', '#667085', '#d92d20', '#84cc16'];

function fill(template, values) {
  return String(template || '').replace(/\{(\w+)\}/g, function (m, key) { return key in values ? values[key] : m; });
}

function localTime(iso) {
  var d = new Date(iso);
  if (isNaN(d.getTime())) return '';
  function two(n) { return (n < 10 ? '0' : '') + n; }
  return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
}

function Cockpit(root) {
  var config = JSON.parse(root.getAttribute('data-cockpit'));
  this.root = root;
  this.api = config.api;
  this.refresh = Math.max(30, Math.min(60, config.refresh || 45)) * 1000;
  this.texts = config.texts || {};
  this.wall = !!config.wall;
  this.data = config.data;
  this.charts = {};
  this.timer = null;
  this.failures = 0;
  var self = this;
  Array.prototype.forEach.call(root.querySelectorAll('[data-chart]'), function (el) {
    el.hidden = false;
    var chart = echarts.init(el, self.wall ? 'dark' : null, { renderer: 'canvas' });
    chart.on('click', function (params) {
      var url = params.data && params.data.url;
      if (url) window.location.assign(url);
    });
    self.charts[el.getAttribute('data-chart')] = chart;
  });
  window.addEventListener('resize', function () { self.eachChart(function (c) { c.resize(); }); });
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) { self.stop(); self.status(self.texts.paused); }
    else { self.load(); }
  });
  this.draw(this.data);
  this.schedule();
}

Cockpit.prototype.eachChart = function (fn) {
  for (var key in this.charts) if (Object.prototype.hasOwnProperty.call(this.charts, key)) fn(this.charts[key]);
};

Cockpit.prototype.stop = function () {
  if (this.timer) window.clearTimeout(this.timer);
  this.timer = null;
};

Cockpit.prototype.schedule = function (delay) {
  var self = this;
  this.stop();
  if (document.hidden) return;
  this.timer = window.setTimeout(function () { self.load(); }, delay || this.refresh);
};

Cockpit.prototype.status = function (text) {
  var el = this.root.querySelector('[data-cockpit-updated]');
  if (el) el.textContent = text;
};

Cockpit.prototype.load = function () {
  var self = this;
  this.stop();
  return fetch(this.api, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(function (data) { self.failures = 0; self.data = data; self.draw(data); self.schedule(); })
    .catch(function () {
      self.failures += 1;
      var wait = Math.min(self.refresh * self.failures, 5 * 60 * 1000);
      self.status(fill(self.texts.stale, { seconds: Math.round(wait / 1000), time: localTime(self.data.as_of) }));
      self.schedule(wait);
    });
};

Cockpit.prototype.figures = function (data) {
  var values = {
    received: data.received.total, closed: data.closed.total, open: data.open.total,
    overdue: data.open.overdue.count, escalated: data.open.escalated.count, parked: data.open.parked.count
  };
  var urls = {
    received: data.received.url, closed: data.closed.url, open: data.open.url, overdue: data.open.overdue.url,
    escalated: data.open.escalated.url, parked: data.open.parked.url
  };
  Array.prototype.forEach.call(this.root.querySelectorAll('[data-figure]'), function (el) {
    var key = el.getAttribute('data-figure');
    if (!(key in values)) return;
    el.querySelector('[data-figure-value]').textContent = String(values[key]);
    el.setAttribute('href', urls[key]);
  });
};

Cockpit.prototype.table = function (key, items) {
  var body = this.root.querySelector('[data-table="' + key + '"] tbody');
  if (!body) return;
  while (body.firstChild) body.removeChild(body.firstChild);
  items.forEach(function (cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (cell, i) {
      var td = document.createElement('td');
      if (i > 0) td.className = 'num';
      if (cell.url) {
        var a = document.createElement('a');
        a.href = cell.url;
        a.textContent = String(cell.text);
        td.appendChild(a);
      } else {
        td.textContent = String(cell.text);
      }
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
};

function figureRows(items) {
  return items.map(function (x) { return [{ text: x.name }, { text: x.count, url: x.url }]; });
}

Cockpit.prototype.base = function () {
  var big = this.wall;
  return {
    backgroundColor: 'transparent',
    textStyle: { fontSize: big ? 16 : 12 },
    tooltip: { trigger: 'item', renderMode: 'richText', confine: true },
    grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
    animationDuration: 400
  };
};

Cockpit.prototype.draw = function (data) {
  var t = this.texts;
  var big = this.wall;
  this.figures(data);
  this.status(fill(t.updated, { time: localTime(data.as_of) }));
  this.table('channels', figureRows(data.received.by_channel));
  this.table('lights', figureRows(data.open.by_light));
  this.table('tiers', figureRows(data.open.by_tier));
  this.table('categories', figureRows(data.top_categories));
  this.table('trend', data.trend.map(function (d) {
    return [{ text: d.day }, { text: d.received, url: d.received_url }, { text: d.closed, url: d.closed_url }];
  }));
  var empty = this.root.querySelector('[data-empty="categories"]');
  if (empty) empty.hidden = data.top_categories.length > 0;
  var c = this.charts;
  var labelSize = big ? 15 : 12;
  function bars(items, colour) {
    return items.map(function (x, i) {
      return { value: x.count, name: x.name, url: x.url, itemStyle: { color: colour ? colour(x, i) : SERIES_COLOURS[0] } };
    });
  }
  if (c.channels) {
    var channels = data.received.by_channel;
    c.channels.setOption(Object.assign(this.base(), {
      xAxis: { type: 'category', data: channels.map(function (x) { return x.name; }), axisLabel: { interval: 0, rotate: 30, fontSize: labelSize } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', name: t.received, data: bars(channels, function (x, i) { return SERIES_COLOURS[i % SERIES_COLOURS.length]; }),
                 label: { show: true, position: 'top', fontSize: labelSize } }]
    }), { notMerge: true });
  }
  if (c.lights) {
    c.lights.setOption(Object.assign(this.base(), {
      legend: { bottom: 0, textStyle: { fontSize: labelSize } },
      series: [{ type: 'pie', name: t.lights, radius: ['40%', '70%'], center: ['50%', '45%'],
                 label: { formatter: '{b}: {c}', fontSize: labelSize },
                 data: data.open.by_light.map(function (x) {
                   return { value: x.count, name: x.name, url: x.url, itemStyle: { color: LIGHT_COLOURS[x.key] || '#98a2b3' } };
                 }) }]
    }), { notMerge: true });
  }
  if (c.tiers) {
    var tiers = data.open.by_tier;
    c.tiers.setOption(Object.assign(this.base(), {
      xAxis: { type: 'category', data: tiers.map(function (x) { return x.name; }), axisLabel: { fontSize: labelSize } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', name: t.open, data: bars(tiers), label: { show: true, position: 'top', fontSize: labelSize } }]
    }), { notMerge: true });
  }
  if (c.categories) {
    var top = data.top_categories.slice().reverse();
    c.categories.setOption(Object.assign(this.base(), {
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: top.map(function (x) { return x.name; }),
               axisLabel: { width: big ? 260 : 160, overflow: 'truncate', fontSize: labelSize } },
      series: [{ type: 'bar', name: t.received, data: bars(top, function () { return SERIES_COLOURS[2]; }),
                 label: { show: true, position: 'right', fontSize: labelSize } }]
    }), { notMerge: true });
  }
  if (c.trend) {
    var days = data.trend.map(function (d) { return d.day.slice(5); });
    c.trend.setOption(Object.assign(this.base(), {
      tooltip: { trigger: 'axis', renderMode: 'richText', confine: true },
      legend: { top: 0, textStyle: { fontSize: labelSize } },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: days, axisLabel: { fontSize: labelSize } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { type: 'bar', name: t.received, itemStyle: { color: SERIES_COLOURS[0] },
          data: data.trend.map(function (d) { return { value: d.received, url: d.received_url }; }) },
        { type: 'line', name: t.closed, smooth: true, symbolSize: big ? 8 : 6, itemStyle: { color: SERIES_COLOURS[1] },
          data: data.trend.map(function (d) { return { value: d.closed, url: d.closed_url }; }) }
      ]
    }), { notMerge: true });
  }
};

function start() {
  var root = document.querySelector('[data-cockpit]');
  if (root) window.tongguanCockpit = new Cockpit(root);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
