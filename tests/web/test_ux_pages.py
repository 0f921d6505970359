"""Where people land and what they see on the way: earlier steps' data on a task page, redirects
after urging and claiming (with a safe ``next``), the favicon and the header's product name."""
from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.core.db import session
from app.orgs.models import User
from app.web.helpers import safe_next
from tests.web.pages import csrf, html

FILE = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}
TRIAGE = {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"}


def _current(api: Callable[[str], Any], case_id: int, bpmn_id: str) -> dict[str, Any]:
    case = api("demo_dispatcher").get(f"/api/v1/cases/{case_id}").get_json()
    [task] = [t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id]
    return task  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- earlier steps on a task page

def test_verify_and_file_page_shows_the_grid_workers_findings(app: Flask, api: Callable[[str], Any],
                                                              browser: Callable[[str], FlaskClient],
                                                              make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    r = api("demo_grid_worker").claim_and_complete(case["current_tasks"][0]["id"], {
        "confirmed": True, "verify_notes": "井盖确已破损，周边已设警示"})
    assert r.status_code == 200, r.get_json()
    task = _current(api, case["id"], "file_case")
    dispatcher = browser("demo_dispatcher")
    page = html(dispatcher.get(f"/tasks/{task['id']}"))
    earlier = page.split('id="earlier-steps-title"', 1)[1].split("</ol>", 1)[0]
    with app.app_context():
        worker = session.scalar(select(User.display_name).where(User.username == "demo_grid_worker"))
    assert "现场核实" in earlier and worker in earlier
    assert "核实情况" in earlier and "井盖确已破损，周边已设警示" in earlier and "情况属实" in earlier
    assert "verify_notes" not in earlier and "confirmed" not in earlier

    dispatcher.post("/lang/en", data={"csrf_token": csrf(page)})
    try:
        earlier = html(dispatcher.get(f"/tasks/{task['id']}")).split('id="earlier-steps-title"', 1)[1]
    finally:  # the language is the user's setting: the other tests expect Chinese
        dispatcher.post("/lang/zh", data={"csrf_token": csrf(page)})
    assert earlier.split("</h3>", 1)[0] == ">Earlier steps"
    assert "On-site verification" in earlier and "Verification notes" in earlier and "Problem confirmed" in earlier


def test_first_step_has_no_earlier_steps(browser: Callable[[str], FlaskClient],
                                         make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    page = html(browser("demo_grid_worker").get(f"/tasks/{case['current_tasks'][0]['id']}"))
    assert 'id="earlier-steps-title"' not in page


# ---------------------------------------------------------------------------- where actions land

def _form(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` (as the browser would send them)."""
    m = re.search(r'<form method="post" action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', page, re.S)
    assert m, f"no form for {action}"
    return {html_lib.unescape(n): html_lib.unescape(v) for n, v in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1))}


def test_claim_on_the_claimable_list_opens_the_task(browser: Callable[[str], FlaskClient],
                                                    make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = case["current_tasks"][0]["id"]
    worker = browser("demo_grid_worker")
    listing = html(worker.get("/inbox?tab=claimable&sort=-created"))
    fields = _form(listing, f"/tasks/{task_id}/claim")
    assert "next" not in fields and fields["back"] == "/inbox?tab=claimable&sort=-created"
    r = worker.post(f"/tasks/{task_id}/claim", data=fields)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{task_id}")
    page = html(worker.get(r.headers["Location"]))
    assert "已签收" in page and 'name="verify_notes"' in page and "disabled" not in page.split('name="verify_notes"', 1)[1][:80]


def test_claim_someone_took_first_stays_on_the_list(browser: Callable[[str], FlaskClient], api: Callable[[str], Any],
                                                    make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    r = api("demo_grid_worker").claim_and_complete(case["current_tasks"][0]["id"], {"confirmed": True})
    assert r.status_code == 200, r.get_json()
    task_id = _current(api, case["id"], "file_case")["id"]  # both city dispatchers may claim it
    late = browser("demo_dispatcher")
    fields = _form(html(late.get("/inbox?tab=claimable&sort=-created")), f"/tasks/{task_id}/claim")
    assert api("dispatcher_2").post(f"/api/v1/tasks/{task_id}/claim").status_code == 200  # quicker
    r = late.post(f"/tasks/{task_id}/claim", data=fields)
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox?tab=claimable&sort=-created")
    assert "任务已被" in html(late.get(r.headers["Location"]))


def test_claim_from_the_case_page_opens_the_task(browser: Callable[[str], FlaskClient],
                                                 make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = case["current_tasks"][0]["id"]
    worker = browser("demo_grid_worker")
    fields = _form(html(worker.get(f"/cases/{case['id']}")), f"/tasks/{task_id}/claim")
    r = worker.post(f"/tasks/{task_id}/claim", data=fields)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{task_id}")


def _handling_task(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> int:
    case = make_case(channel="grid")
    r = api("demo_dispatcher").claim_and_complete(case["current_tasks"][0]["id"], FILE)
    assert r.status_code == 200, r.get_json()
    r = api("demo_dispatcher").claim_and_complete(r.get_json()["current_tasks"][0]["id"], TRIAGE)
    assert r.status_code == 200, r.get_json()
    [task] = [t for t in r.get_json()["current_tasks"] if t["bpmn_id"] == "handle_case"]
    return int(task["id"])


def test_urge_from_the_console_returns_to_the_tasks_row(api: Callable[[str], Any],
                                                       browser: Callable[[str], FlaskClient],
                                                       make_case: Callable[..., dict[str, Any]]) -> None:
    task_id = _handling_task(api, make_case)
    supervisor = browser("demo_supervisor")
    for number in range(1, 200):  # the console's page that lists the task
        url = "/supervision" if number == 1 else f"/supervision?page={number}"
        console = html(supervisor.get(url))
        if f'id="task-{task_id}"' in console:
            break
        assert 'rel="next"' in console, "the task is on no page of the console"
    fields = _form(console, f"/tasks/{task_id}/urge?origin=console" + (f"&amp;page={number}" if number > 1 else ""))
    assert fields["next"] == f"{url}#task-{task_id}"
    r = supervisor.post(f"/tasks/{task_id}/urge?origin=console", data={**fields, "reason": "请今天办结"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"{url}#task-{task_id}")
    back = html(supervisor.get(r.headers["Location"].split("#")[0]))
    assert "已催办" in back and f'id="task-{task_id}"' in back


def test_decision_from_the_console_returns_to_its_section(api: Callable[[str], Any],
                                                          browser: Callable[[str], FlaskClient],
                                                          make_case: Callable[..., dict[str, Any]]) -> None:
    task_id = _handling_task(api, make_case)
    handler = browser("demo_handler")
    assert api("demo_handler").post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    r = handler.post(f"/tasks/{task_id}/extension", data={"csrf_token": csrf(html(handler.get(f"/tasks/{task_id}"))),
                                                          "amount": "1", "per": "days", "reason": "需采购配件"})
    assert r.status_code == 302, html(r)
    supervisor = browser("demo_supervisor")
    console = html(supervisor.get("/supervision"))
    [request_id] = [rid for rid, row in re.findall(r'<tr data-request="(\d+)">(.*?)</tr>', console, re.S)
                    if f'href="/tasks/{task_id}"' in row]
    fields = _form(console, f"/supervision/requests/{request_id}/decide")
    assert fields["next"] == "/supervision#extensions-title"
    r = supervisor.post(f"/supervision/requests/{request_id}/decide", data={**fields, "decision": "approve",
                                                                            "reason": "同意"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/supervision#extensions-title")


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
                                    "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)", "evil.example",
                                    "/%0d%0aSet-Cookie:x=1" + "\r\n"])
def test_claim_ignores_an_offsite_next(browser: Callable[[str], FlaskClient], make_case: Callable[..., dict[str, Any]],
                                       target: str) -> None:
    case = make_case()
    task_id = case["current_tasks"][0]["id"]
    worker = browser("demo_grid_worker")
    r = worker.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(html(worker.get("/inbox"))), "next": target,
                                                     "back": target})
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.endswith(f"/tasks/{task_id}") and "evil" not in location


def test_safe_next_keeps_same_site_paths() -> None:
    assert safe_next("/supervision?light=red#task-12") == "/supervision?light=red#task-12"
    assert safe_next("/inbox?tab=claimable&sort=-created") == "/inbox?tab=claimable&sort=-created"
    assert safe_next("/cases?q=%E4%BA%95%E7%9B%96") == "/cases?q=%E4%BA%95%E7%9B%96"
    for bad in ("", None, "//evil.example", "/\\evil", "/\t/evil.example", "https://evil.example", "/a b"):
        assert safe_next(bad) is None, bad


# ---------------------------------------------------------------------------- small things

def test_favicon_ico_is_served(client: FlaskClient) -> None:
    r = client.get("/favicon.ico")  # browsers ask for it by themselves, logged in or not
    assert r.status_code == 200 and r.mimetype == "image/vnd.microsoft.icon"
    data = r.get_data()
    assert data[:4] == b"\x00\x00\x01\x00" and int.from_bytes(data[4:6], "little") == 2  # an ICO of two sizes
    assert b"\x89PNG" in data
    page = html(client.get("/login"))
    assert 'href="/favicon.ico"' in page and "favicon.svg" in page


def test_header_product_name_follows_the_language(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    page = html(client.get("/inbox"))
    brand = page.split('class="brand"', 1)[1].split("</a>", 1)[0]
    assert "统管" in brand and "Tongguan" in brand and "· 统管 Tongguan</title>" in page
    client.post("/lang/en", data={"csrf_token": csrf(page)})
    try:
        page = html(client.get("/inbox"))
    finally:
        client.post("/lang/zh", data={"csrf_token": csrf(page)})
    brand = page.split('class="brand"', 1)[1].split("</a>", 1)[0]
    assert "统管" not in brand and "Tongguan" in brand and "City case management" in brand
    assert "· Tongguan</title>" in page
