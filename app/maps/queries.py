"""Reading maps: the city's boundaries as one GeoJSON FeatureCollection, and the open cases near a
point (what the report pages show, as FixMyStreet does, so a reporter sees what is known already).

The nearby search is bounded: a radius of at most ``MAX_RADIUS_M`` and at most ``MAX_LIMIT`` cases.
It reads the index ``ix_cases_status_lat_lng`` (status, lat, lng): the open cases in the latitude
band of the radius, filtered on longitude inside the index, the nearest first by an equirectangular
distance (exact to well under a metre at city scale); the exact haversine distance is computed for
the few rows returned.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.cases.models import Case
from app.cases.privacy import is_confidential
from app.core.auth import Principal
from app.core.db import session
from app.core.geo import KM_PER_DEGREE
from app.maps.models import UnitBoundary
from app.orgs.models import OrgUnit
from app.tasks.queries import visible_cases_condition

DEFAULT_RADIUS_M = 500
MAX_RADIUS_M = 3000
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Nearby:
    case: Case
    distance_m: float


def nearby_open_cases(principal: Principal, lat: float, lng: float, radius_m: float, limit: int,
                      public: bool) -> list[Nearby]:
    """Open cases within ``radius_m`` metres of (lat, lng), nearest first, at most ``limit``.

    ``public``: only cases of the channels the city publishes (``OPEN311_PUBLIC_CHANNELS``, as its
    Open311 GET requests do), none whose reporter asked for confidentiality; otherwise the cases
    the user may see (their units' scope)."""
    d_lat = radius_m / 1000 / KM_PER_DEGREE
    cos_lat = max(math.cos(math.radians(min(abs(lat) + d_lat, 89.9))), 0.01)
    d_lng = d_lat / cos_lat
    conditions = [Case.status == "open", Case.lat.between(lat - d_lat, lat + d_lat),
                  Case.lng.between(lng - d_lng, lng + d_lng)]
    if public:
        conditions.append(Case.channel.in_(current_app.config["SETTINGS"].open311_public_channels))
    else:
        conditions.append(visible_cases_condition(principal))
    k = math.cos(math.radians(lat))
    planar = (Case.lat - lat) * (Case.lat - lat) + (Case.lng - lng) * k * (Case.lng - lng) * k
    # a few more than asked for: the box's corners lie outside the circle; confidential ones are dropped
    rows = session.scalars(select(Case).where(*conditions).order_by(planar, Case.id).limit(limit * 2 + 10))
    found = []
    for case in rows:
        if public and is_confidential(case):
            continue
        d = haversine_m(lat, lng, case.lat, case.lng)  # type: ignore[arg-type]
        if d <= radius_m:
            found.append(Nearby(case, d))
    return found[:limit]


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def boundary_collection(locale: str = "zh") -> dict[str, Any]:
    """Every stored boundary as a GeoJSON FeatureCollection, largest units first (drawn below the
    smaller ones); ``tongguan.schematic`` tells the map to say the geometry is not real."""
    rows = session.execute(select(UnitBoundary, OrgUnit).join(OrgUnit, OrgUnit.id == UnitBoundary.org_unit_id)
                           .order_by(OrgUnit.path)).all()
    order = {"city": 0, "district": 1, "street": 2, "community": 3}
    rows = sorted(rows, key=lambda r: (order.get(r[1].kind, 4), r[1].path))
    features = [{"type": "Feature", "geometry": json.loads(b.geometry),
                 "properties": {"code": u.code, "name": u.display_name(locale), "kind": u.kind,
                                "schematic": b.schematic}} for b, u in rows]
    return {"type": "FeatureCollection", "features": features,
            "tongguan": {"schematic": any(b.schematic for b, _u in rows),
                         "sources": sorted({b.source for b, _u in rows})}}


def boundary_summary() -> list[dict[str, Any]]:
    """What is loaded, per source and kind: for ``flask map boundaries``."""
    rows = session.execute(select(UnitBoundary.source, UnitBoundary.schematic, OrgUnit.kind, UnitBoundary.loaded_at)
                           .join(OrgUnit, OrgUnit.id == UnitBoundary.org_unit_id)).all()
    summary: dict[tuple[str, bool], dict[str, Any]] = {}
    for source, schematic, kind, loaded_at in rows:
        item = summary.setdefault((source, schematic), {"source": source, "schematic": schematic, "kinds": {},
                                                        "loaded_at": loaded_at})
        item["kinds"][kind] = item["kinds"].get(kind, 0) + 1
    return list(summary.values())
