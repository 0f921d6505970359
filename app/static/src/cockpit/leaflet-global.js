// Leaflet.markercluster and Leaflet.heat extend the global L: set it before they are imported
// (imports run in order, so cockpit-map.js imports this module first).
import L from 'leaflet';

window.L = L;
export default L;
