"""The map's JSON: the open cases near a point (bounded, scoped by the user's units in the staff
view, public fields of published cases only in the public view; bad parameters answer 400) and
the city's boundaries; the pages that carry a map."""
from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.cases.models import Case
from app.core.db import session
from tests.web.pages import html

# south of the demo city's units, inside its area: no other test files cases here
P = (31.05, 121.45)
M_PER_DEG_LAT = 111_195.0


def north(metres: float) -> float:
    return P[0] + metres / M_PER_DEG_LAT


def east(metres: float) -> float:
    return P[1] + metres / (M_PER_DEG_LAT * math.cos(math.radians(P[0])))


@pytest.fixture(scope="module")
def around(app: Flask) -> dict[str, Any]:
    """Cases at known distances from P: hotline (not published) and grid (published) ones, a closed
    one, a confidential one; all in the community d1-s1-c1."""
    from tests.conftest import Api
    operator = Api(app, "demo_operator")
    tag = uuid.uuid4().hex[:6]
    made: dict[str, Any] = {"tag": tag}

    def make(key: str, lat: float, lng: float, channel: str = "hotline", **extra: Any) -> None:
        body = {"channel": channel, "title": f"地图测试 {key} {tag}", "description": "附近的问题",
                "address": "示范市某路", "grid_unit": "d1-s1-c1", "lat": lat, "lng": lng,
                "reporter": {"name": "李女士", "phone": "13900139000"}, **extra}
        r = operator.post("/api/v1/cases", json=body)
        assert r.status_code == 201, r.get_json()
        made[key] = r.get_json()

    make("m100", north(100), P[1])
    make("m400", P[0], east(400))
    make("m800", north(800), P[1])
    make("grid250", north(-250), P[1], channel="grid")
    make("grid_secret", north(-300), P[1], channel="grid")
    make("closed", north(50), P[1])
    with app.app_context():
        session.execute(update(Case).where(Case.id == made["closed"]["id"]).values(status="closed"))
        session.execute(update(Case).where(Case.id == made["grid_secret"]["id"])
                        .values(extension=json.dumps({"confidential": True})))
        session.commit()
    return made


def nearby(client: FlaskClient, **params: Any) -> Any:
    query = {"lat": P[0], "lng": P[1], **params}
    return client.get("/map/nearby", query_string={k: v for k, v in query.items() if v is not None})


def titles(response: Any, tag: str) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [i["title"].split(" ")[1] for i in response.get_json()["items"] if i["title"].endswith(tag)]


def test_nearby_open_cases_nearest_first_within_the_radius(browser: Callable[[str], FlaskClient],
                                                           around: dict[str, Any]) -> None:
    operator = browser("demo_operator")
    tag = around["tag"]
    r = nearby(operator)
    assert titles(r, tag) == ["m100", "grid250", "grid_secret", "m400"]  # 500 m by default; not the closed one
    item = next(i for i in r.get_json()["items"] if i["title"] == f"地图测试 m100 {tag}")
    assert abs(item["distance_m"] - 100) <= 1
    assert item["url"] == f"/cases/{around['m100']['id']}" and item["number"] == around["m100"]["number"]
    assert titles(nearby(operator, radius=1000), tag) == ["m100", "grid250", "grid_secret", "m400", "m800"]
    assert titles(nearby(operator, radius=150), tag) == ["m100"]
    assert titles(nearby(operator, radius=1000, limit=2), tag) == ["m100", "grid250"]
    assert len(nearby(operator, radius=3000, limit=100).get_json()["items"]) <= 100


def test_the_staff_view_is_scoped_by_the_users_units(browser: Callable[[str], FlaskClient],
                                                     around: dict[str, Any]) -> None:
    tag = around["tag"]
    assert "m100" in titles(nearby(browser("dispatcher_d1")), tag)  # the district of the cases' community
    assert titles(nearby(browser("dispatcher_d2")), tag) == []  # the other district sees none of them
    assert "m100" in titles(nearby(browser("demo_grid_worker")), tag)  # the community itself


def test_the_public_view_has_published_cases_and_public_fields_only(browser: Callable[[str], FlaskClient],
                                                                    around: dict[str, Any]) -> None:
    tag = around["tag"]
    for user in ("demo_grid_worker", "dispatcher_d2"):  # the same for everyone, whatever their units
        r = nearby(browser(user), view="public")
        # the hotline calls are not published; the grid report whose reporter asked for confidentiality is left out
        assert titles(r, tag) == ["grid250"]
        item = next(i for i in r.get_json()["items"] if i["title"].endswith(tag))
        assert set(item) == {"number", "title", "category", "stage", "created_at", "lat", "lng", "distance_m"}
        assert "李女士" not in r.get_data(as_text=True) and "13900139000" not in r.get_data(as_text=True)


def test_no_personal_data_in_the_staff_view_either(browser: Callable[[str], FlaskClient],
                                                   around: dict[str, Any]) -> None:
    text = nearby(browser("demo_operator"), radius=1000).get_data(as_text=True)
    assert "李女士" not in text and "13900139000" not in text and "附近的问题" not in text


@pytest.mark.parametrize("params, field", [
    ({"lat": None}, "lat"), ({"lat": "abc"}, "lat"), ({"lat": "91"}, "lat"), ({"lat": "nan"}, "lat"),
    ({"lng": "inf"}, "lng"), ({"lng": "-180.5"}, "lng"), ({"lng": ""}, "lng"),
    ({"radius": "0"}, "radius"), ({"radius": "3001"}, "radius"), ({"radius": "1.5"}, "radius"),
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "x"}, "limit"),
    ({"view": "all"}, "view"),
])
def test_bad_parameters_answer_400_naming_the_field(browser: Callable[[str], FlaskClient], params: dict[str, Any],
                                                    field: str) -> None:
    r = nearby(browser("demo_operator"), **params)
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "bad_request" and list(body["errors"]) == [field] and body["errors"][field][0]


def test_map_json_needs_a_login(client: FlaskClient) -> None:
    for url in ("/map/nearby?lat=31.2&lng=121.4", "/map/boundaries"):
        r = client.get(url)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_boundaries_of_the_demo_city_are_schematic_geojson(browser: Callable[[str], FlaskClient]) -> None:
    data = browser("demo_grid_worker").get("/map/boundaries").get_json()
    assert data["type"] == "FeatureCollection" and data["tongguan"]["schematic"] is True
    kinds = [f["properties"]["kind"] for f in data["features"]]
    assert kinds.count("district") == 2 and kinds.count("street") == 4 and kinds.count("community") == 8
    assert kinds == sorted(kinds, key=["city", "district", "street", "community"].index)  # big ones below
    names = {f["properties"]["code"]: f["properties"]["name"] for f in data["features"]}
    assert names["d1-s1-c1"] == "滨江社区"


def test_the_pages_carry_their_map(browser: Callable[[str], FlaskClient], make_case: Callable[..., dict[str, Any]]) -> None:
    def options(page: str) -> dict[str, Any]:
        start = page.index("data-map='") + len("data-map='")
        return json.loads(page[start:page.index("'", start)])

    new = options(html(browser("demo_operator").get("/cases/new")))
    assert new["mode"] == "pick" and new["nearby"] == "/map/nearby?view=staff" and new["tiles"] is None
    report = options(html(browser("demo_grid_worker").get("/report")))
    assert report["mode"] == "pick" and report["nearby"] == "/map/nearby?view=public"
    assert report["focus"] == pytest.approx([31.216, 121.486])  # the grid worker's community 滨江社区
    case = make_case(lat=31.2201, lng=121.4902)
    shown = options(html(browser("demo_operator").get(f"/cases/{case['id']}")))
    assert shown["mode"] == "show" and shown["point"] == [31.2201, 121.4902] and "nearby" not in shown
    assert "data-map=" not in html(browser("demo_operator").get(f"/cases/{make_case()['id']}"))  # no location, no map
    # the no-JavaScript way stays: the fields are on the form
    page = html(browser("demo_operator").get("/cases/new"))
    assert 'name="lat"' in page and 'name="lng"' in page
