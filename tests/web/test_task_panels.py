"""What a task's form asks to show beside it: the rules' proposal at triage, every reporter at the
call-back; and a confidential caller's identity kept from the departments."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.duplicates.test_merge_api import create, place_name, report, reworded
from tests.duplicates.test_reporter_notices import STEPS


def _task(api: Callable[[str], Any], case_id: int, bpmn_id: str) -> dict[str, Any]:
    case = api("demo_dispatcher").get(f"/api/v1/cases/{case_id}").get_json()
    return next(t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id)


def _walk(api: Callable[[str], Any], case_id: int, until: str) -> dict[str, Any]:
    for bpmn_id, user, data in STEPS:
        task = _task(api, case_id, bpmn_id)
        if bpmn_id == until:
            return task
        assert api(user).claim_and_complete(task["id"], data).status_code == 200
    raise AssertionError(until)


def test_the_triage_page_shows_the_rules_proposal(app: Flask, client: FlaskClient, login: Any,
                                                   api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    triage = _walk(api, case["id"], "triage")
    login(client, "demo_dispatcher")
    page = client.get(f"/tasks/{triage['id']}").get_data(as_text=True)
    assert "规则建议" in page and "处置依据" in page and "城市道路管理条例" in page
    assert "市政" in page and "4 个工作小时" in page
    # the filing task has no proposal panel, the triage task no duplicate panel
    assert "疑似重复" not in page or "duplicate-panel" not in page


def test_the_callback_page_lists_the_reporters_of_merged_cases(client: FlaskClient, login: Any,
                                                               api: Callable[[str], Any]) -> None:
    name = place_name()
    master = create(api, report(name, grid_unit="d1-s1-c1"))
    dup = create(api, reworded(name))
    assert api("demo_dispatcher").post(f"/api/v1/cases/{dup['id']}/merge", json={"into": master["id"]}).status_code == 200
    callback = _walk(api, master["id"], "callback_case")
    login(client, "demo_operator")
    page = client.get(f"/tasks/{callback['id']}").get_data(as_text=True)
    assert "合并案件的反映人" in page and dup["number"] in page and dup["reporter"]["phone"] in page


def test_a_confidential_callers_identity_is_kept_from_the_departments(client: FlaskClient, login: Any,
                                                                       api: Callable[[str], Any],
                                                                       make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(reporter={"name": "匿名先生", "phone": "13812345678"},
                     extension={"confidential": True, "call_id": "C-20261201-1"})
    assert case["reporter"] == {"name": "匿名先生", "phone": "13812345678"}  # the operator who took the call
    seen = api("demo_dispatcher").get(f"/api/v1/cases/{case['id']}").get_json()
    assert seen["reporter"] == {"name": None, "phone": None, "confidential": True}
    assert api("demo_supervisor").get(f"/api/v1/cases/{case['id']}").get_json()["reporter"]["phone"] == "13812345678"
    login(client, "demo_dispatcher")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "反映人信息保密" in page and "13812345678" not in page and "匿名先生" not in page
    verify = _task(api, case["id"], "verify_on_site")
    login(client, "demo_grid_worker")
    page = client.get(f"/tasks/{verify['id']}").get_data(as_text=True)
    assert "13812345678" not in page and "反映人信息保密" in page


def test_extension_times_read_as_local_times(client: FlaskClient, login: Any, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="police110", extension={"incident_no": "JQ20261201001", "transferred_at": "2026-12-01T01:30:00Z"})
    login(client, "demo_dispatcher")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "2026-12-01 09:30" in page and "JQ20261201001" in page


def test_categories_read_by_their_names(client: FlaskClient, login: Any, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(category_code="event:06010")
    login(client, "demo_dispatcher")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "暴露垃圾（事件 06010）" in page
