"""Duplicate candidates at intake, merging and keeping separate, through the API."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.db import transaction
from app.tasks.models import Task

_rng = random.Random()
_POOL = "翠柳桂枫梧桐檀松柏澜沁汀滨渝沅泓潇湘芷兰蕙荟萃瑞锦颐和嘉禾福祥泰康乐怡景悦华庭苑府邸"


def place_name() -> str:
    """A made-up estate name no other test uses, so each test's cases only match each other."""
    return "".join(_rng.sample(_POOL, 3)) + "苑"


def phone(seed: str) -> str:
    return "139" + str(int.from_bytes(seed.encode(), "big") % 10**8).zfill(8)


def report(name: str, **extra: Any) -> dict[str, Any]:
    body = {"channel": "hotline", "title": f"{name}工地夜间施工噪音扰民",
            "description": f"{name}小区旁边的工地每天晚上十一点以后还在打桩施工，噪音非常大，居民无法休息",
            "address": f"东湖区{name}东门", "category_code": "event:05003", "lat": 31.3801, "lng": 121.2801,
            "reporter": {"name": "王女士", "phone": phone(name + "王")}}
    body.update(extra)
    return body


def reworded(name: str, **extra: Any) -> dict[str, Any]:
    body = {"channel": "wechat", "title": f"投诉{name}旁工地半夜打桩",
            "description": f"{name}旁工地半夜还在打桩，噪音吵得孩子睡不着，请管一管",
            "address": f"{name}", "category_code": "event:05003", "lat": 31.3803, "lng": 121.2802,
            "reporter": {"name": "李先生", "phone": phone(name)}, "extension": {"openid": "o_wx_" + name.encode().hex()[:12]}}
    body.update(extra)
    return body


@contextmanager
def setting(app: Flask, name: str, value: Any) -> Iterator[None]:
    settings = app.config["SETTINGS"]
    old = getattr(settings, name)
    setattr(settings, name, value)
    try:
        yield
    finally:
        setattr(settings, name, old)


def create(api: Callable[[str], Any], body: dict[str, Any], user: str = "demo_operator") -> dict[str, Any]:
    r = api(user).post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def test_a_reworded_report_nearby_lists_the_first_case_with_reasons(api: Callable[[str], Any]) -> None:
    name = place_name()
    first = create(api, report(name))
    second = create(api, reworded(name))
    cands = second["duplicate_candidates"]
    assert [c["case_id"] for c in cands] == [first["id"]]
    assert {"similar_text", "nearby", "same_category", "recent"} <= set(cands[0]["reasons"])
    assert 0.5 <= cands[0]["score"] <= 1 and cands[0]["details"]["distance_m"] < 50
    again = api("demo_dispatcher").get(f"/api/v1/cases/{second['id']}").get_json()
    assert [c["case_id"] for c in again["duplicate_candidates"]] == [first["id"]]
    events = [e["action"] for e in again["history"]]
    assert "duplicates_found" in events


def test_a_different_problem_is_not_a_candidate(api: Callable[[str], Any]) -> None:
    name = place_name()
    first = create(api, report(name))
    other = create(api, {"channel": "hotline", "title": "实验小学门口摊贩占道经营",
                         "description": "每天早上实验小学门口有摊贩占道，学生上学不方便", "address": "光明路实验小学",
                         "lat": 31.41, "lng": 121.33})
    assert first["id"] not in [c["case_id"] for c in other["duplicate_candidates"]]


def test_merge_makes_the_duplicate_follow_its_master(app: Flask, api: Callable[[str], Any]) -> None:
    name = place_name()
    master = create(api, report(name))
    dup = create(api, reworded(name))
    r = api("demo_dispatcher").post(f"/api/v1/cases/{dup['id']}/merge", json={"into": master["id"], "reason": "同一工地"})
    assert r.status_code == 200, r.get_json()
    merged = r.get_json()
    assert merged["status"] == "merged" and merged["merged_into"] == master["id"] and merged["current_tasks"] == []
    assert merged["closed_at"] is not None and merged["light"] is None
    assert "case_merged" in [e["action"] for e in merged["history"]]
    with app.app_context(), transaction() as s:
        states = set(s.scalars(select(Task.state).where(Task.case_id == dup["id"])))
        assert states == {"cancelled"}
    m = api("demo_dispatcher").get(f"/api/v1/cases/{master['id']}").get_json()
    assert m["repeat_count"] == 1 and m["status"] == "open" and m["current_tasks"]
    assert [c["case_id"] for c in m["merged_cases"]] == [dup["id"]]
    assert m["merged_cases"][0]["reporter"] == {"name": "李先生", "phone": phone(name)}
    assert "duplicate_merged_in" in [e["action"] for e in m["history"]]
    # the merged case's candidates are decided, and a third report now finds the master
    third = create(api, reworded(name, reporter={"name": "赵女士", "phone": "13600000003"},
                                 extension={"openid": "o_third_" + name.encode().hex()[:8]}))
    assert master["id"] in [c["case_id"] for c in third["duplicate_candidates"]]
    assert dup["id"] not in [c["case_id"] for c in third["duplicate_candidates"]]


def test_merge_refusals(api: Callable[[str], Any]) -> None:
    name = place_name()
    master = create(api, report(name))
    dup = create(api, reworded(name))
    url = f"/api/v1/cases/{dup['id']}/merge"
    assert api("demo_operator").post(url, json={"into": master["id"]}).status_code == 403
    assert api("demo_handler").post(url, json={"into": master["id"]}).status_code == 403
    r = api("demo_dispatcher").post(url, json={"into": dup["id"]})
    assert r.status_code == 422 and "into" in r.get_json()["errors"]
    r = api("demo_dispatcher").post(url, json={"into": 10**9})
    assert r.status_code == 422 and "into" in r.get_json()["errors"]
    r = api("demo_dispatcher").post(url, json={"into": "x"})
    assert r.status_code == 422 and "into" in r.get_json()["errors"]
    assert api("demo_dispatcher").post(url, json={"into": master["id"]}).status_code == 200
    r = api("demo_dispatcher").post(url, json={"into": master["id"]})
    assert r.status_code == 409  # already merged
    r = api("demo_dispatcher").post(f"/api/v1/cases/{master['id']}/merge", json={"into": dup["id"]})
    assert r.status_code == 422  # into its own duplicate: that is itself


def test_merging_into_a_merged_case_goes_to_its_master(api: Callable[[str], Any]) -> None:
    name = place_name()
    master = create(api, report(name))
    dup = create(api, reworded(name))
    late = create(api, reworded(name, reporter={"name": "周先生", "phone": "13500000004"},
                                extension={"openid": "o_late_" + name.encode().hex()[:8]}))
    api("demo_dispatcher").post(f"/api/v1/cases/{dup['id']}/merge", json={"into": master["id"]})
    r = api("demo_dispatcher").post(f"/api/v1/cases/{late['id']}/merge", json={"into": dup["id"]})
    assert r.status_code == 200 and r.get_json()["merged_into"] == master["id"]
    m = api("demo_dispatcher").get(f"/api/v1/cases/{master['id']}").get_json()
    assert m["repeat_count"] == 2


def test_keep_separate_removes_the_candidate(api: Callable[[str], Any]) -> None:
    name = place_name()
    first = create(api, report(name))
    second = create(api, reworded(name))
    url = f"/api/v1/cases/{second['id']}/duplicates/{first['id']}/dismiss"
    assert api("demo_operator").post(url, json={}).status_code == 403
    r = api("demo_dispatcher").post(url, json={"reason": "两个不同的工地"})
    assert r.status_code == 200 and first["id"] not in [c["case_id"] for c in r.get_json()["duplicate_candidates"]]
    assert "duplicate_dismissed" in [e["action"] for e in r.get_json()["history"]]
    assert api("demo_dispatcher").post(url, json={}).status_code == 409


def test_an_exact_repeat_from_the_same_reporter_merges_at_once(app: Flask, api: Callable[[str], Any]) -> None:
    name = place_name()
    first = create(api, report(name))
    again = create(api, report(name))
    assert again["status"] == "merged" and again["merged_into"] == first["id"]
    assert "same_text" in again["duplicate_candidates"][0]["reasons"] if again["duplicate_candidates"] else True
    with setting(app, "DEDUP_AUTO_MERGE", False):
        kept = create(api, report(name))
    assert kept["status"] == "open"
    assert first["id"] in [c["case_id"] for c in kept["duplicate_candidates"]]


def test_repeats_raise_the_master_to_urgent(app: Flask, api: Callable[[str], Any]) -> None:
    name = place_name()
    master = create(api, report(name))
    assert master["urgency"] == "normal"
    with setting(app, "DEDUP_URGENT_REPEATS", 2):
        for i in range(2):
            dup = create(api, reworded(name, reporter={"name": f"R{i}", "phone": f"1350000100{i}"},
                                       extension={"openid": f"o_{i}_" + name.encode().hex()[:8]}))
            assert api("demo_dispatcher").post(f"/api/v1/cases/{dup['id']}/merge", json={"into": master["id"]}).status_code == 200
    m = api("demo_dispatcher").get(f"/api/v1/cases/{master['id']}").get_json()
    assert m["repeat_count"] == 2 and m["urgency"] == "urgent"
    assert "priority_raised" in [e["action"] for e in m["history"]]


def test_closed_cases_leave_the_index_after_the_window(app: Flask, api: Callable[[str], Any]) -> None:
    from datetime import timedelta

    from app.cases.models import Case
    from app.core.db import utcnow
    from app.duplicates import store
    from app.duplicates.models import CaseFingerprint, DuplicateKey
    name = place_name()
    first = create(api, report(name))
    with app.app_context(), transaction() as s:
        case = s.get(Case, first["id"])
        case.status, case.closed_at = "closed", utcnow() - timedelta(days=100)
    with app.app_context(), transaction() as s:
        purged = 0
        while n := store.purge(utcnow(), window_days=90):
            purged += n
        assert purged >= 1
        assert s.scalar(select(func.count()).select_from(DuplicateKey).where(DuplicateKey.case_id == first["id"])) == 0
        assert s.get(CaseFingerprint, first["id"]).indexed is False
    later = create(api, reworded(name))
    assert first["id"] not in [c["case_id"] for c in later["duplicate_candidates"]]


@pytest.mark.parametrize("who", ["demo_dispatcher", "demo_supervisor"])
def test_dispatchers_and_supervisors_may_merge(api: Callable[[str], Any], who: str) -> None:
    name = place_name()
    master = create(api, report(name))
    dup = create(api, reworded(name))
    assert api(who).post(f"/api/v1/cases/{dup['id']}/merge", json={"into": master["id"]}).status_code == 200
