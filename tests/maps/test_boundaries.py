"""Boundaries: the demo city's schematic ones, and a real city's GeoJSON loaded by
``flask map load-boundaries`` — checked feature by feature, nothing stored when anything is wrong."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.core.audit import AuditEvent
from app.core.db import session
from app.maps.geojson import BoundaryFileError, parse_boundaries
from app.maps.models import UnitBoundary
from app.maps.operations import load_demo_boundaries
from app.orgs.models import OrgUnit


class Unit(NamedTuple):
    code: str
    kind: str
    lat: float
    lng: float


def square(lat: float, lng: float, half: float = 0.01) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lng - half, lat - half], [lng + half, lat - half],
                                                [lng + half, lat + half], [lng - half, lat + half],
                                                [lng - half, lat - half]]]}


def feature(code: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, **props}, "geometry": geometry}


def collection(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


@pytest.fixture()
def restore_demo(app: Flask) -> Iterator[None]:
    """Loading replaces every boundary: give the other tests the demo's schematic ones back."""
    yield
    with app.app_context():
        session.execute(delete(UnitBoundary))
        load_demo_boundaries()
        session.commit()


def stored(app: Flask) -> list[tuple[str, bool, str]]:
    with app.app_context():
        rows = session.execute(select(OrgUnit.code, UnitBoundary.schematic, UnitBoundary.source)
                               .join(OrgUnit, OrgUnit.id == UnitBoundary.org_unit_id).order_by(OrgUnit.code)).all()
        session.rollback()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_demo_city_has_schematic_boundaries_around_its_units(app: Flask) -> None:
    with app.app_context():
        rows = session.execute(select(OrgUnit, UnitBoundary).join(UnitBoundary, UnitBoundary.org_unit_id == OrgUnit.id)).all()
        units = {u.code: (Unit(u.code, u.kind, u.lat, u.lng), json.loads(b.geometry), (b.schematic, b.source))
                 for u, b in rows}
        session.rollback()
    assert {code for code, (u, _g, _b) in units.items() if u.kind == "community"} == {
        f"d{d}-s{s}-c{c}" for d in (1, 2) for s in (1, 2) for c in (1, 2)}
    assert all(b == (True, "demo") for _u, _g, b in units.values())

    def box(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
        ring = geometry["coordinates"][0]
        return min(p[1] for p in ring), min(p[0] for p in ring), max(p[1] for p in ring), max(p[0] for p in ring)

    communities = [(u, box(g)) for u, g, _b in units.values() if u.kind == "community"]
    for u, (s, w, n, e) in communities:
        assert s < u.lat < n and w < u.lng < e  # the unit's own point lies in it
        ps, pw, pn, pe = box(units[u.code.rsplit("-", 1)[0]][1])
        assert ps <= s and pw <= w and n <= pn and e <= pe  # inside its street
    for i, (_u, a) in enumerate(communities):  # neighbours do not overlap
        for _v, b in communities[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    with app.app_context():
        assert load_demo_boundaries() == 0  # a second demo load leaves them as they are


def test_cli_loads_a_city_file_replacing_the_schematic_ones(app: Flask, tmp_path: Path, restore_demo: None) -> None:
    path = tmp_path / "city.geojson"
    multi = {"type": "MultiPolygon", "coordinates": [square(31.23, 121.50)["coordinates"],
                                                      square(31.30, 121.55, 0.005)["coordinates"]]}
    path.write_bytes(collection(feature("d1", multi, name="东湖区"), feature("d1-s1", square(31.22, 121.49, 0.004))))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["map", "load-boundaries", str(path), "--dry-run"])
    assert result.exit_code == 0 and "is valid: 2 boundaries" in result.output, result.output
    assert all(schematic for _c, schematic, _s in stored(app))  # a dry run stores nothing

    result = runner.invoke(args=["map", "load-boundaries", str(path)])
    assert result.exit_code == 0, result.output
    assert "loaded 2 boundaries (1 district, 1 street)" in result.output
    assert stored(app) == [("d1", False, "city.geojson"), ("d1-s1", False, "city.geojson")]
    with app.app_context():
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "boundaries_loaded")
                                .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.detail["units"] == 2 and event.detail["source"] == "city.geojson"
        session.rollback()
    assert "city.geojson: 1 district, 1 street" in runner.invoke(args=["map", "boundaries"]).output


def test_cli_refuses_a_bad_file_and_keeps_what_was_there(app: Flask, tmp_path: Path) -> None:
    before = stored(app)
    path = tmp_path / "bad.geojson"
    open_ring = {"type": "Polygon", "coordinates": [[[121.4, 31.2], [121.5, 31.2], [121.5, 31.3], [121.4, 31.3]]]}
    path.write_bytes(collection(feature("d1", square(31.23, 121.50)), feature("d2", open_ring),
                                feature("nowhere", square(31.2, 121.4))))
    result = app.test_cli_runner().invoke(args=["map", "load-boundaries", str(path)])
    assert result.exit_code == 1 and "no boundary was loaded" in result.output
    assert "features[1] (d2): ring 0: not closed" in result.output
    assert stored(app) == before

    path.write_bytes(collection(feature("d1", square(31.23, 121.50)), feature("nowhere", square(31.2, 121.4)),
                                feature("city-sz", square(31.2, 121.4))))
    result = app.test_cli_runner().invoke(args=["map", "load-boundaries", str(path)])
    assert result.exit_code == 1
    assert "nowhere: no org unit has this code" in result.output
    assert "city-sz: 市市政市容局 is a department" in result.output
    assert stored(app) == before


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    (b"\xff\xfe", "not UTF-8"),
    (b'{"type": "Feature"}', "the top level must be a GeoJSON object"),
    (b'{"type": "FeatureCollection", "features": []}', '"features" must be a non-empty list'),
    (collection({"type": "Feature", "properties": {}, "geometry": square(31, 121)}), 'features[0]: no "code" property'),
    (collection(feature("d1", {"type": "Point", "coordinates": [121, 31]})), "features[0] (d1): the geometry must be a Polygon or a MultiPolygon, not Point"),
    (collection(feature("d1", {"type": "Polygon", "coordinates": [[[121, 31], [122, 31], [121, 31]]]})), "at least 4 positions"),
    (collection(feature("d1", {"type": "Polygon", "coordinates": [[[121, 95], [122, 31], [122, 32], [121, 95]]]})),
     "ring 0, position 0: [121, 95] is not [longitude, latitude]"),
    (collection(feature("d1", {"type": "Polygon", "coordinates": [[["121", 31], [122, 31], [122, 32], ["121", 31]]]})),
     "position 0"),
    (collection(feature("d1", {"type": "Polygon", "coordinates": []})), "no coordinates"),
    (collection(feature("d1", square(31, 121)), feature("d1", square(32, 121))), "features[1] (d1): the unit already has a boundary in features[0]"),
    (json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
                 "features": [feature("d1", square(31, 121))]}).encode(), "WGS84"),
])
def test_bad_geojson_gets_a_clear_message(raw: bytes, message: str) -> None:
    with pytest.raises(BoundaryFileError) as info:
        parse_boundaries(raw)
    assert any(message in e for e in info.value.errors), info.value.errors


def test_another_code_property_and_a_utf8_bom() -> None:
    raw = b"\xef\xbb\xbf" + json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"unit": "d1-s1"}, "geometry": square(31.22, 121.49)}]}).encode()
    assert [b.code for b in parse_boundaries(raw, code_property="unit")] == ["d1-s1"]
