"""Numbers out of range in queries and bodies are 422 naming the field (they answered 500:
OverflowError on SQLite, "integer out of range" on PostgreSQL), and points outside the city's
area are refused instead of being routed to the nearest community hundreds of kilometres away."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.core.geo import Area
from app.core.ids import MAX_ID

HUGE = "99999999999999999999"


@pytest.mark.parametrize(("query", "field"), [
    (f"offset={HUGE}", "offset"), (f"offset={MAX_ID + 1}", "offset"), ("offset=-1", "offset"),
    ("limit=0", "limit"), ("limit=501", "limit"), (f"limit={HUGE}", "limit"), ("limit=many", "limit"),
    ("scope=everything", "scope"),
])
def test_task_list_paging_out_of_range_is_422(api: Callable[[str], Any], query: str, field: str) -> None:
    r = api("demo_dispatcher").get(f"/api/v1/tasks?{query}")
    assert r.status_code == 422 and list(r.get_json()["errors"]) == [field], r.get_json()


def test_task_list_paging_in_range(api: Callable[[str], Any]) -> None:
    body = api("demo_dispatcher").get(f"/api/v1/tasks?limit=500&offset={MAX_ID}").get_json()
    assert body == {"tasks": [], "limit": 500, "offset": MAX_ID}
    assert api("demo_dispatcher").get("/api/v1/tasks").get_json()["limit"] == 50


@pytest.mark.parametrize("after", [HUGE, str(MAX_ID + 1), "-1"])
def test_notice_outbox_after_out_of_range_is_422(api: Callable[[str], Any], after: str) -> None:
    r = api("demo_operator").get(f"/api/v1/reporter-notices?after={after}")
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["after"]


def test_ids_in_bodies_out_of_range_are_422(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    r = api("demo_dispatcher").post(f"/api/v1/cases/{case['id']}/merge", json={"into": MAX_ID + 1})
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["into"]
    r = api("demo_operator").post("/api/v1/notifications/read", data=json.dumps({"ids": [1, 10**20]}),
                                  content_type="application/json")
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["ids.1"]
    r = api("demo_operator").post("/api/v1/notifications/read", json={"ids": [MAX_ID]})
    assert r.status_code == 200


def test_a_time_limit_beyond_a_year_is_422(
        api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    dispatcher = api("demo_dispatcher")
    task_id = make_case(channel="grid")["current_tasks"][0]["id"]
    r = dispatcher.claim_and_complete(task_id, {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    assert r.status_code == 200, r.get_json()
    triage = r.get_json()["current_tasks"][0]
    assert triage["bpmn_id"] == "triage"
    assert dispatcher.post(f"/api/v1/tasks/{triage['id']}/claim").status_code == 200
    form = dispatcher.get(f"/api/v1/tasks/{triage['id']}").get_json()["form"]
    assert form["properties"]["handling_limit"]["format"] == "time-limit"
    r = dispatcher.post(f"/api/v1/tasks/{triage['id']}/complete", json={"data": {
        "decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "9999999d"}})
    assert r.status_code == 422 and "handling_limit" in r.get_json()["errors"], r.get_json()
    assert "365" in r.get_json()["errors"]["handling_limit"][0]


# ---------------------------------------------------------------------------- the city's area

def _case(**overrides: Any) -> dict[str, Any]:
    body = {"channel": "hotline", "title": "路灯不亮（坐标）", "description": "整条路不亮", "address": "新港路",
            "category_code": "component:01002"}
    body.update(overrides)
    return body


@pytest.mark.parametrize(("lat", "lng"), [(-0.0, 0.0), (0.0, 0.0), (39.9, 116.4), (31.23, 0.0), (-31.23, 121.47)])
def test_a_point_outside_the_city_is_422_on_both_coordinates(app: Flask, api: Callable[[str], Any],
                                                             lat: float, lng: float) -> None:
    r = api("demo_operator").post("/api/v1/cases", json=_case(lat=lat, lng=lng))
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"lat", "lng"}, r.get_json()
    assert "outside the city's area" in r.get_json()["errors"]["lat"][0]


def test_a_point_in_the_city_is_routed_to_the_nearest_community(api: Callable[[str], Any]) -> None:
    r = api("demo_operator").post("/api/v1/cases", json=_case(lat=31.2361, lng=121.5059))
    assert r.status_code == 201 and r.get_json()["grid_unit"] == "d1-s2-c1", r.get_json()


def test_the_city_area_is_the_org_units_with_a_margin(app: Flask) -> None:
    from app.orgs.directory import city_area
    with app.app_context():
        area = city_area()
    assert area is not None
    # the demo units lie between 31.186 and 31.244 N, 121.386 and 121.514 E; 30 km around them
    assert 30.9 < area.south < 30.95 and 31.48 < area.north < 31.52
    assert 121.05 < area.west < 121.1 and 121.8 < area.east < 121.85
    assert area.contains(31.23, 121.47) and not area.contains(0.0, 0.0) and not area.contains(31.23, 122.5)


def test_the_city_area_can_be_set_and_is_checked_at_start_up() -> None:
    from app.config import ConfigError, load_settings
    settings = load_settings({"ENV": "testing", "CITY_AREA": "30.6,120.8,31.9,122.2"})
    assert settings.city_area == Area(30.6, 120.8, 31.9, 122.2)
    assert load_settings({"ENV": "testing"}).city_area is None
    for wrong in ("30,120,31", "north,120,31,122", "31.9,120.8,30.6,122.2", "30,190,31,200"):
        with pytest.raises(ConfigError, match="CITY_AREA"):
            load_settings({"ENV": "testing", "CITY_AREA": wrong})
    with pytest.raises(ConfigError, match="MARGIN"):
        load_settings({"ENV": "testing", "CITY_AREA_MARGIN_KM": -1.0})


def test_area_around_points() -> None:
    assert Area.around([], 30) is None
    area = Area.around([(31.2, 121.4), (31.3, 121.6)], 11.132)
    assert area is not None
    assert round(area.south, 4) == 31.1 and round(area.north, 4) == 31.4
    assert area.west < 121.4 - 0.1 and area.east > 121.6 + 0.1  # a degree of longitude is shorter there
