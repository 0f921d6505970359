"""Where people land and what they see on the way: earlier steps' data on a task page, redirects
after urging and claiming (with a safe ``next``), the favicon and the header's product name."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.core.db import session
from app.orgs.models import User
from tests.web.pages import csrf, html


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
