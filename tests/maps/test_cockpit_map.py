"""The cockpit map's data (/api/v1/cockpit/map and its cases): clusters counted per cell of the
zoom's grid with their lights, single cases only where a cell holds few, the heat layer of the
recent cases, the unit's scope (grid or handling unit below it), and the checks of the query.

The cases are hand-built rows in an empty corner of the map (no other test files cases there),
removed after the module."""
from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from app.cases.models import Case
from app.kpis import recorder as kpi_facts
from app.core import clock
from app.core.db import session
from app.orgs.models import OrgUnit
from tests.conftest import Api

ZOOM = 14
CELL_LNG = 360 / (2 ** ZOOM * 4)  # 4 cells of 64 px across a 256-px tile
CELL_LAT = CELL_LNG * math.cos(math.radians(31))  # square near the city's latitude (31°, a whole degree)
ORIGIN = (30.60, 122.20)  # far from the demo city's units: only this module's cases are here
VIEW = "30.55,122.15,30.70,122.40"


def cell_centre(dy: int, dx: int) -> tuple[float, float]:
    """The centre of the cell ``dy`` rows north and ``dx`` columns east of the one holding ORIGIN."""
    cy = math.floor((ORIGIN[0] + 90) / CELL_LAT) + dy
    cx = math.floor((ORIGIN[1] + 180) / CELL_LNG) + dx
    return (cy + 0.5) * CELL_LAT - 90, (cx + 0.5) * CELL_LNG - 180


A, B, C = cell_centre(0, 0), cell_centre(4, 6), cell_centre(-3, 20)


@pytest.fixture(scope="module")
def cases(app: Flask) -> Iterator[dict[str, Any]]:
    """Cell A (d1): 10 open cases — 3 green, 3 yellow, 2 red, 1 without deadline, 1 parked while still
    green (its clock stands: green, although its deadlines have passed since) — and a closed one;
    cell B (d1): 3 open cases; cell C: 9 open cases of district d2, one of them handled by a d1
    department. Ids by name."""
    now = clock.now()
    made: dict[str, Any] = {"ids": {}}
    with app.app_context():
        units = dict(session.execute(select(OrgUnit.code, OrgUnit.id)).all())
        rows: list[tuple[str, tuple[float, float], dict[str, Any]]] = []
        future, past = now + timedelta(days=5), now - timedelta(days=1)
        for i in range(3):
            rows.append((f"a_green{i}", A, {"yellow_at": now + timedelta(days=4), "due_at": future}))
            rows.append((f"a_yellow{i}", A, {"yellow_at": past, "due_at": future}))
        for i in range(2):
            rows.append((f"a_red{i}", A, {"yellow_at": now - timedelta(days=3), "due_at": past}))
        rows.append(("a_none", A, {}))
        rows.append(("a_parked", A, {"yellow_at": now - timedelta(days=2), "due_at": past,
                                     "parked_at": now - timedelta(days=3)}))
        rows.append(("a_closed", A, {"status": "closed", "stage": "done", "closed_at": now}))
        for i in range(3):
            rows.append((f"b{i}", B, {"yellow_at": now + timedelta(days=4), "due_at": future,
                                      "created_at": now - timedelta(days=40)}))
        for i in range(9):
            rows.append((f"c{i}", C, {"grid": "d2-s1-c1", "handling": "d1-cg" if i == 0 else "d2-cg",
                                      "yellow_at": past, "due_at": future}))
        for n, (name, (lat, lng), extra) in enumerate(rows):
            offset = ((n % 3) - 1) * CELL_LAT / 5, ((n % 5) - 2) * CELL_LNG / 8  # inside the cell, not at its centre
            case = Case(channel="hotline", title=f"驾驶舱地图 {name}", description="手工构造", address="测试路",
                        lat=lat + offset[0], lng=lng + offset[1], status=extra.get("status", "open"),
                        stage=extra.get("stage", "handle"), grid_unit_id=units[extra.get("grid", "d1-s1-c1")],
                        handling_unit_id=units[extra.get("handling", "d1-cg")], yellow_at=extra.get("yellow_at"),
                        due_at=extra.get("due_at"), parked_at=extra.get("parked_at"), closed_at=extra.get("closed_at"),
                        created_at=extra.get("created_at", now - timedelta(days=2)))
            session.add(case)
            session.flush()
            made["ids"][name] = case.id
            made.setdefault("places", {})[name] = (case.lat, case.lng)
        session.commit()
    yield made
    with app.app_context():
        kpi_facts.forget(session(), list(made["ids"].values()))
        session.execute(delete(Case).where(Case.id.in_(made["ids"].values())))
        session.commit()


def get_map(user: Api, **params: Any) -> Any:
    query = {"bbox": VIEW, "zoom": ZOOM, "layer": "open", **params}
    return user.get("/api/v1/cockpit/map", query_string=query)


def _cluster_at(data: dict[str, Any], centre: tuple[float, float]) -> dict[str, Any] | None:
    found = [c for c in data["clusters"] if c["bbox"][0] <= centre[0] < c["bbox"][2] and c["bbox"][1] <= centre[1] < c["bbox"][3]]
    assert len(found) <= 1
    return found[0] if found else None


def test_open_cases_are_counted_per_cell_with_their_lights(app: Flask, cases: dict[str, Any]) -> None:
    r = get_map(Api(app, "demo_leader"), unit="city")
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert data["unit"]["code"] == "city" and data["zoom"] == ZOOM
    assert data["cell"] == pytest.approx([CELL_LAT, CELL_LNG])
    assert data["total"] == 10 + 3 + 9  # the closed case is not open
    a = _cluster_at(data, A)
    assert a is not None and a["count"] == 10
    # the parked case counts green: its clock stood before it turned yellow
    assert a["lights"] == {"green": 4, "yellow": 3, "red": 2, "none": 1}
    assert a["parked"] == 1
    a_places = [p for n, p in cases["places"].items() if n.startswith("a_") and n != "a_closed"]
    assert a["lat"] == pytest.approx(sum(p[0] for p in a_places) / 10, abs=1e-6)
    assert a["lng"] == pytest.approx(sum(p[1] for p in a_places) / 10, abs=1e-6)
    assert a["bbox"][0] <= A[0] < a["bbox"][2] and a["bbox"][2] - a["bbox"][0] == pytest.approx(CELL_LAT, abs=1e-6)  # rounded to 7 places
    c = _cluster_at(data, C)
    assert c is not None and c["count"] == 9 and c["lights"] == {"green": 0, "yellow": 9, "red": 0, "none": 0}
    # cell B holds few: its cases come one by one, never as a cluster
    assert _cluster_at(data, B) is None
    points = {p["id"]: p for p in data["points"]}
    assert set(points) == {cases["ids"][f"b{i}"] for i in range(3)}
    b0 = points[cases["ids"]["b0"]]
    assert b0["light"] == "green" and b0["parked"] is False and b0["title"] == "驾驶舱地图 b0"
    assert b0["url"] == f"/cases/{b0['id']}" and b0["number"].startswith("TG")
    assert data["lights"] == {"green": 4 + 3, "yellow": 3 + 9, "red": 2, "none": 1} and data["parked"] == 1


def test_a_deeper_zoom_splits_the_clusters_and_shows_single_cases(app: Flask, cases: dict[str, Any]) -> None:
    lat, lng = A
    box = f"{lat - 0.004},{lng - 0.004},{lat + 0.004},{lng + 0.004}"
    data = get_map(Api(app, "demo_leader"), bbox=box, zoom=18).get_json()
    # at zoom 18 a cell is 1/16 of the zoom-14 one: cell A's cases fall into cells of a few each
    assert data["total"] == 10
    assert sum(c["count"] for c in data["clusters"]) + len(data["points"]) == 10
    assert all(c["count"] > 8 for c in data["clusters"]) and data["points"]


def test_the_heat_layer_counts_the_recent_cases_of_every_status(app: Flask, cases: dict[str, Any]) -> None:
    leader = Api(app, "demo_leader")
    data = get_map(leader, layer="recent").get_json()
    assert data["layer"] == "recent" and data["days"] == 30
    assert data["cell"] == pytest.approx([CELL_LAT / 2, CELL_LNG / 2])  # half cells: a smoother heat
    assert data["total"] == 11 + 9  # cell A with its closed case, cell C; B's cases came in 40 days ago
    assert sum(c["count"] for c in data["cells"]) == data["total"] and data["max"] == max(c["count"] for c in data["cells"])
    longer = get_map(leader, layer="recent", days=60).get_json()
    assert longer["total"] == 11 + 9 + 3


def test_a_district_leader_sees_only_the_cases_of_their_district(app: Flask, cases: dict[str, Any]) -> None:
    leader = Api(app, "leader_d1")
    data = get_map(leader).get_json()  # no unit: their own district
    assert data["unit"]["code"] == "d1"
    # A and B lie in d1's community; of C only the case a d1 department handles
    assert data["total"] == 10 + 3 + 1
    assert _cluster_at(data, C) is None and cases["ids"]["c0"] in {p["id"] for p in data["points"]}
    assert get_map(leader, unit="d1-s1").get_json()["total"] == 10 + 3  # by grid unit only: c0 lies in d2
    other = get_map(leader, unit="d2")
    assert other.status_code == 403 and other.get_json()["error"] == "forbidden"
    assert get_map(leader, unit="city").status_code == 403
    assert get_map(Api(app, "leader_d2")).get_json()["total"] == 9
    assert get_map(Api(app, "supervisor_d1_s1"), unit="d1-s1").status_code == 200


def test_only_leaders_supervisors_and_admins_see_the_map(app: Flask, client: FlaskClient, cases: dict[str, Any]) -> None:
    for user in ("demo_operator", "demo_handler", "demo_grid_worker"):
        r = get_map(Api(app, user))
        assert r.status_code == 403, user
    for user in ("demo_supervisor", "demo_admin"):
        assert get_map(Api(app, user)).status_code == 200, user
    assert client.get("/api/v1/cockpit/map", query_string={"bbox": VIEW, "zoom": ZOOM}).status_code == 401


@pytest.mark.parametrize(("params", "field"), [
    ({"bbox": "30.5,122.1,30.7"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "30.7,122.1,30.5,122.4"}, "bbox"),  # south above north
    ({"bbox": "30.5,122.4,30.7,122.1"}, "bbox"),
    ({"bbox": "-91,122.1,30.7,122.4"}, "bbox"),
    ({"bbox": "30.5,122.1,30.7,nan"}, "bbox"),
    ({"bbox": "30,121,31,123"}, "bbox"),  # 2° across at zoom 14: more than 64 cells
    ({"bbox": None}, "bbox"),
    ({"zoom": 2}, "zoom"),
    ({"zoom": 21}, "zoom"),
    ({"zoom": "x"}, "zoom"),
    ({"zoom": None}, "zoom"),
    ({"layer": "all"}, "layer"),
    ({"layer": "recent", "days": 0}, "days"),
    ({"layer": "recent", "days": 91}, "days"),
    ({"unit": "nowhere"}, "unit"),
])
def test_a_bad_query_answers_422_with_the_field(app: Flask, params: dict[str, Any], field: str) -> None:
    query = {k: v for k, v in {"bbox": VIEW, "zoom": ZOOM, **params}.items() if v is not None}
    r = Api(app, "demo_leader").get("/api/v1/cockpit/map", query_string=query)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]


def test_the_cases_of_a_cluster_page_by_page(app: Flask, cases: dict[str, Any]) -> None:
    leader = Api(app, "demo_leader")
    a = _cluster_at(get_map(leader, unit="city").get_json(), A)
    assert a is not None
    bbox = ",".join(str(v) for v in a["bbox"])
    seen: list[int] = []
    for page in (1, 2, 3):
        r = leader.get("/api/v1/cockpit/map/cases", query_string={"unit": "city", "bbox": bbox, "page": page, "per_page": 4})
        assert r.status_code == 200, r.get_json()
        data = r.get_json()
        assert data["total"] == 10 and data["page"] == page
        seen += [c["id"] for c in data["items"]]
    assert sorted(seen) == sorted(v for k, v in cases["ids"].items() if k.startswith("a_") and k != "a_closed")
    item = next(c for c in data["items"])
    assert item["url"] == f"/cases/{item['id']}" and item["status"] == "open"
    recent = leader.get("/api/v1/cockpit/map/cases", query_string={"unit": "city", "bbox": bbox, "layer": "recent"})
    assert recent.get_json()["total"] == 11  # the closed one too
    c = _cluster_at(get_map(leader, unit="city").get_json(), C)
    assert c is not None
    c_box = ",".join(str(v) for v in c["bbox"])
    d1 = Api(app, "leader_d1").get("/api/v1/cockpit/map/cases", query_string={"bbox": c_box}).get_json()
    assert [i["id"] for i in d1["items"]] == [cases["ids"]["c0"]]
    assert Api(app, "leader_d1").get("/api/v1/cockpit/map/cases",
                                     query_string={"bbox": c_box, "unit": "d2"}).status_code == 403
    bad = leader.get("/api/v1/cockpit/map/cases", query_string={"bbox": c_box, "per_page": 101})
    assert bad.status_code == 422 and "per_page" in bad.get_json()["errors"]


def test_the_map_is_in_the_openapi_document(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, op_id in (("/api/v1/cockpit/map", "getCockpitMap"), ("/api/v1/cockpit/map/cases", "listCockpitMapCases")):
        op = doc["paths"][path]["get"]
        assert op["operationId"] == op_id
        assert {"200", "401", "403", "422"} <= set(op["responses"])
    names = {p["name"] for p in doc["paths"]["/api/v1/cockpit/map"]["get"]["parameters"]}
    assert names == {"unit", "bbox", "zoom", "layer", "days"}


def test_single_cases_are_the_same_read_by_boxes_or_by_one_windowed_pass(app: Flask, cases: dict[str, Any],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.maps import cockpit
    lat, lng = A
    query = {"bbox": f"{lat - 0.004},{lng - 0.004},{lat + 0.004},{lng + 0.004}", "zoom": 18}
    leader = Api(app, "demo_leader")
    by_boxes = get_map(leader, **query).get_json()
    monkeypatch.setattr(cockpit, "MAX_RUNS", 0)  # as on a street-level view with many scattered cells
    windowed = get_map(leader, **query).get_json()
    assert by_boxes["points"] and windowed["points"] == by_boxes["points"]
    assert windowed["clusters"] == by_boxes["clusters"]
    monkeypatch.setattr(cockpit, "MAX_POINTS", 4)  # past the budget, small cells stay clusters
    capped = get_map(leader, **query).get_json()
    assert len(capped["points"]) <= 4
    assert len(capped["points"]) + sum(c["count"] for c in capped["clusters"]) == 10


def test_the_heat_follows_every_change_of_a_case_in_the_same_transaction(app: Flask, cases: dict[str, Any],
                                                                        make_case: Any) -> None:
    """cockpit_map_points is written with the case: a case filed through the API, moved,
    dispatched to another unit, deleted; a rebuild gives the same rows."""
    from app.maps.heat import rebuild_points
    from app.maps.models import CockpitMapPoint
    leader, leader_d2 = Api(app, "demo_leader"), Api(app, "leader_d2")
    before = get_map(leader, layer="recent").get_json()["total"]
    d2_before = get_map(leader_d2, layer="recent").get_json()["total"]
    filed = make_case(title="驾驶舱地图 热力", grid_unit="d1-s1-c1", lat=31.22, lng=121.46)  # in the city
    with app.app_context():
        assert session.get(CockpitMapPoint, filed["id"]) is not None  # written with the case
    assert get_map(leader, layer="recent").get_json()["total"] == before
    with app.app_context():
        case = session.get(Case, filed["id"])
        assert case is not None
        case.lat, case.lng = B  # moved into the view
        session.commit()
    assert get_map(leader, layer="recent").get_json()["total"] == before + 1
    with app.app_context():
        case = session.get(Case, filed["id"])
        assert case is not None
        case.lat, case.lng = C
        case.grid_unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "d2-s1-c1"))
        session.commit()
    assert get_map(leader_d2, layer="recent").get_json()["total"] == d2_before + 1  # now in d2
    with app.app_context():
        rows = {r.case_id: (r.lat, r.lng, r.grid_unit_id, r.handling_unit_id) for r in session.scalars(select(CockpitMapPoint))}
        rebuild_points()
        assert {r.case_id: (r.lat, r.lng, r.grid_unit_id, r.handling_unit_id)
                for r in session.scalars(select(CockpitMapPoint))} == rows
        session.rollback()
        case = session.get(Case, filed["id"])
        assert case is not None
        case.lat, case.lng = 31.22, 121.46  # back in the city, out of this module's view
        lone = Case(channel="hotline", title="驾驶舱地图 删除", description="手工构造", address="测试路", lat=B[0], lng=B[1],
                    status="open", grid_unit_id=case.grid_unit_id, handling_unit_id=case.handling_unit_id)
        session.add(lone)
        session.commit()
        lone_id = lone.id
        assert session.get(CockpitMapPoint, lone_id) is not None
    assert get_map(leader_d2, layer="recent").get_json()["total"] == d2_before + 1
    with app.app_context():
        kpi_facts.forget(session(), [lone_id])
        session.delete(session.get(Case, lone_id))
        session.commit()
        assert session.get(CockpitMapPoint, lone_id) is None
    assert get_map(leader_d2, layer="recent").get_json()["total"] == d2_before


def test_flask_map_rebuild_points_copies_every_case_with_a_place(app: Flask, cases: dict[str, Any]) -> None:
    from app.maps.models import CockpitMapPoint
    with app.app_context():
        expected = session.scalar(select(func.count()).select_from(Case).where(Case.lat.is_not(None), Case.lng.is_not(None)))
    result = app.test_cli_runner().invoke(args=["map", "rebuild-points"])
    assert result.exit_code == 0, result.output
    assert f"{expected} cases with a place copied into cockpit_map_points" in result.output
    with app.app_context():
        assert session.scalar(select(func.count()).select_from(CockpitMapPoint)) == expected
