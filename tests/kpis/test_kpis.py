"""KPI facts and formulas on hand-built histories, played through the API with the clock fixed.

Every case here is handled by d1-sz on days of March 2026 that no other test uses, so the figures
of d1-sz over those days are exactly the cases of the test (computed by hand in each test).
Tuesday 2026-03-10 is a working day (09:00–12:00, 13:30–17:30 +08:00): a case dispatched at
09:00 with a 4 h limit is due at 14:30.
"""
from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from app.core.db import session
from app.kpis.facts import FACTS
from app.kpis.formulas import FormulaError, check_formula
from app.kpis.models import CaseFact
from tests.kpis.conftest import Api, Play, t

def facts_of(app: Flask, case_id: int) -> dict[str, Any]:
    with app.app_context():
        return {r.fact: r for r in session.scalars(select(CaseFact).where(CaseFact.case_id == case_id))}


def figure(k: dict[str, Any]) -> tuple[Any, Any, Any]:
    return k["value"], k["numerator"], k["denominator"]


def test_on_time_late_and_overdue_open(app: Flask, play: Play) -> None:
    on_time = play.dispatched(t("09:00", 10))
    late = play.dispatched(t("09:05", 10))
    still_open = play.dispatched(t("09:10", 10))
    play.finish(on_time, t("11:00", 10))
    play.call_back(on_time, t("15:00", 10))
    play.finish(late, t("16:00", 10))  # due 14:35: late
    play.call_back(late, t("17:00", 10), satisfied=False, solved=False)  # reopened: a second round
    play.at(t("10:00", 11))
    k = play.kpis(10, 10)
    # due on the 10th: all 3. The reopened case is back at triage: until a new round of handling is
    # dispatched, its finished (late) round stands
    assert "closed_late" in facts_of(app, late)
    assert figure(k["on_time_close_rate"]) == (0.3333, 1, 3)
    assert figure(k["overdue_rate"]) == (0.6667, 2, 3)  # closed late, and the open one past due
    assert figure(k["close_rate"]) == (0.6667, 2, 3)
    assert figure(k["satisfaction_rate"]) == (0.5, 1, 2)
    assert figure(k["solve_rate"]) == (0.5, 1, 2)
    assert figure(k["response_rate"]) == (1.0, 3, 3)
    assert k["on_time_close_rate"]["target"] == 0.9 and k["on_time_close_rate"]["meets_target"] is False
    assert facts_of(app, still_open)["pending"].why.count("deadline") == 1
    r = play.api("demo_leader").get("/api/v1/kpis/cases?unit=d1-sz&from=2026-03-10&to=2026-03-10"
                                    "&key=overdue_rate&part=numerator")
    assert r.get_json()["case_ids"] == [late, still_open]
    r = play.api("demo_leader").get("/api/v1/kpis/cases?unit=d1-sz&from=2026-03-10&to=2026-03-10"
                                    "&key=on_time_close_rate&part=denominator")
    assert r.get_json()["case_ids"] == [on_time, late, still_open] and r.get_json()["count"] == 3
    play.at(t("12:00", 10))  # before the open one's deadline (14:40) it is not overdue yet
    assert figure(play.kpis(10, 10)["overdue_rate"]) == (0.3333, 1, 3)


def test_extension_parking_rework_and_handling_time(app: Flask, play: Play, api: Api) -> None:
    extended = play.dispatched(t("09:00", 12))  # due 14:30 on the 12th; extended by 2 h → 16:30
    task = play.current(extended, "handle_case")
    r = api("demo_handler").post(f"/api/v1/tasks/{task['id']}/extension-requests", json={"hours": 2, "reason": "需采购配件"})
    assert r.status_code == 201, r.get_json()
    assert api("demo_supervisor").post(f"/api/v1/extension-requests/{r.get_json()['id']}/decision",
                                       json={"approve": True, "reason": "同意"}).status_code == 200
    parked = play.dispatched(t("09:10", 12))
    play.at(t("10:00", 12))
    assert api("supervisor_d1").post(f"/api/v1/cases/{parked}/park", json={"reason": "需等待管网改造"}).status_code == 200
    reworked = play.dispatched(t("09:20", 12), limit="1d")  # due 09:20 on the 13th
    play.finish(extended, t("16:00", 12))  # after 14:30, before the extended 16:30: on time
    play.call_back(extended, t("17:00", 12))
    play.finish(reworked, t("10:00", 12), passed=False)  # inspection fails: a new round of handling
    play.redispatch(reworked, t("10:30", 12), limit="1d")  # due 10:30 on the 13th
    play.finish(reworked, t("11:00", 12))
    play.call_back(reworked, t("11:30", 12))
    f = facts_of(app, extended)
    assert {"due", "extended", "closed_on_time", "closed"} <= set(f) and "closed_late" not in f
    assert json.loads(f["extended"].why)["extension_minutes"] == 120
    assert "deferred" in facts_of(app, parked) and "pending" not in facts_of(app, parked)
    # 09:00 → 16:00 is 5.5 working hours (12:00–13:30 is the lunch break)
    assert f["handling_minutes"].value == 330
    assert "reworked" in facts_of(app, reworked)
    k = play.kpis(12, 13)
    # due: extended (12th), parked (deferred), reworked's second round (13th) → 3 − 1
    assert figure(k["on_time_close_rate"]) == (1.0, 2, 2)
    assert figure(k["rework_rate"]) == (0.5, 1, 2)
    # reworked: 09:20 → 11:00 = 100 working minutes; mean (330 + 100) / 2 minutes = 3.58 h
    assert figure(k["avg_handling_hours"]) == (3.58, 430, 2)


def test_a_merged_repeat_counts_once(app: Flask, play: Play, api: Api) -> None:
    master = play.dispatched(t("09:00", 16))
    play.at(t("09:30", 16))
    repeat = play.make_case(channel="hotline")
    r = api("demo_dispatcher").post(f"/api/v1/cases/{repeat['id']}/merge", json={"into": master, "reason": "同一井盖"})
    assert r.status_code == 200, r.get_json()
    assert set(facts_of(app, repeat["id"])) == {"received", "merged"}
    k = play.kpis(16, 16)
    assert k["on_time_close_rate"]["denominator"] == 1


def test_scope_and_bad_parameters(play: Play, api: Api) -> None:
    assert api("leader_d1").get("/api/v1/kpis?unit=d1-sz&from=2026-03-10&to=2026-03-10").status_code == 200
    assert api("leader_d2").get("/api/v1/kpis?unit=d1-sz&from=2026-03-10&to=2026-03-10").status_code == 403
    assert api("demo_handler").get("/api/v1/kpis?unit=d1-sz").status_code == 403
    body = api("leader_d1").get("/api/v1/kpis").get_json()
    assert body["unit"] == "d1"  # the leader's own unit by default
    assert api("demo_leader").get("/api/v1/kpis").get_json()["unit"] == "city"
    for query, field in (("from=2026-03-10&to=2026-03-01", "to"), ("from=2026-13-01&to=2026-03-01", "from"),
                         ("from=2026-03-01", "to"), ("period=decade", "period"), ("format=pdf", "format"),
                         ("from=2024-01-01&to=2026-03-01", "to")):
        r = api("demo_leader").get(f"/api/v1/kpis?{query}")
        assert r.status_code == 422 and field in r.get_json()["errors"], (query, r.get_json())
    r = api("demo_leader").get("/api/v1/kpis/cases?key=nope")
    assert r.status_code == 422 and "key" in r.get_json()["errors"]
    r = api("demo_leader").get("/api/v1/kpis/cases?key=close_rate&part=both")
    assert r.status_code == 422 and "part" in r.get_json()["errors"]
    assert api("demo_leader").get("/api/v1/kpis?unit=nowhere").status_code == 404
    r = api("demo_leader").get("/api/v1/kpis?period=month&date=2026-03-15").get_json()
    assert (r["from"], r["to"]) == ("2026-03-01", "2026-03-31")


def test_exports_hold_the_same_numbers(play: Play, api: Api) -> None:
    case = play.dispatched(t("09:00", 18))
    play.finish(case, t("10:00", 18))
    query = "unit=d1-sz&from=2026-03-18&to=2026-03-18"
    figures = {k["key"]: k for k in api("demo_leader").get(f"/api/v1/kpis?{query}").get_json()["kpis"]}
    r = api("demo_leader").get(f"/api/v1/kpis?{query}&format=csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["指标", "指标键", "数值", "分子"]
    by_key = {row[1]: row for row in rows[1:]}
    assert by_key["on_time_close_rate"][2:5] == ["1.0", "1", "1"] and figures["on_time_close_rate"]["value"] == 1.0
    r = api("demo_leader").get(f"/api/v1/kpis?{query}&format=xlsx")
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = list(sheet.iter_rows(values_only=True))
    xrows = {row[1]: row for row in values[1:]}
    for key, k in figures.items():
        assert xrows[key][3] == k["numerator"] and xrows[key][4] == k["denominator"]
    r = api("demo_leader").get(f"/api/v1/kpis/cases?{query}&key=on_time_close_rate&format=xlsx")
    sheet = load_workbook(io.BytesIO(r.data)).active
    numbers = [row[0] for row in list(sheet.iter_rows(values_only=True))[1:]]
    assert len(numbers) == 1 and numbers[0].endswith(f"{case:06d}")


def test_an_invalid_formula_is_refused_with_its_file_and_field() -> None:
    good = json.loads(open("rules/kpis/close_rate.json", encoding="utf-8").read())
    assert check_formula("close_rate.json", json.dumps(good)).key == "close_rate"
    bad = {**good, "numerator": {"plus": [{"fact": "closed_quickly"}]}}
    with pytest.raises(FormulaError) as e:
        check_formula("close_rate.json", json.dumps(bad))
    assert "rules/kpis/close_rate.json" in e.value.zh and "分子.加项.0.事实" in e.value.zh and "closed_quickly" in e.value.zh
    no_kind = {k: v for k, v in good.items() if k != "kind"}
    with pytest.raises(FormulaError) as e:
        check_formula("close_rate.json", json.dumps(no_kind))
    assert "缺少字段「类型」" in e.value.zh
    with pytest.raises(FormulaError) as e:
        check_formula("other.json", json.dumps(good))
    assert "须与文件名一致" in e.value.zh
    with pytest.raises(FormulaError):
        check_formula("close_rate.json", "{not json")


def test_deploy_refuses_an_invalid_formula(app: Flask, app_settings: dict[str, Any], tmp_path: Any) -> None:
    from app.engine.definitions import inspect_bundle, read_bundle
    settings = app.config["SETTINGS"]
    bundle = read_bundle(settings.PROCESS_DIR, settings.RULES_DIR, settings.FORMS_DIR)
    assert set(bundle["kpis"]) >= {"on_time_close_rate.json", "avg_handling_hours.json"}
    bundle["kpis"]["rework_rate.json"] = bundle["kpis"]["rework_rate.json"].replace('"kind": "rate"', '"kind": "percent"')
    with app.app_context():
        found = inspect_bundle(bundle, settings.CASE_PROCESS_ID).findings
    [problem] = [f for f in found if f.file == "kpis/rework_rate.json"]
    assert "rules/kpis/rework_rate.json" in problem.zh and "类型" in problem.zh and problem.element == "kind"
    # the designer's check names the file as its drafts do
    from app.designer.checks import bundle_with, check_bundle
    with app.app_context():
        edited = bundle_with(bundle, {"kpis/rework_rate.json": bundle["kpis"]["rework_rate.json"]})
        problems = check_bundle(edited, settings.CASE_PROCESS_ID).problems
    assert [p.file for p in problems if p.file and p.file.startswith("kpis/")] == ["kpis/rework_rate.json"]


def test_every_fact_is_documented() -> None:
    doc = open("docs/kpis.md", encoding="utf-8").read()
    for fact in FACTS:
        assert f"`{fact}`" in doc, fact


def test_rollups_equal_a_recompute_after_random_operations(app: Flask, play: Play, api: Api) -> None:
    from app.kpis.rebuild import differences
    rnd = random.Random(13)
    cases = [play.dispatched(t(f"09:{i:02d}", 19), limit=rnd.choice(["4h", "1d"])) for i in range(6)]
    for cid in cases:
        roll = rnd.random()
        hour = rnd.choice(["10:00", "15:00", "16:30"])
        if roll < 0.2:
            play.at(t("09:30", 19))
            api("supervisor_d1").post(f"/api/v1/cases/{cid}/park", json={"reason": "等待改造"})
            continue
        passed = rnd.random() < 0.7
        play.finish(cid, t(hour, 19), passed=passed)
        if not passed:
            play.redispatch(cid, t("17:00", 19))
        elif rnd.random() < 0.7:
            play.call_back(cid, t("17:00", 19), satisfied=rnd.random() < 0.6)
    with app.app_context():
        assert differences() == []
