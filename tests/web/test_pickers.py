"""The unit and people pickers on task pages, through the browser forms (CSRF on, no script):
triage and filing show the org tree with the proposal first; 改派 picks a unit, then a person."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.web.pages import csrf, html

Api = Callable[[str], Any]
Browser = Callable[[str], FlaskClient]


def only(case: dict[str, Any], bpmn_id: str) -> dict[str, Any]:
    [task] = [t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id]
    return task


def filed(api: Api, make_case: Callable[..., dict[str, Any]], **kw: Any) -> dict[str, Any]:
    case = make_case(channel="grid", **kw)
    r = api("demo_dispatcher").claim_and_complete(only(case, "file_case")["id"], {
        "decision": "file", "urgency": "normal", "grid_unit": kw.get("grid_unit", "d1-s1-c1")})
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def select_html(page: str, name: str) -> str:
    m = re.search(rf'<select id="[^"]*" name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert m, name
    return m.group(1)


def optgroups(select: str) -> list[tuple[str, list[str]]]:
    return [(label, re.findall(r'<option value="([^"]+)"', body))
            for label, body in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)]


def claimed_page(browser: Browser, user: str, task_id: int) -> tuple[FlaskClient, str]:
    client = browser(user)
    page = html(client.get(f"/tasks/{task_id}"))
    r = client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(page), "next": f"/tasks/{task_id}"})
    assert r.status_code == 302
    return client, html(client.get(f"/tasks/{task_id}"))


# ---------------------------------------------------------------------------- triage and filing

def test_district_triage_shows_the_tree_with_the_proposal_first(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Browser) -> None:
    case = filed(api, make_case, category_code="component:01002", grid_unit="d1-s2-c1")  # a manhole cover
    triage = only(case, "triage")
    assert triage["org_unit"]["code"] == "d1"
    _client, page = claimed_page(browser, "dispatcher_d1", triage["id"])
    lead = select_html(page, "lead_unit")
    groups = optgroups(lead)
    assert groups[0] == ("建议", ["d1-sz"])  # the rules' proposal, first, once
    assert re.search(r'<option value="d1-sz" selected>东湖区市政市容局（建议）</option>', lead)
    assert groups[1][0] == "东湖区" and groups[1][1][:2] == ["d1-cg", "d1-hw"]
    assert "d1-sz" not in groups[1][1]
    # streets, and their communities indented below them
    assert groups[1][1][-6:] == ["d1-s1", "d1-s1-c1", "d1-s1-c2", "d1-s2", "d1-s2-c1", "d1-s2-c2"]
    assert '<option value="d1-s1-c1" >\u3000滨江社区</option>' in lead
    # co-handlers: the same tree as headed groups of checkboxes
    co = page.split('data-field="co_units"', 1)[1].split("</fieldset>", 1)[0]
    assert 'class="choices unit-tree"' in co and '<p class="unit-group-label" aria-hidden="true">东湖区</p>' in co
    assert re.search(r'class="choice unit-depth-1"><input type="checkbox" name="co_units" value="d1-s1-c1"', co)


def test_a_community_dispatches_with_a_peer_community_as_co_handler(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Browser) -> None:
    case = filed(api, make_case, category_code="event:06001", grid_unit="d1-s1-c1")  # exposed garbage
    triage = only(case, "triage")
    assert triage["org_unit"]["code"] == "d1-s1-c1"
    client, page = claimed_page(browser, "dispatcher_d1_s1_c1", triage["id"])
    assert optgroups(select_html(page, "lead_unit")) == [("建议", ["d1-s1-c1"])]
    co = page.split('data-field="co_units"', 1)[1].split("</fieldset>", 1)[0]
    # before: the community itself, the lead, the only choice (and dropped by the process)
    assert re.findall(r'name="co_units" value="([^"]+)"', co) == ["d1-s1-c2"]
    assert "湖滨街道" in co and "望湖社区" in co
    r = client.post(f"/tasks/{triage['id']}", data={
        "csrf_token": csrf(page), "decision": "dispatch", "lead_unit": "d1-s1-c1", "co_units": "d1-s1-c2",
        "handling_limit": "1d"})
    assert r.status_code == 302, html(r)
    after = api("demo_supervisor").get(f"/api/v1/cases/{case['id']}").get_json()
    assert {(t["bpmn_id"], t["org_unit"]["code"]) for t in after["current_tasks"]} == {
        ("handle_case", "d1-s1-c1"), ("cohandle_case", "d1-s1-c2")}
    # a unit outside the community's choices is refused on its field
    case = filed(api, make_case, category_code="event:06001", grid_unit="d1-s1-c1")
    client, page = claimed_page(browser, "dispatcher_d1_s1_c1", only(case, "triage")["id"])
    r = client.post(f"/tasks/{only(case, 'triage')['id']}", data={
        "csrf_token": csrf(page), "decision": "dispatch", "lead_unit": "d1-s1-c1", "co_units": "d1-s2-c1",
        "handling_limit": "1d"})
    assert r.status_code == 422 and 'id="f-co_units-error"' in html(r)


def test_the_filing_form_groups_communities_by_street(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Browser) -> None:
    case = make_case(channel="grid", grid_unit="d1-s2-c1")
    _client, page = claimed_page(browser, "demo_dispatcher", only(case, "file_case")["id"])
    groups = optgroups(select_html(page, "grid_unit"))
    assert groups[:2] == [("东湖区 › 湖滨街道", ["d1-s1-c1", "d1-s1-c2"]), ("东湖区 › 新港街道", ["d1-s2-c1", "d1-s2-c2"])]
    assert len(groups) == 4  # the grid is preselected, not a proposal of the rules
    assert '<option value="d1-s2-c1" selected>港东社区</option>' in page


# ---------------------------------------------------------------------------- reassign without script

def handling_task(api: Api, make_case: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    case = filed(api, make_case)
    r = api("demo_dispatcher").claim_and_complete(only(case, "triage")["id"], {
        "decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"})
    task = only(r.get_json(), "handle_case")
    assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    return task


def test_reassign_by_picking_a_unit_then_a_person_without_script(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Browser) -> None:
    task = handling_task(api, make_case)
    supervisor = browser("supervisor_d1")
    page = html(supervisor.get(f"/tasks/{task['id']}"))
    units = select_html(page, "unit")
    assert [label for label, _codes in optgroups(units)] == ["东湖区"]
    assert '<option value="d1-sz" selected>东湖区市政市容局（当前单位）</option>' in units
    assert "d2-sz" not in units and 'name="pick"' in page  # the no-script button
    people = select_html(page, "user")
    assert re.findall(r'<option value="([^"]*)"', people) == ["", "demo_handler"]
    assert "当前签收人" in people
    # 列出该单位人员: the page lists the people of the chosen unit, keeps the reason, changes nothing
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={
        "csrf_token": csrf(page), "pick": "1", "unit": "d1-s1-c1", "user": "", "reason": "属社区职责"})
    assert r.status_code == 200, html(r)
    picked = html(r)
    assert '<option value="d1-s1-c1" selected>' in select_html(picked, "unit")
    assert set(re.findall(r'<option value="([^"]+)"', select_html(picked, "user"))) == {"handler_d1_s1_c1", "handler_d1_s1"}
    assert "属社区职责</textarea>" in picked and '<details class="action" id="reassign" open>' in picked
    assert api("demo_supervisor").get(f"/api/v1/tasks/{task['id']}").get_json()["org_unit"]["code"] == "d1-sz"
    # a person who does not hold the role over the chosen unit: 422 on the field
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={
        "csrf_token": csrf(page), "unit": "d1-s1-c1", "user": "handler_d1_hw", "reason": "属社区职责"})
    assert r.status_code == 422 and 'id="reassign-user-error"' in html(r)
    assert 'aria-describedby="reassign-user-error reassign-people-note"' in html(r)
    assert '<option value="d1-s1-c1" selected>' in select_html(html(r), "unit")  # the chosen unit stays
    # nothing chosen but the task's own unit: nothing to do, said on the form
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={
        "csrf_token": csrf(page), "unit": "d1-sz", "user": "", "reason": "属社区职责"})
    assert r.status_code == 422 and 'id="reassign-user-error"' in html(r)
    # the person picked
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={
        "csrf_token": csrf(page), "unit": "d1-s1-c1", "user": "handler_d1_s1_c1", "reason": "属社区职责",
        "next": f"/tasks/{task['id']}"})
    assert r.status_code == 302, html(r)
    after = api("demo_supervisor").get(f"/api/v1/tasks/{task['id']}").get_json()
    assert after["org_unit"]["code"] == "d1-s1-c1" and after["claimed_by"] == "handler_d1_s1_c1"


def test_picking_a_unit_outside_the_supervision_is_refused(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Browser) -> None:
    task = handling_task(api, make_case)
    supervisor = browser("supervisor_d1")
    page = html(supervisor.get(f"/tasks/{task['id']}"))
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={
        "csrf_token": csrf(page), "pick": "1", "unit": "d2-sz", "user": "", "reason": "x"})
    assert r.status_code == 403 and 'id="reassign-unit-error"' in html(r)
    assert '<option value="d1-sz" selected>' in select_html(html(r), "unit")  # back to the task's unit
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={
        "csrf_token": csrf(page), "pick": "1", "unit": "nowhere", "user": "", "reason": "x"})
    assert r.status_code == 404 and 'id="reassign-unit-error"' in html(r)
    handler = browser("demo_handler")
    r = handler.post(f"/tasks/{task['id']}/reassign", data={
        "csrf_token": csrf(html(handler.get(f"/tasks/{task['id']}"))), "pick": "1", "unit": "d1-hw"})
    assert r.status_code == 403
    assert 'name="pick"' not in html(handler.get(f"/tasks/{task['id']}"))  # no 改派 form for the handler


def test_the_pages_json_for_the_script_is_scoped_like_the_api(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Browser, client: FlaskClient) -> None:
    task = handling_task(api, make_case)
    url = f"/tasks/{task['id']}/reassign-options"
    assert client.get(url).status_code == 401  # not logged in: JSON, not the login page
    assert browser("demo_handler").get(url).status_code == 403
    assert browser("supervisor_d2").get(url).status_code == 403
    supervisor = browser("supervisor_d1")
    r = supervisor.get(url, query_string={"unit": "d1-hw"})
    assert r.status_code == 200 and r.get_json() == api("supervisor_d1").get(
        f"/api/v1/tasks/{task['id']}/reassign-options", query_string={"unit": "d1-hw"}).get_json()
    assert supervisor.get(url, query_string={"unit": "d2-hw"}).status_code == 403
    assert supervisor.get(url, query_string={"unit": "nowhere"}).status_code == 404
    assert supervisor.get("/tasks/2147483647/reassign-options").status_code == 404
