"""Task lists filtered by light, tier and unit — in the API and in the query the pages use."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from app.core.auth import load_principal
from app.orgs.directory import directory
from app.orgs.models import User
from app.tasks.queries import TaskFilters, inbox_page

Api = Callable[[str], Any]


def test_filters_in_the_api(api: Api, make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    at_time("2026-12-01T09:00:00+08:00")
    garbage = make_case(channel="grid", category_code="event:06001", grid_unit="d2-s1-c2")  # community tier
    r = api("demo_dispatcher").claim_and_complete(garbage["current_tasks"][0]["id"],
                                                  {"decision": "file", "grid_unit": "d2-s1-c2", "urgency": "normal"})
    triage = r.get_json()["current_tasks"][0]
    dispatcher = api("dispatcher_d2")

    def ids(query: str) -> set[int]:
        r = dispatcher.get(f"/api/v1/tasks?scope=claimable&limit=500&{query}")
        assert r.status_code == 200, r.get_json()
        return {t["id"] for t in r.get_json()["tasks"]}

    assert triage["id"] in ids("tier=community") and triage["id"] not in ids("tier=district")
    assert triage["id"] in ids("unit=d2-s1") and triage["id"] not in ids("unit=d2-s2")
    assert triage["id"] in ids("light=green")  # 1 working hour from 09:00
    at_time("2026-12-01T09:48:00+08:00")
    assert triage["id"] in ids("light=yellow") and triage["id"] not in ids("light=green")
    at_time("2026-12-01T10:00:00+08:00")
    assert triage["id"] in ids("light=red&tier=community&unit=d2")
    r = dispatcher.get("/api/v1/tasks?light=blue&tier=moon&unit=nowhere")
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"light", "tier", "unit"}


def test_tier_filter_with_the_case_joined(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid")  # a manhole cover: district tier once filed
    r = api("demo_dispatcher").claim_and_complete(case["current_tasks"][0]["id"],
                                                  {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    triage_id = r.get_json()["current_tasks"][0]["id"]
    with app.app_context():
        from sqlalchemy import select

        from app.core.db import session
        principal = load_principal(session.scalar(select(User.id).where(User.username == "dispatcher_d1")))
        d1 = directory().by_code["d1"].path
        rows = inbox_page(principal, "claimable", limit=500, filters=TaskFilters(tier="district", unit_path=d1))
        assert triage_id in {t.id for t, _c in rows} and all(c.tier == "district" for _t, c in rows)
        rows = inbox_page(principal, "claimable", limit=500, filters=TaskFilters(tier="community", unit_path=d1))
        assert triage_id not in {t.id for t, _c in rows}
