"""The cockpit's figures on hand-built cases: arrivals by channel, closures, the open set by light
and tier, escalated, parked, overdue, top categories, the 30-day trend; every figure's link lists
exactly the cases it counts; the roll-up equals a recount; scope (a district leader sees only their
district; another unit is 403) and bad input (422).

The test session shares one database, so the period figures are taken on days of 2033 no other
test touches, and the open set (which has every test's open cases) is compared before and after."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalog.models import CatalogCategory
from app.core.db import session

Api = Callable[[str], Any]
FILE = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}


def t(hhmm: str, day: int) -> str:
    return f"2033-03-{day:02d}T{hhmm}:00+08:00"


def cockpit(api: Api, user: str, **query: str) -> dict[str, Any]:
    r = api(user).get("/api/v1/cockpit", query_string=query)
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def by_key(items: list[dict[str, Any]]) -> dict[str, int]:
    return {x["key"]: x["count"] for x in items}


def current(api: Api, case_id: int, bpmn_id: str) -> dict[str, Any]:
    tasks = api("demo_dispatcher").get(f"/api/v1/cases/{case_id}").get_json()["current_tasks"]
    [task] = [x for x in tasks if x["bpmn_id"] == bpmn_id]
    return task  # type: ignore[no-any-return]


def do(api: Api, user: str, case_id: int, bpmn_id: str, data: dict[str, Any]) -> dict[str, Any]:
    r = api(user).claim_and_complete(current(api, case_id, bpmn_id)["id"], data)
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def to_handling(api: Api, make_case: Callable[..., dict[str, Any]], grid: str, lead: str, limit: str = "4h",
                **case: Any) -> dict[str, Any]:
    made = make_case(channel=case.pop("channel"), grid_unit=grid, **case)
    if made["current_tasks"][0]["bpmn_id"] == "verify_on_site":  # a citizen's report is verified on site first
        worker = "demo_grid_worker" if grid == "d1-s1-c1" else "grid_" + grid.replace("-", "_")
        do(api, worker, made["id"], "verify_on_site", {"confirmed": True})
    do(api, "demo_dispatcher", made["id"], "file_case", {**FILE, "grid_unit": grid})
    return do(api, "demo_dispatcher", made["id"], "triage", {"decision": "dispatch", "lead_unit": lead,
                                                             "handling_limit": limit})


def close(api: Api, case_id: int) -> dict[str, Any]:
    do(api, "demo_handler", case_id, "handle_case", {"handling_notes": "已更换井盖"})
    do(api, "demo_handler", case_id, "report_back", {"result": "resolved", "result_notes": "已更换井盖"})
    do(api, "demo_grid_worker", case_id, "inspect_case", {"passed": True})
    return do(api, "demo_operator", case_id, "callback_case", {"satisfied": True, "score": 5, "reached": True})


def list_total(client: FlaskClient, url: str) -> int:
    page = client.get(url).get_data(as_text=True)
    m = re.search(r"共 (\d+) 条", page)
    assert m, url
    return int(m.group(1))


def figure_links(data: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Every (name, count, url) the answer links to a list of cases."""
    out = [("received", data["received"]["total"], data["received"]["url"]),
           ("closed", data["closed"]["total"], data["closed"]["url"]),
           ("open", data["open"]["total"], data["open"]["url"])]
    out += [(f"open.{k}", data["open"][k]["count"], data["open"][k]["url"]) for k in ("escalated", "parked", "overdue")]
    for group in (data["received"]["by_channel"], data["open"]["by_light"], data["open"]["by_tier"], data["top_categories"]):
        out += [(x["key"], x["count"], x["url"]) for x in group]
    for d in data["trend"]:
        out += [(f"{d['day']} in", d["received"], d["received_url"]), (f"{d['day']} closed", d["closed"], d["closed_url"])]
    return out


@pytest.fixture()
def other_category(app: Flask) -> str:
    with app.app_context():
        return str(session.scalar(select(CatalogCategory.key).where(CatalogCategory.key.like("event:%"))
                                  .order_by(CatalogCategory.key).limit(1)))


def test_figures_of_hand_built_cases(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                     at_time: Callable[[str], Any], browser: Callable[[str], FlaskClient],
                                     other_category: str) -> None:
    at_time(t("08:30", 16))  # Wednesday 2033-03-16
    city_before, d1_before = cockpit(api, "demo_leader"), cockpit(api, "leader_d1")
    assert city_before["unit"]["code"] == "city" and d1_before["unit"]["code"] == "d1"
    assert city_before["received"]["total"] == 0 and city_before["period"] == "today"
    at_time(t("09:00", 16))
    closed = to_handling(api, make_case, "d1-s1-c1", "d1-sz", channel="hotline")  # closed the same day
    # (no channel Open311 publishes: its list of public requests has no upper date and must not see 2033)
    parked = to_handling(api, make_case, "d1-s2-c1", "d1-sz", channel="police110", category_code=other_category)
    escalated = to_handling(api, make_case, "d2-s1-c1", "d2-sz", channel="wechat")
    fresh = make_case(channel="mailbox", grid_unit="d2-s1-c2")  # filed, not yet dispatched: no handling unit
    at_time(t("10:00", 16))
    close(api, closed["id"])
    r = api("demo_supervisor").post(f"/api/v1/cases/{parked['id']}/park", json={"reason": "需等待管网改造"})
    assert r.status_code == 200, r.get_json()
    task = current(api, escalated["id"], "handle_case")
    assert api("handler_d2_sz").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    r = api("handler_d2_sz").post(f"/api/v1/tasks/{task['id']}/escalate", json={"reason": "涉及多个部门"})
    assert r.status_code == 200, r.get_json()
    at_time(t("16:00", 16))  # the 4h limits (09:00 + 4 working hours) have passed: the open ones are red

    city, d1 = cockpit(api, "demo_leader"), cockpit(api, "leader_d1")
    assert city["received"]["total"] == 4 and by_key(city["received"]["by_channel"]) == {
        "hotline": 1, "grid": 0, "city_mgmt": 0, "police110": 1, "mailbox": 1, "wechat": 1, "weibo": 0, "open311": 0, "api": 0}
    assert d1["received"]["total"] == 2 and by_key(d1["received"]["by_channel"])["wechat"] == 0
    assert city["closed"]["total"] == 1 and d1["closed"]["total"] == 1
    assert by_key(city["top_categories"]) == {"component:01002": 3, other_category: 1}
    assert by_key(d1["top_categories"]) == {"component:01002": 1, other_category: 1}
    today = city["trend"][-1]
    assert (today["day"], today["received"], today["closed"]) == ("2033-03-16", 4, 1) and len(city["trend"]) == 30

    def delta(after: dict[str, Any], before: dict[str, Any], *path: str) -> int:
        a, b = after["open"], before["open"]
        for p in path:
            a, b = a[p], b[p]
        return int(a["count"] if isinstance(a, dict) else a) - int(b["count"] if isinstance(b, dict) else b)

    assert delta(city, city_before, "total") == 3  # parked, escalated, fresh
    assert delta(d1, d1_before, "total") == 1  # parked (d1-s2-c1)
    assert delta(city, city_before, "parked") == 1 and delta(d1, d1_before, "parked") == 1
    assert delta(city, city_before, "escalated") == 1 and delta(d1, d1_before, "escalated") == 0
    lights = {x["key"]: x["count"] for x in city["open"]["by_light"]}
    lights_before = {x["key"]: x["count"] for x in city_before["open"]["by_light"]}
    # the parked case keeps its light of 10:00 (green); the escalated one climbed to the city's triage
    assert sum(lights.values()) == city["open"]["total"]
    assert city["open"]["overdue"]["count"] == lights["red"]
    assert sum(lights.values()) - sum(lights_before.values()) == 3
    tiers = {x["key"]: x["count"] for x in city["open"]["by_tier"]}
    assert sum(tiers.values()) == city["open"]["total"]

    # every figure lists exactly its cases, for the city and the district leader
    for user, data in (("demo_leader", city), ("leader_d1", d1)):
        client = browser(user)
        for name, count, url in figure_links(data):
            assert list_total(client, url) == count, (user, name, url)

    with app.app_context():
        from app.cockpit.rollups import differences
        assert differences() == []
    assert fresh["id"]


def test_period_week_and_month(api: Api, make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    at_time(t("11:00", 7))  # Monday 2033-03-07
    make_case(channel="weibo", grid_unit="d2-s2-c1")
    at_time(t("11:00", 14))  # the Monday after
    make_case(channel="weibo", grid_unit="d2-s2-c1")
    at_time(t("11:00", 15))
    week, month = cockpit(api, "leader_d2", period="week"), cockpit(api, "leader_d2", period="month")
    assert (week["from"], week["to"]) == ("2033-03-14", "2033-03-15")
    assert (month["from"], month["to"]) == ("2033-03-01", "2033-03-15")
    assert by_key(week["received"]["by_channel"])["weibo"] == 1
    assert by_key(month["received"]["by_channel"])["weibo"] == 2
    assert by_key(cockpit(api, "leader_d1", period="month")["received"]["by_channel"])["weibo"] == 0


def test_scope_and_refusals(api: Api, app: Flask) -> None:
    assert cockpit(api, "leader_d1", unit="d1-s1")["unit"]["code"] == "d1-s1"  # below their district
    assert cockpit(api, "demo_leader", unit="d2")["unit"]["code"] == "d2"
    assert cockpit(api, "demo_supervisor")["unit"]["code"] == "city"
    assert cockpit(api, "demo_admin")["unit"]["code"] == "city"
    for user, query in (("leader_d1", {"unit": "d2"}), ("leader_d1", {"unit": "city"}), ("leader_d1", {"unit": "d2-s1"}),
                        ("demo_handler", {}), ("demo_operator", {}), ("demo_dispatcher", {"unit": "d1"})):
        r = api(user).get("/api/v1/cockpit", query_string=query)
        assert r.status_code == 403, (user, query, r.get_json())
    for query, field in (({"unit": "nowhere"}, "unit"), ({"period": "year"}, "period"), ({"format": "pdf"}, "format"),
                         ({"unit": "x" * 65}, "unit")):
        r = api("demo_leader").get("/api/v1/cockpit", query_string=query)
        assert r.status_code == 422 and field in r.get_json()["errors"], (query, r.get_json())
    assert app.test_client().get("/api/v1/cockpit").status_code == 401


def test_roll_up_follows_changes_and_rebuilds(app: Flask, make_case: Callable[..., dict[str, Any]],
                                             at_time: Callable[[str], Any]) -> None:
    """Core updates (as the engine writes), a move of the case to another unit and a delete keep the
    roll-up equal to a recount; ``flask cockpit rebuild`` and ``check`` agree."""
    from sqlalchemy import text

    from app.cockpit.rollups import differences
    from app.core.db import transaction
    at_time(t("09:00", 24))
    made = make_case(channel="police110", grid_unit="d1-s1-c2")
    with app.app_context(), transaction():
        d2 = session.scalar(text("SELECT id FROM org_units WHERE code = 'd2-s1'"))
        session.execute(text("UPDATE cases SET grid_unit_id = :u, channel = 'open311', category_code = NULL "
                             "WHERE id = :id"), {"u": d2, "id": made["id"]})
        assert differences() == []
        session.execute(text("UPDATE cases SET status = 'closed', closed_at = created_at WHERE id = :id"), {"id": made["id"]})
        assert differences() == []
        session.rollback()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["cockpit", "check"])
    assert result.exit_code == 0 and "agrees" in result.output
    with app.app_context(), transaction():
        session.execute(text("UPDATE cockpit_daily_counts SET n = n + 5 WHERE measure = 'channel' AND day = '2033-03-24' "
                             "AND key = 'police110'"))
    result = runner.invoke(args=["cockpit", "check"])
    assert result.exit_code == 1 and "stored" in result.output
    result = runner.invoke(args=["cockpit", "rebuild"])
    assert result.exit_code == 0 and "rebuilt" in result.output
    assert runner.invoke(args=["cockpit", "check"]).exit_code == 0


def test_exports_hold_the_same_numbers(api: Api, at_time: Callable[[str], Any]) -> None:
    import csv
    import io

    from openpyxl import load_workbook
    at_time(t("12:00", 16))
    data = cockpit(api, "demo_leader")
    r = api("demo_leader").get("/api/v1/cockpit", query_string={"format": "csv"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["栏目", "项目", "数量"]
    as_csv = {(a, b): int(c) for a, b, c in rows[1:]}
    assert as_csv[("受理", "合计")] == data["received"]["total"]
    assert as_csv[("结案", "合计")] == data["closed"]["total"]
    assert as_csv[("在办", "合计")] == data["open"]["total"]
    assert as_csv[("在办", "超期")] == data["open"]["overdue"]["count"]
    assert as_csv[("近 30 天 · 每日受理", "2033-03-16")] == data["trend"][-1]["received"]
    r = api("demo_leader").get("/api/v1/cockpit", query_string={"format": "xlsx"})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["栏目", "项目", "数量"]
    assert {(a, b): n for a, b, n in cells[1:]} == as_csv


def test_answer_has_the_shape_of_the_openapi_schema(api: Api, client: FlaskClient) -> None:
    from app.api import schemas
    data = cockpit(api, "demo_leader", unit="d1", period="week")
    assert set(data) == {f.data_key or name for name, f in schemas.CockpitSchema().fields.items()}
    assert set(data["open"]) == set(schemas.CockpitOpenSchema().fields)
    assert set(data["received"]["by_channel"][0]) == set(schemas.CockpitItemSchema().fields)
    assert set(data["trend"][0]) == set(schemas.CockpitDaySchema().fields)
    schemas.CockpitSchema().load(data)
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["paths"]["/api/v1/cockpit"]["get"]["operationId"] == "getCockpit"
