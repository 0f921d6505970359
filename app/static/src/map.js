// Tongguan's maps: Leaflet from node_modules, bundled by esbuild into app/static/vendor/map.js (+ map.css).
// One small module for every map of the product (report pages now; the cockpit and task centre later):
//   TongguanMap.create(element, options)   a map with the city's boundaries (and tiles when configured)
//   map.pick(latInput, lngInput)           click or drag a marker to fill the inputs (they stay the no-JS way)
//   map.show(lat, lng)                     one marker, e.g. the case's location
//   map.showCases(items)                   markers for cases ({lat, lng, title, number, url, ...})
// Elements with data-map='{"mode": ...}' (JSON options from app/web/maps.py) are set up at page load.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import './map.css';

function fill(template, values) {
  return String(template || '').replace(/\{(\w+)\}/g, function (m, key) { return key in values ? values[key] : m; });
}

function pinIcon(kind) {
  // a CSS pin (no image files, nothing inline: the CSP allows styles from /static only)
  return L.divIcon({ className: 'tg-pin tg-pin-' + kind, html: '<span></span>', iconSize: [26, 26], iconAnchor: [13, 26], popupAnchor: [0, -24] });
}

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function TgMap(element, options) {
  this.element = element;
  this.options = options || {};
  this.texts = this.options.texts || {};
  var map = this.map = L.map(element, { zoomControl: true, attributionControl: true, maxZoom: 19 });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" rel="noopener">Leaflet</a>');
  if (this.options.tiles && this.options.tiles.url) {
    L.tileLayer(this.options.tiles.url, { attribution: this.options.tiles.attribution, maxZoom: this.options.tiles.maxZoom || 18 }).addTo(map);
  } else {
    element.classList.add('tg-map-offline');
  }
  var b = this.options.bounds;
  if (this.options.focus) map.setView(this.options.focus, 15); // e.g. the grid worker's own community
  else if (b) map.fitBounds(b); else map.setView(this.options.center || [0, 0], 12);
  this.casesLayer = L.layerGroup().addTo(map);
  this.ready = this.options.boundaries ? this.loadBoundaries(this.options.boundaries) : Promise.resolve();
}

TgMap.prototype.loadBoundaries = function (url) {
  var self = this;
  return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/geo+json, application/json' } })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      if (!data.features || !data.features.length) return;
      var layer = L.geoJSON(data, {
        style: function (f) { return { className: 'tg-area tg-area-' + f.properties.kind, weight: f.properties.kind === 'community' ? 1 : 2, fill: f.properties.kind === 'community' }; },
        onEachFeature: function (f, lyr) { lyr.bindTooltip(f.properties.name, { sticky: true, className: 'tg-area-name' }); },
        interactive: self.options.mode !== 'pick' // in the picker a click on an area picks the point
      }).addTo(self.map);
      layer.bringToBack();
      if (data.tongguan && data.tongguan.schematic) self.map.attributionControl.addAttribution(self.texts.schematic || 'schematic');
      if (!self.point && !self.options.bounds && !self.options.focus) self.map.fitBounds(layer.getBounds());
      self.boundaries = layer;
    })
    .catch(function () { /* the map still works without its background */ });
};

TgMap.prototype.show = function (lat, lng, zoom) {
  this.point = L.latLng(lat, lng);
  if (!this.marker) this.marker = L.marker(this.point, { icon: pinIcon('here'), keyboard: false, title: this.texts.here }).addTo(this.map);
  else this.marker.setLatLng(this.point);
  this.map.setView(this.point, zoom || Math.max(this.map.getZoom(), 16));
  return this;
};

TgMap.prototype.pick = function (latInput, lngInput, onPick) {
  var self = this;
  var status = this.options.status;
  function read() {
    var lat = parseFloat(latInput.value), lng = parseFloat(lngInput.value);
    return isFinite(lat) && isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180 ? L.latLng(lat, lng) : null;
  }
  function place(latlng, fromMap) {
    if (!self.marker) {
      self.marker = L.marker(latlng, { icon: pinIcon('pick'), draggable: true, autoPan: true, title: self.texts.here }).addTo(self.map);
      self.marker.on('dragend', function () { place(self.marker.getLatLng(), true); });
    } else {
      self.marker.setLatLng(latlng);
    }
    self.point = latlng;
    if (fromMap) {
      latInput.value = latlng.lat.toFixed(6);
      lngInput.value = latlng.lng.toFixed(6);
      [latInput, lngInput].forEach(function (input) { input.dispatchEvent(new Event('change', { bubbles: true })); });
      if (status) status.textContent = fill(self.texts.picked, { lat: latInput.value, lng: lngInput.value });
    } else if (!self.map.getBounds().contains(latlng)) {
      self.map.setView(latlng, Math.max(self.map.getZoom(), 15));
    }
    if (onPick) onPick(latlng);
  }
  this.map.on('click', function (e) { place(e.latlng, true); });
  [latInput, lngInput].forEach(function (input) {
    input.addEventListener('change', function (e) {
      if (e.isTrusted === false && self.marker && read() && read().equals(self.marker.getLatLng(), 1e-6)) return;
      var p = read(); if (p) place(p, false);
    });
  });
  var start = read();
  if (start) { place(start, false); this.map.setView(start, 16); }
  return this;
};

TgMap.prototype.showCases = function (items) {
  var layer = this.casesLayer, texts = this.texts;
  layer.clearLayers();
  (items || []).forEach(function (item) {
    var dot = L.circleMarker([item.lat, item.lng], { radius: 7, className: 'tg-case' + (item.urgency === 'urgent' ? ' tg-case-urgent' : ''), weight: 2 });
    var box = el('div', 'tg-case-popup');
    box.appendChild(el('strong', null, item.title));
    box.appendChild(el('div', 'tg-muted', item.number));
    if (item.category) box.appendChild(el('div', null, item.category));
    if (item.stage) box.appendChild(el('div', null, item.stage));
    if (item.distance_m !== undefined) box.appendChild(el('div', 'tg-muted', fill(texts.distance, { m: item.distance_m })));
    if (item.url) { var a = el('a', null, texts.open || '›'); a.href = item.url; box.appendChild(a); }
    dot.bindPopup(box);
    dot.bindTooltip(item.title);
    layer.addLayer(dot);
  });
  return this;
};

TgMap.prototype.loadNearby = function (url, latlng, radius, list) {
  var self = this, texts = this.texts;
  var sep = url.indexOf('?') < 0 ? '?' : '&';
  var query = url + sep + 'lat=' + latlng.lat.toFixed(6) + '&lng=' + latlng.lng.toFixed(6) + '&radius=' + radius;
  var seq = this._nearbySeq = (this._nearbySeq || 0) + 1;
  return fetch(query, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      if (seq !== self._nearbySeq) return; // a newer point was picked meanwhile
      self.showCases(data.items);
      if (list) {
        list.textContent = data.items.length ? fill(texts.nearby, { n: data.items.length, radius: data.radius }) : fill(texts.nearbyNone, { radius: data.radius });
        list.setAttribute('data-count', data.items.length);
      }
    })
    .catch(function () { if (list && seq === self._nearbySeq) list.textContent = texts.nearbyFailed || ''; });
};

function create(element, options) { return new TgMap(element, options); }

function setUp(element) {
  if (element.tgMap) return element.tgMap;
  var options;
  try { options = JSON.parse(element.getAttribute('data-map')); } catch (e) { return null; }
  var canvas = element.querySelector('[data-map-canvas]') || element;
  element.hidden = false;
  options.status = element.querySelector('[data-map-status]');
  var m = element.tgMap = create(canvas, options);
  if (options.mode === 'show' && options.point) {
    m.show(options.point[0], options.point[1]);
  } else if (options.mode === 'pick') {
    var form = element.closest('form') || document;
    var lat = form.querySelector('[name=lat]'), lng = form.querySelector('[name=lng]');
    if (!lat || !lng) return m;
    var list = element.querySelector('[data-map-nearby]');
    m.pick(lat, lng, options.nearby ? function (p) { m.loadNearby(options.nearby, p, options.radius || 500, list); } : null);
    if (options.nearby) {
      // before a place is picked, the open cases in view (as far as the search reaches)
      var browse = function () {
        if (m.point) return;
        var c = m.map.getCenter(), reach = c.distanceTo(m.map.getBounds().getNorthEast());
        m.loadNearby(options.nearby, c, Math.max(100, Math.min(options.maxRadius || 3000, Math.round(reach))), list);
      };
      m.map.on('moveend', browse);
      browse();
    }
  }
  return m;
}

function setUpAll(root) {
  Array.prototype.forEach.call((root || document).querySelectorAll('[data-map]'), setUp);
}

window.TongguanMap = { create: create, setUp: setUp, setUpAll: setUpAll, L: L };
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { setUpAll(document); });
else setUpAll(document);
