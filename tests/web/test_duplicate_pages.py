"""Duplicates in the browser: the candidates with their reasons on the case page and on the filing
task (核实立案), merging and keeping separate, the merged case's banner, the master's repeat count
and the reporters of the cases merged into it."""
from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.cases.models import Case
from app.core.db import session
from app.duplicates.detector import distance_m
from tests.web.pages import csrf, html, token

_rng = random.Random()
_POOL = "翠柳桂枫梧桐檀松柏澜沁汀滨渝沅泓潇湘芷兰蕙荟萃瑞锦颐和嘉禾福祥泰康乐怡景悦华庭苑府邸"
# where other test modules put reports of the same kind (tests/duplicates/test_merge_api.py): kept
# away from, so that no other test's report is ever near one of these
OTHER_TESTS_SPOTS = ((31.3801, 121.2801), (31.3803, 121.2802), (31.41, 121.33))
SPACING_M = 3000.0  # three times the detector's FAR_M: a report elsewhere is "far" and scores half


def _cells() -> Iterator[tuple[float, float]]:
    """Places about 3 km apart in the demo city's area, north of its communities, none near
    OTHER_TESTS_SPOTS: each estate of this module gets one of its own."""
    for row in range(8):
        for col in range(20):
            cell = (round(31.27 + 0.03 * row, 4), round(121.12 + 0.035 * col, 4))
            if all(distance_m(*cell, *other) > SPACING_M for other in OTHER_TESTS_SPOTS):
                yield cell


_free = _cells()
_spots: dict[str, tuple[float, float]] = {}


def place_name() -> str:
    """A made-up estate no other test uses, at a place of its own: each test's cases only match
    each other (a random place could fall near another test's report of the same text, which then
    competed with this test's own master)."""
    name = "".join(_rng.sample(_POOL, 4)) + "苑"
    while name in _spots:
        name = "".join(_rng.sample(_POOL, 4)) + "苑"
    _spots[name] = next(_free)
    return name


def phone(seed: str) -> str:
    return "139" + str(int.from_bytes(seed.encode(), "big") % 10**8).zfill(8)


def spot(name: str) -> tuple[float, float]:
    return _spots[name]


def report(name: str, **extra: Any) -> dict[str, Any]:
    lat, lng = spot(name)
    body = {"channel": "hotline", "title": f"{name}工地夜间施工噪音扰民",
            "description": f"{name}小区旁边的工地每天晚上十一点以后还在打桩施工，噪音非常大，居民无法休息",
            "address": f"东湖区{name}东门", "category_code": "event:05003", "lat": lat, "lng": lng,
            "grid_unit": "d1-s1-c1", "reporter": {"name": "王女士", "phone": phone(name + "王")}}
    body.update(extra)
    return body


def reworded(name: str, **extra: Any) -> dict[str, Any]:
    lat, lng = spot(name)
    body = {"channel": "wechat", "title": f"投诉{name}旁工地半夜打桩",
            "description": f"{name}旁工地半夜还在打桩，噪音吵得孩子睡不着，请管一管",
            "address": f"{name}", "category_code": "event:05003", "lat": lat + 0.0002, "lng": lng + 0.0001,
            "grid_unit": "d1-s1-c1", "reporter": {"name": "李先生", "phone": phone(name)},
            "extension": {"openid": "o_wx_" + name.encode().hex()[:12]}}
    body.update(extra)
    return body


def create(api: Callable[[str], Any], body: dict[str, Any]) -> dict[str, Any]:
    r = api("demo_operator").post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def pair(api: Callable[[str], Any], **dup: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    name = place_name()
    master = create(api, report(name))
    duplicate = create(api, reworded(name, **dup))
    # the first report is the best match (other tests' similar reports may follow it)
    assert [c["case_id"] for c in duplicate["duplicate_candidates"]][:1] == [master["id"]]
    return master, duplicate


def load(app: Flask, case_id: int) -> Case:
    with app.app_context():
        case = session.get(Case, case_id)
        assert case is not None
        session.expunge(case)
        return case


def panel(page: str) -> str:
    m = re.search(r'<section class="card duplicates".*?</section>', page, re.S)
    return m.group(0) if m else ""


def flashes(client: FlaskClient, url: str) -> str:
    page = html(client.get(url))
    m = re.search(r'<div class="flashes".*?</div>', page, re.S)
    return m.group(0) if m else ""


# ---------------------------------------------------------------------------- the panel

def test_case_page_shows_the_candidates_with_their_reasons(api: Callable[[str], Any],
                                                           browser: Callable[[str], FlaskClient]) -> None:
    master, dup = pair(api)
    page = html(browser("demo_dispatcher").get(f"/cases/{dup['id']}"))
    shown = panel(page)
    assert "疑似重复案件" in shown and master["number"] in shown and master["title"] in shown
    assert f'href="/cases/{master["id"]}"' in shown and "12345热线" in shown and master["address"] in shown
    score = dup["duplicate_candidates"][0]["score"]
    assert f"{round(100 * score)}%" in shown
    assert re.search(r"内容相似（\d+%）", shown) and re.search(r"距离 \d+ 米", shown)
    assert "同一类别" in shown and re.search(r"\d+ 天内", shown)
    assert "合并到此案件" in shown and "不是重复" in shown and 'name="csrf_token"' in shown
    assert f'name="into" value="{master["id"]}"' in shown and "data-confirm=" in shown
    assert 'name="reason"' in shown
    assert "发现疑似重复" in page  # the timeline's label

    # an operator reads the candidates; only dispatchers and supervisors decide
    operator = panel(html(browser("demo_operator").get(f"/cases/{dup['id']}")))
    assert master["number"] in operator and "合并到此案件" not in operator and "不是重复" not in operator
    # the earlier case does not propose the later one (candidates are found at intake)
    assert dup["number"] not in panel(html(browser("demo_dispatcher").get(f"/cases/{master['id']}")))


def test_merge_from_the_case_page(app: Flask, api: Callable[[str], Any], browser: Callable[[str], FlaskClient]) -> None:
    master, dup = pair(api)
    client = browser("demo_dispatcher")
    page = html(client.get(f"/cases/{dup['id']}"))
    r = client.post(f"/cases/{dup['id']}/merge", data={"csrf_token": csrf(page), "into": master["id"],
                                                      "reason": "同一工地", "next": f"/cases/{dup['id']}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{master['id']}")
    assert load(app, dup["id"]).status == "merged" and load(app, dup["id"]).merged_into_id == master["id"]
    assert load(app, master["id"]).repeat_count == 1

    shown = html(client.get(f"/cases/{master['id']}"))
    assert f"已将 {dup['number']} 合并至 {master['number']}" in shown
    assert "重复反映 ×1" in shown
    merged = re.search(r'<section class="card merged-cases".*?</section>', shown, re.S)
    assert merged
    reporter_phone = load(app, dup["id"]).reporter_phone
    assert reporter_phone
    for text in (dup["number"], "李先生", f'href="tel:{reporter_phone}"', "微信公众号", f'href="/cases/{dup["id"]}"'):
        assert text in merged.group(0), text
    assert "并入重复案件" in shown  # the timeline

    banner = html(client.get(f"/cases/{dup['id']}"))
    assert f"已合并至 {master['number']}" in banner and f'href="/cases/{master["id"]}"' in banner
    assert "已合并" in banner and "合并至主案件" in banner and "同一工地" in banner
    assert panel(banner) == ""  # a merged case has nothing left to decide


def test_keep_separate_from_the_case_page(app: Flask, api: Callable[[str], Any],
                                          browser: Callable[[str], FlaskClient]) -> None:
    master, dup = pair(api)
    client = browser("demo_supervisor")
    page = html(client.get(f"/cases/{dup['id']}"))
    url = f"/cases/{dup['id']}/duplicates/{master['id']}/dismiss"
    assert f'formaction="{url}"' in page
    r = client.post(url, data={"csrf_token": csrf(page), "reason": "不是同一个工地", "next": f"/cases/{dup['id']}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{dup['id']}")
    shown = html(client.get(f"/cases/{dup['id']}"))
    assert f"已确认 {master['number']} 不是 {dup['number']} 的重复" in shown
    assert master["number"] not in panel(shown) and "确认不是重复" in shown and "不是同一个工地" in shown
    assert load(app, dup["id"]).status == "open"

    again = client.post(url, data={"csrf_token": csrf(page), "next": f"/cases/{dup['id']}"})  # decided already
    assert again.status_code == 302
    assert "未保存" in flashes(client, f"/cases/{dup['id']}")


def test_refusals_are_flashed_never_a_500(app: Flask, api: Callable[[str], Any],
                                         browser: Callable[[str], FlaskClient]) -> None:
    master, dup = pair(api)
    here = f"/cases/{dup['id']}"

    operator = browser("demo_operator")
    r = operator.post(f"{here}/merge", data={"csrf_token": token(operator), "into": master["id"], "next": here})
    assert r.status_code == 302 and "只有派遣员、督办员可以合并" in flashes(operator, here)
    r = operator.post(f"{here}/duplicates/{master['id']}/dismiss", data={"csrf_token": token(operator), "next": here})
    assert r.status_code == 302 and "未保存" in flashes(operator, here)

    client = browser("demo_dispatcher")
    for into, expected in ((dup["id"], "不能合并到本案件"), (999999999, "没有案件"), ("x", "请选择要合并到的案件")):
        r = client.post(f"{here}/merge", data={"csrf_token": token(client), "into": into, "next": here})
        assert r.status_code == 302, into
        assert expected in flashes(client, here), into
    assert load(app, dup["id"]).status == "open"

    # merged once, a second merge of the same case is refused
    assert client.post(f"{here}/merge", data={"csrf_token": token(client), "into": master["id"]}).status_code == 302
    r = client.post(f"{here}/merge", data={"csrf_token": token(client), "into": master["id"], "next": here})
    assert r.status_code == 302 and "未合并" in flashes(client, here)
    assert client.post("/cases/999999999/merge", data={"csrf_token": token(client), "into": 1}).status_code == 404


def test_a_dispatcher_outside_the_units_cannot_merge(api: Callable[[str], Any],
                                                     browser: Callable[[str], FlaskClient]) -> None:
    master, dup = pair(api)
    outsider = browser("dispatcher_d2")
    assert outsider.get(f"/cases/{dup['id']}").status_code == 403
    r = outsider.post(f"/cases/{dup['id']}/merge", data={"csrf_token": token(outsider), "into": master["id"]})
    assert r.status_code == 302
    assert "不在您的管辖范围" in flashes(outsider, "/inbox")


# ---------------------------------------------------------------------------- on the filing task

def test_the_filing_task_shows_the_panel_and_merges(app: Flask, api: Callable[[str], Any],
                                                    browser: Callable[[str], FlaskClient]) -> None:
    master, dup = pair(api, channel="grid", extension={})
    (task,) = dup["current_tasks"]
    assert task["bpmn_id"] == "file_case"
    client = browser("demo_dispatcher")
    page = html(client.get(f"/tasks/{task['id']}"))
    shown = panel(page)
    assert master["number"] in shown and "合并到此案件" in shown
    assert f'name="next" value="/tasks/{task["id"]}"' in shown

    r = client.post(f"/cases/{dup['id']}/merge", data={"csrf_token": csrf(page), "into": master["id"],
                                                      "next": f"/tasks/{task['id']}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{master['id']}")
    after = api("demo_dispatcher").get(f"/api/v1/tasks/{task['id']}").get_json()
    assert after["state"] == "cancelled"


def test_other_tasks_do_not_show_the_panel(api: Callable[[str], Any], browser: Callable[[str], FlaskClient]) -> None:
    _master, dup = pair(api)
    (task,) = dup["current_tasks"]
    assert task["bpmn_id"] == "verify_on_site"
    assert panel(html(browser("demo_grid_worker").get(f"/tasks/{task['id']}"))) == ""


def test_english_panel(api: Callable[[str], Any], browser: Callable[[str], FlaskClient]) -> None:
    _master, dup = pair(api)
    client = browser("demo_dispatcher")
    client.post("/lang/en", data={"csrf_token": token(client)})
    shown = panel(html(client.get(f"/cases/{dup['id']}")))
    for text in ("Possible duplicates", "Merge into this case", "Not a duplicate", "Same category", "m away"):
        assert text in shown, text
    assert re.search(r"Similar text \(\d+%\)", shown) and re.search(r"within \d+ days", shown)
    client.post("/lang/zh", data={"csrf_token": token(client)})
