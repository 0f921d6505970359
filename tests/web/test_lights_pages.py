"""Red/yellow/green lights on the pages at fixed clock times: the inbox (with its light, tier and
unit filters), the task page, the case page and the case list.

Tuesday 2026-12-01 is a working day (office hours 09:00–12:00, 13:30–17:30, +08:00). A handling
task at d1-sz must be signed for within 2 working hours; from the claim (签收) its 4h limit runs.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from tests.web.pages import csrf, html

Api = Callable[[str], Any]
LOCAL = "+08:00"


def t(hhmm: str) -> str:
    return f"2026-12-01T{hhmm}:00{LOCAL}"


def handling_task(api: Api, make_case: Callable[..., dict[str, Any]], limit: str = "4h", **case: Any) -> dict[str, Any]:
    """A case filed by a grid worker and dispatched to d1-sz: its handle_case task, not signed for."""
    created = make_case(channel="grid", **case)
    r = api("demo_dispatcher").claim_and_complete(created["current_tasks"][0]["id"],
                                                  {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    assert r.status_code == 200, r.get_json()
    triage = r.get_json()["current_tasks"][0]
    r = api("demo_dispatcher").claim_and_complete(triage["id"], {"decision": "dispatch", "lead_unit": "d1-sz",
                                                                 "handling_limit": limit})
    assert r.status_code == 200, r.get_json()
    [task] = [x for x in r.get_json()["current_tasks"] if x["bpmn_id"] == "handle_case"]
    task["case_number"] = r.get_json()["number"]
    return task  # type: ignore[no-any-return]


def task_of(api: Api, task_id: int) -> dict[str, Any]:
    return api("demo_supervisor").get(f"/api/v1/tasks/{task_id}").get_json()  # type: ignore[no-any-return]


def rows(page: str) -> list[str]:
    """The body rows of the page's first table, as HTML snippets."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return body.split("<tr")[1:]


def row_with(page: str, text: str) -> str | None:
    return next((r for r in rows(page) if text in r), None)


def find_row(client: FlaskClient, url: str, text: str) -> str | None:
    """The row showing ``text`` on any page of a paginated list."""
    for page_no in range(1, 40):
        page = html(client.get(f"{url}&page={page_no}"))
        found = row_with(page, text)
        if found is not None:
            return found
        if 'rel="next"' not in page:
            return None
    return None


def light_of(snippet: str) -> str | None:
    m = re.search(r'class="light light-(green|yellow|red)', snippet)
    return m.group(1) if m else None


def minus(iso: str, minutes: int) -> str:
    return (datetime.fromisoformat(iso) - timedelta(minutes=minutes)).isoformat()


# ---------------------------------------------------------------------------- the inbox

def test_inbox_light_badges_follow_the_clock(api: Api, make_case: Callable[..., dict[str, Any]],
                                             browser: Callable[[str], FlaskClient], at_time: Callable[[str], Any]) -> None:
    at_time(t("10:00"))
    task = handling_task(api, make_case)
    fresh = task_of(api, task["id"])
    assert fresh["due_at"] == "2026-12-01T04:00:00+00:00"  # 2 working hours to sign for it: 12:00 local
    handler = browser("demo_handler")
    url = "/inbox?tab=claimable&sort=-created"
    expected = [(minus(fresh["yellow_at"], 1), "green", "正常"), (fresh["yellow_at"], "yellow", "临期"),
                (minus(fresh["due_at"], 1), "yellow", "临期"), (fresh["due_at"], "red", "超期")]
    for moment, light, text in expected:
        at_time(moment)
        row = find_row(handler, url, task["case_number"])
        assert row is not None, moment
        assert light_of(row) == light, moment
        assert text in row  # the light in words, not only a colour
        assert "签收时限" in row and "12:00" in row  # not signed for yet: the sign-for deadline
        assert "区级" in row  # the case's tier


def test_inbox_light_filter_returns_only_that_light(api: Api, make_case: Callable[..., dict[str, Any]],
                                                   browser: Callable[[str], FlaskClient],
                                                   at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    early = handling_task(api, make_case)  # sign for by 11:00
    at_time(t("10:50"))
    late = handling_task(api, make_case)  # sign for by 14:20
    at_time(t("11:05"))
    handler = browser("demo_handler")
    for light, present, absent in (("red", early, late), ("green", late, early)):
        url = f"/inbox?tab=claimable&sort=-created&light={light}"
        page = html(handler.get(url))
        assert rows(page) and all(light_of(r) == light for r in rows(page)), light
        assert f'<option value="{light}" selected>' in page  # the filter bar shows the choice
        assert find_row(handler, url, present["case_number"]) is not None, light
        assert find_row(handler, url, absent["case_number"]) is None, light
    page = html(handler.get("/inbox?tab=claimable&light=yellow&unit=d1-sz&tier=district"))
    assert all(light_of(r) == "yellow" for r in rows(page))
    assert early["case_number"] not in page and late["case_number"] not in page
    # the filters are kept by the tabs and the sort links
    page = html(handler.get("/inbox?tab=claimable&light=red&unit=d1-sz"))
    assert re.search(r'href="/inbox\?tab=mine&amp;sort=due&amp;light=red&amp;unit=d1-sz"', page), page[:200]
    # a unit outside the tree or a tier that does not exist is ignored, not an error
    assert handler.get("/inbox?tab=claimable&light=purple&tier=galaxy&unit=nowhere").status_code == 200
    # the tier filter: these cases start at the district
    assert find_row(handler, "/inbox?tab=claimable&sort=-created&tier=district", late["case_number"]) is not None
    assert find_row(handler, "/inbox?tab=claimable&sort=-created&tier=community", late["case_number"]) is None
    assert find_row(handler, "/inbox?tab=claimable&sort=-created&unit=d1-jt", late["case_number"]) is None


# ---------------------------------------------------------------------------- task page, case page, case list

def test_task_and_case_pages_show_lights_tier_and_deadline_kind(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
        at_time: Callable[[str], Any]) -> None:
    at_time(t("10:00"))
    task = handling_task(api, make_case)
    handler = browser("demo_handler")
    page = html(handler.get(f"/tasks/{task['id']}"))
    assert "签收时限" in page and "light-green" in page and "区级" in page

    at_time(t("10:30"))
    r = handler.post(f"/tasks/{task['id']}/claim", data={"csrf_token": csrf(page), "next": f"/tasks/{task['id']}"})
    assert r.status_code == 302
    page = html(handler.get(f"/tasks/{task['id']}"))
    assert "办理时限" in page and "签收时限" not in page
    assert "2026-12-01 16:00" in page  # 4 working hours from 10:30

    at_time(t("15:12"))
    page = html(handler.get(f"/tasks/{task['id']}"))
    assert "light-yellow" in page and "临期" in page
    case_page = html(handler.get(f"/cases/{task['case_id']}"))
    assert "light-yellow" in case_page and "区级" in case_page
    assert "上报 0 次" in case_page and "退单 0 次" in case_page

    at_time(t("16:00"))
    mine = html(handler.get("/inbox?tab=mine&sort=-created"))
    row = row_with(mine, task["case_number"])
    assert row is not None and light_of(row) == "red" and "超期" in row and "签收时限" not in row
    title = api("demo_supervisor").get(f"/api/v1/cases/{task['case_id']}").get_json()["title"]
    listing = html(handler.get(f"/cases?q={title}"))
    row = row_with(listing, task["case_number"])
    assert row is not None and light_of(row) == "red" and "区级" in row


def test_lights_in_english(api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
                           at_time: Callable[[str], Any]) -> None:
    at_time(t("10:00"))
    task = handling_task(api, make_case)
    handler = browser("demo_handler")
    handler.post("/lang/en", data={"csrf_token": csrf(html(handler.get("/inbox")))})
    try:
        page = html(handler.get(f"/tasks/{task['id']}"))
        assert "Sign-for deadline" in page and "On time" in page and "District" in page
        at_time(t("12:00"))
        row = find_row(handler, "/inbox?tab=claimable&sort=-created", task["case_number"])
        assert row is not None and "Overdue" in row
    finally:  # the choice is stored as the user's preference: give it back
        handler.post("/lang/zh", data={"csrf_token": csrf(html(handler.get("/inbox")))})


def test_case_list_filters_by_light_and_tier_and_sorts_by_deadline(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
        at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    soon = handling_task(api, make_case, "1h", title="灯测试 早到期")  # sign-for limit 2h: due 11:00
    at_time(t("09:30"))
    later = handling_task(api, make_case, "1h", title="灯测试 晚到期")  # due 11:30
    client = browser("demo_supervisor")
    at_time(t("10:40"))  # soon is yellow (80 % of 2h = 10:36), later still green (yellow at 11:06)
    page = html(client.get("/cases?q=灯测试&light=yellow"))
    assert soon["case_number"] in page and later["case_number"] not in page
    page = html(client.get("/cases?q=灯测试&light=green&tier=district"))
    assert later["case_number"] in page and soon["case_number"] not in page
    assert soon["case_number"] not in html(client.get("/cases?q=灯测试&tier=community"))
    page = html(client.get("/cases?q=灯测试&sort=due"))
    assert page.index(soon["case_number"]) < page.index(later["case_number"])
    page = html(client.get("/cases?q=灯测试"))  # newest first
    assert page.index(later["case_number"]) < page.index(soon["case_number"])
