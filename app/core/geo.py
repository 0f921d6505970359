"""Points and areas in WGS84 degrees (the coordinates of org units and reports)."""
from __future__ import annotations

import math
from dataclasses import dataclass

KM_PER_DEGREE = 111.32  # of latitude; of longitude times cos(latitude)


@dataclass(frozen=True)
class Area:
    """A box of WGS84 degrees: where the city's reports may come from."""

    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lng: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lng <= self.east

    def describe(self, locale: str = "zh") -> str:
        if locale == "en":
            return f"{self.south:.2f}–{self.north:.2f}°N, {self.west:.2f}–{self.east:.2f}°E"
        return f"北纬 {self.south:.2f}–{self.north:.2f}°，东经 {self.west:.2f}–{self.east:.2f}°"

    @classmethod
    def around(cls, points: list[tuple[float, float]], margin_km: float) -> Area | None:
        """The bounding box of ``points`` widened by ``margin_km`` on every side (None without points)."""
        if not points:
            return None
        lats, lngs = [p[0] for p in points], [p[1] for p in points]
        d_lat = margin_km / KM_PER_DEGREE
        widest = max(abs(min(lats) - d_lat), abs(max(lats) + d_lat))
        d_lng = margin_km / (KM_PER_DEGREE * max(math.cos(math.radians(min(widest, 89.0))), 0.01))
        return cls(min(lats) - d_lat, min(lngs) - d_lng, max(lats) + d_lat, max(lngs) + d_lng)
