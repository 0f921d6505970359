"""``GET /api/v1/hotspots`` and the page ``/cockpit/hotspots``: scope, refusals, exports."""
from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

NOISE = {"title": "锦绣江南小区旁工地夜间施工噪音扰民", "description": "工地每天晚上施工到凌晨，噪音很大，业主无法休息",
         "address": "示范市东湖区湖滨街道滨江社区锦绣江南小区", "category_code": "event:03001", "grid_unit": "d1-s1-c1"}
WEST = {"title": "枫林社区路灯不亮", "description": "枫林路路灯坏了一个月，晚上很黑", "address": "示范市西山区枫林街道枫林路 8 号",
        "category_code": "component:02001", "grid_unit": "d2-s1-c1"}


_weeks = itertools.count()


@pytest.fixture()
def spots(app: Flask, make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> dict[str, list[int]]:
    """Three reports of one problem in 东湖区 and two of another in 西山区, in a week of their own."""
    week = next(_weeks)
    start = date(2031, 5, 10) + timedelta(days=10 * week)  # each test a window of its own
    at_time(f"{start}T09:00:00+08:00")
    east = [make_case(**NOISE, reporter={"name": f"业主{i}", "phone": f"139{week:04d}000{i}"})["id"] for i in range(3)]
    west = [make_case(**WEST, reporter={"name": f"居民{i}", "phone": f"137{week:04d}000{i}"})["id"] for i in range(2)]
    at_time(f"{start + timedelta(days=2)}T09:00:00+08:00")
    return {"east": east, "west": west}


def test_a_city_leader_sees_both_districts_hottest_first(api: Callable[[str], Any], spots: dict[str, list[int]]) -> None:
    r = api("demo_leader").get("/api/v1/hotspots?days=3")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["unit"] == "city" and body["days"] == 3
    found = [(sorted(h["case_ids"]), h["place"], h["reports"], h["open"]) for h in body["hotspots"]]
    assert found == [(spots["east"], "锦绣江南小区", 3, 3), (spots["west"], "枫林路", 2, 2)]
    top = body["hotspots"][0]
    assert top["heat"] > body["hotspots"][1]["heat"] and top["category"] == "event:03001"
    assert top["description"] == NOISE["title"] and top["reporters"] == 3


def test_a_district_leader_sees_only_their_district(api: Callable[[str], Any], spots: dict[str, list[int]]) -> None:
    body = api("leader_d1").get("/api/v1/hotspots?days=3").get_json()
    assert body["unit"] == "d1" and [sorted(h["case_ids"]) for h in body["hotspots"]] == [spots["east"]]
    assert api("leader_d1").get("/api/v1/hotspots?days=3&unit=d2").status_code == 403
    assert api("demo_leader").get("/api/v1/hotspots?days=3&unit=d2").get_json()["hotspots"][0]["place"] == "枫林路"


@pytest.mark.parametrize("user", ["demo_operator", "demo_handler", "demo_grid_worker"])
def test_other_roles_are_refused(api: Callable[[str], Any], user: str) -> None:
    assert api(user).get("/api/v1/hotspots").status_code == 403


@pytest.mark.parametrize("query, field", [("days=0", "days"), ("days=367", "days"), ("days=x", "days"),
                                          ("unit=nowhere", "unit"), ("format=pdf", "format"), ("limit=0", "limit")])
def test_bad_parameters_are_422_with_the_field(api: Callable[[str], Any], query: str, field: str) -> None:
    r = api("demo_leader").get(f"/api/v1/hotspots?{query}")
    assert r.status_code == 422 and field in r.get_json()["errors"]


def test_csv_and_excel_hold_the_same_numbers(api: Callable[[str], Any], spots: dict[str, list[int]]) -> None:
    leader = api("demo_leader")
    data = leader.get("/api/v1/hotspots?days=3").get_json()["hotspots"]
    expected = [[str(h["rank"]), f"{h['heat']:.2f}", h["place"], str(h["reports"]), str(h["open"]),
                 " ".join(map(str, h["case_ids"]))] for h in data]
    r = leader.get("/api/v1/hotspots?days=3&format=csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["排名", "热度指数", "地点"]
    pick = (0, 1, 2, 9, 12, 14)
    assert [[row[i] for i in pick] for row in rows[1:]] == expected
    x = leader.get("/api/v1/hotspots?days=3&format=xlsx")
    sheet = load_workbook(io.BytesIO(x.data)).active
    cells = [[("" if c is None else str(c)) for c in row] for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == rows[0] and [[row[i] for i in pick] for row in cells[1:]] == expected


def test_the_page_lists_the_hot_spots_with_their_cases(app: Flask, login: Callable[..., Any],
                                                       spots: dict[str, list[int]]) -> None:
    client = app.test_client()
    assert login(client, "demo_leader").status_code == 302
    page = client.get("/cockpit/hotspots?days=7")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "锦绣江南小区" in html and "枫林路" in html
    for case_id in spots["east"] + spots["west"]:
        assert f'href="/cases/{case_id}"' in html
    assert 'href="/cockpit/hotspots/export.xlsx?unit=city&amp;days=7"' in html
    export = client.get("/cockpit/hotspots/export.csv?unit=d1&days=7")
    assert export.status_code == 200 and "锦绣江南小区" in export.get_data(as_text=True)
    assert "枫林路" not in export.get_data(as_text=True)
    # the cockpit panel's data: the same API, with the page's session
    assert client.get("/api/v1/hotspots?days=7&limit=5").get_json()["hotspots"][0]["place"] == "锦绣江南小区"


def test_the_page_is_for_leaders_supervisors_and_admins(app: Flask, login: Callable[..., Any]) -> None:
    client = app.test_client()
    login(client, "demo_operator")
    assert client.get("/cockpit/hotspots").status_code == 403
    other = app.test_client()
    login(other, "leader_d1")
    assert other.get("/cockpit/hotspots?unit=d2").status_code == 403
    assert other.get("/cockpit/hotspots?unit=d1&days=oops").status_code == 200  # a bad picker value: the default

