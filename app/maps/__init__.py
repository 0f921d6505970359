"""Maps: the city's boundaries (GeoJSON drawn by Leaflet, offline) and the open cases near a point."""
