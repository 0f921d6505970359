// The cockpit's map (数字驾驶舱): Leaflet with the city's boundaries, the open cases as clusters
// coloured by light (counted by the server: /api/v1/cockpit/map, app/maps/cockpit.py), single cases
// (Leaflet.markercluster groups those that overlap), a heat layer of the recent cases (Leaflet.heat),
// tiles only when the city configured a tile server. Bundled by esbuild into static/vendor/.
// Elements with data-cockpit-map='{...}' (JSON options from app/web/cockpit_map.py) are set up at
// page load; the map fetches the visible area after each move (debounced) and every minute.
// Nothing inline (the CSP allows scripts and styles from /static only): colours set through the CSSOM.
import L from './cockpit/leaflet-global.js';
import 'leaflet/dist/leaflet.css';
import 'leaflet.markercluster';
import 'leaflet.markercluster/dist/MarkerCluster.css';
import 'leaflet.heat';
import './cockpit-map.css';

var LIGHTS = ['red', 'yellow', 'green', 'none'];
var COLOURS = { red: '#d64541', yellow: '#e0a800', green: '#2e9d5b', none: '#8a97a6' };
var CELLS_PER_TILE = 4;

function fill(template, values) {
  return String(template || '').replace(/\{(\w+)\}/g, function (m, key) { return key in values ? values[key] : m; });
}

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function query(params) {
  return Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== undefined && params[k] !== ''; })
    .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
}

function getJSON(url) {
  return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) { var e = new Error(r.status); e.status = r.status; throw e; } return r.json(); });
}

// The ring of a cluster: its lights as shares of a conic gradient, the count in the middle.
function clusterIcon(c, texts) {
  var box = el('div', 'cm-cluster');
  var size = Math.round(Math.min(64, 28 + 8 * Math.log10(Math.max(1, c.count))));
  var stops = [], at = 0;
  LIGHTS.forEach(function (key) {
    var n = c.lights[key] || 0;
    if (!n) return;
    var to = at + 360 * n / c.count;
    stops.push(COLOURS[key] + ' ' + at.toFixed(1) + 'deg ' + to.toFixed(1) + 'deg');
    at = to;
  });
  box.style.width = box.style.height = size + 'px';
  box.style.background = stops.length ? 'conic-gradient(' + stops.join(', ') + ')' : COLOURS.none;
  var count = el('span', 'cm-cluster-count', c.count >= 10000 ? Math.round(c.count / 1000) + 'k' : c.count);
  box.appendChild(count);
  if (c.parked) box.appendChild(el('span', 'cm-cluster-parked', c.parked));
  box.title = fill(texts.cluster, { n: c.count });
  box.setAttribute('data-count', c.count);
  if (c.bbox) box.setAttribute('data-bbox', c.bbox.join(','));
  return L.divIcon({ className: 'cm-cluster-icon', html: box, iconSize: [size, size] });
}

function pointIcon(p) {
  var dot = el('div', 'cm-point cm-' + (p.light || 'none') + (p.parked ? ' cm-point-parked' : '') + (p.urgency === 'urgent' ? ' cm-point-urgent' : ''));
  return L.divIcon({ className: 'cm-point-icon', html: dot, iconSize: [16, 16] });
}

function CockpitMap(root, options) {
  var self = this;
  this.root = root;
  this.options = options;
  this.texts = options.texts || {};
  this.days = options.days || 30;
  var canvas = root.querySelector('[data-cockpit-map-canvas]') || root;
  this.status = root.querySelector('[data-cockpit-map-status]');
  this.panel = root.querySelector('[data-cockpit-map-cases]');
  var map = this.map = L.map(canvas, { minZoom: options.minZoom || 3, maxZoom: options.maxZoom || 19, zoomControl: true });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" rel="noopener">Leaflet</a>');
  if (options.tiles && options.tiles.url) {
    L.tileLayer(options.tiles.url, { attribution: options.tiles.attribution, maxZoom: options.tiles.maxZoom || 18 }).addTo(map);
  } else {
    canvas.classList.add('cm-offline');
  }
  if (options.bounds) map.fitBounds(options.bounds); else map.setView([0, 0], 3);
  this.layers = {
    clusters: L.layerGroup(),
    points: L.markerClusterGroup({ maxClusterRadius: 36, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
      iconCreateFunction: function (group) {
        var lights = { red: 0, yellow: 0, green: 0, none: 0 };
        group.getAllChildMarkers().forEach(function (m) { lights[m.options.light || 'none'] += 1; });
        return clusterIcon({ count: group.getChildCount(), lights: lights, parked: 0 }, self.texts);
      } }),
    heat: L.heatLayer([], { radius: 22, blur: 18, max: 1, minOpacity: 0.25,
      gradient: { 0.2: '#2b83ba', 0.45: '#abdda4', 0.65: '#ffffbf', 0.85: '#fdae61', 1: '#d7191c' } }),
    boundaries: null
  };
  this.on = { clusters: true, heat: false, boundaries: true };
  Array.prototype.forEach.call(root.querySelectorAll('[data-layer]'), function (box) {
    self.on[box.getAttribute('data-layer')] = box.checked;
    box.addEventListener('change', function () { self.toggle(box.getAttribute('data-layer'), box.checked); });
  });
  var days = root.querySelector('[data-heat-days]');
  if (days) {
    this.days = Number(days.value) || this.days;
    days.addEventListener('change', function () { self.days = Number(days.value) || 30; self.refresh(); });
  }
  if (this.on.clusters) { this.layers.clusters.addTo(map); this.layers.points.addTo(map); }
  if (this.on.heat) this.layers.heat.addTo(map);
  this.ready = this.loadBoundaries();
  var timer = null;
  map.on('moveend', function () { clearTimeout(timer); timer = setTimeout(function () { self.refresh(); }, 250); });
  setInterval(function () { if (!document.hidden) self.refresh(); }, (options.refresh || 60) * 1000);
  this.refresh();
}

CockpitMap.prototype.loadBoundaries = function () {
  var self = this;
  if (!this.options.boundaries) return Promise.resolve();
  return getJSON(this.options.boundaries).then(function (data) {
    if (!data.features || !data.features.length) return;
    self.layers.boundaries = L.geoJSON(data, {
      style: function (f) { return { className: 'cm-area cm-area-' + f.properties.kind, weight: f.properties.kind === 'community' ? 1 : 2, fill: f.properties.kind === 'community' }; },
      onEachFeature: function (f, lyr) { lyr.bindTooltip(f.properties.name, { sticky: true, className: 'cm-area-name' }); }
    });
    if (self.on.boundaries) { self.layers.boundaries.addTo(self.map); self.layers.boundaries.bringToBack(); }
    if (data.tongguan && data.tongguan.schematic) self.map.attributionControl.addAttribution(self.texts.schematic || 'schematic');
    self.root.setAttribute('data-boundaries', data.features.length);
  }).catch(function () { /* the cases still show without their background */ });
};

CockpitMap.prototype.toggle = function (name, on) {
  this.on[name] = on;
  var layers = name === 'clusters' ? [this.layers.clusters, this.layers.points] : [this.layers[name]];
  var map = this.map;
  layers.forEach(function (layer) {
    if (!layer) return;
    if (on) { layer.addTo(map); if (name === 'boundaries') layer.bringToBack(); } else map.removeLayer(layer);
  });
  if (on && name !== 'boundaries') this.refresh();
};

// The visible area, a little wider, never more cells across than the server takes.
CockpitMap.prototype.area = function () {
  var map = this.map, zoom = Math.round(map.getZoom()), b = map.getBounds().pad(0.05), c = map.getCenter();
  var cellLng = 360 / (Math.pow(2, zoom) * CELLS_PER_TILE);
  var cellLat = cellLng * Math.cos(Math.round(c.lat) * Math.PI / 180);
  var most = (this.options.maxCellsAcross || 64) - 1;
  var halfLat = Math.min((b.getNorth() - b.getSouth()) / 2, most * cellLat / 2);
  var halfLng = Math.min((b.getEast() - b.getWest()) / 2, most * cellLng / 2);
  var south = Math.max(-90, c.lat - halfLat), north = Math.min(90, c.lat + halfLat);
  var west = Math.max(-180, c.lng - halfLng), east = Math.min(180, c.lng + halfLng);
  return { zoom: zoom, bbox: [south, west, north, east].map(function (v) { return v.toFixed(6); }).join(',') };
};

CockpitMap.prototype.refresh = function () {
  var self = this, area = this.area(), texts = this.texts;
  var seq = this.seq = (this.seq || 0) + 1;
  var base = { unit: this.options.unit, bbox: area.bbox, zoom: area.zoom };
  var asks = [];
  if (this.on.clusters) {
    asks.push(getJSON(this.options.data + '?' + query(Object.assign({ layer: 'open' }, base))).then(function (data) {
      if (seq === self.seq) self.drawOpen(data);
      return data;
    }));
  }
  if (this.on.heat) {
    asks.push(getJSON(this.options.data + '?' + query(Object.assign({ layer: 'recent', days: this.days }, base))).then(function (data) {
      if (seq === self.seq) self.drawHeat(data);
      return data;
    }));
  }
  this.root.setAttribute('data-state', 'loading');
  return Promise.all(asks).then(function (answers) {
    if (seq !== self.seq) return;
    var parts = answers.map(function (d) {
      return d.layer === 'open' ? fill(texts.inView, { n: d.total }) : fill(texts.inViewHeat, { n: d.total, days: d.days });
    });
    parts.push(fill(texts.updated, { time: new Date().toLocaleTimeString() }));
    if (self.status) self.status.textContent = parts.join(' · ');
    self.root.setAttribute('data-state', 'ready');
  }).catch(function (e) {
    if (seq !== self.seq) return;
    if (self.status) self.status.textContent = e.status === 422 ? texts.tooLarge : texts.failed;
    self.root.setAttribute('data-state', 'failed');
  });
};

CockpitMap.prototype.drawOpen = function (data) {
  var self = this, texts = this.texts;
  var clusters = this.layers.clusters, points = this.layers.points;
  clusters.clearLayers();
  points.clearLayers();
  data.clusters.forEach(function (c) {
    var marker = L.marker([c.lat, c.lng], { icon: clusterIcon(c, texts), keyboard: true, title: fill(texts.cluster, { n: c.count }) });
    marker.on('click', function () { self.showCases(c.bbox, c.count); });
    marker.addTo(clusters);
  });
  var markers = data.points.map(function (p) {
    var marker = L.marker([p.lat, p.lng], { icon: pointIcon(p), title: p.title, light: p.light });
    var box = el('div', 'cm-popup');
    box.appendChild(el('strong', null, p.title));
    box.appendChild(el('div', 'cm-muted', p.number));
    var tags = [texts.lights[p.light || 'none']];
    if (p.parked) tags.push(texts.parked);
    if (p.urgency === 'urgent') tags.push(texts.urgent);
    box.appendChild(el('div', 'cm-light cm-' + (p.light || 'none'), tags.join(' · ')));
    var a = el('a', null, p.number); a.href = p.url; box.appendChild(a);
    marker.bindPopup(box);
    return marker;
  });
  points.addLayers(markers);
  this.root.setAttribute('data-clusters', data.clusters.length);
  this.root.setAttribute('data-points', data.points.length);
  this.last = data;
};

CockpitMap.prototype.drawHeat = function (data) {
  var max = data.max || 1;
  this.layers.heat.setLatLngs(data.cells.map(function (c) { return [c.lat, c.lng, Math.sqrt(c.count / max)]; }));
  this.root.setAttribute('data-heat-cells', data.cells.length);
};

// The cases of a cluster's cell, newest first, a page at a time, each a link to its page.
CockpitMap.prototype.showCases = function (bbox, count, page) {
  var self = this, texts = this.texts, panel = this.panel;
  if (!panel) return;
  page = page || 1;
  if (page === 1) {
    panel.textContent = '';
    panel.appendChild(el('p', 'cm-muted', texts.loading));
    panel.hidden = false;
  }
  var url = this.options.cases + '?' + query({ unit: this.options.unit, bbox: bbox.join(','), layer: 'open', page: page, per_page: 20 });
  return getJSON(url).then(function (data) {
    if (page === 1) {
      panel.textContent = '';
      var head = el('div', 'cm-cases-head');
      head.appendChild(el('h3', null, data.total ? fill(texts.casesTitle, { n: data.total }) : texts.casesNone));
      var close = el('button', 'btn btn-quiet cm-close', texts.close);
      close.type = 'button';
      close.addEventListener('click', function () { panel.hidden = true; });
      head.appendChild(close);
      panel.appendChild(head);
      panel.appendChild(el('ul', 'cm-cases'));
    }
    var list = panel.querySelector('.cm-cases');
    data.items.forEach(function (c) {
      var li = el('li', 'cm-case');
      var a = el('a', null, c.title); a.href = c.url;
      li.appendChild(el('span', 'cm-swatch cm-' + (c.light || 'none')));
      li.appendChild(a);
      li.appendChild(el('span', 'cm-muted', c.number + (c.stage ? ' · ' + c.stage : '') + (c.parked ? ' · ' + texts.parked : '')));
      list.appendChild(li);
    });
    var old = panel.querySelector('.cm-more');
    if (old) old.remove();
    if (data.page * data.per_page < data.total) {
      var more = el('button', 'btn cm-more', texts.more);
      more.type = 'button';
      more.addEventListener('click', function () { self.showCases(bbox, count, page + 1); });
      panel.appendChild(more);
    }
    panel.setAttribute('data-total', data.total);
  }).catch(function () { panel.textContent = texts.failed; });
};

function setUp(root) {
  if (root.tgCockpitMap) return root.tgCockpitMap;
  var options;
  try { options = JSON.parse(root.getAttribute('data-cockpit-map')); } catch (e) { return null; }
  root.tgCockpitMap = new CockpitMap(root, options);
  return root.tgCockpitMap;
}

function setUpAll(doc) { Array.prototype.forEach.call((doc || document).querySelectorAll('[data-cockpit-map]'), setUp); }

window.TongguanCockpitMap = { setUp: setUp, setUpAll: setUpAll, L: L };
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { setUpAll(document); });
else setUpAll(document);
