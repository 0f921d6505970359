"""POST requests files a case through create_case; GET requests, requests/{id} and tokens/{token}
show it back, with its status mapped from the case's state."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.open311.helpers import SERVICE, SERVICE_KEY, V2, xml, xml_items

REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


def _case(in_app: Callable[..., Any], case_id: int) -> Any:
    def read() -> Any:
        from app.cases.models import Case
        from app.core.db import session
        case = session.get(Case, case_id)
        session.expunge(case)
        return case
    return in_app(read)


def test_post_files_a_case_with_the_open311_channel_and_extension(post311: Callable[..., Any],
                                                                   in_app: Callable[..., Any]) -> None:
    r = post311("json", **{"attribute[duration]": "week", "attribute[blocks_way]": "true",
                           "attribute[affected][]": ["pedestrians", "shops"], "device_id": "dev-1",
                           "account_id": "acc-9", "media_url": "https://img.example.cn/1.jpg"})
    assert r.status_code == 201 and r.content_type == "application/json; charset=utf-8"
    [answer] = r.get_json()
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    assert answer["account_id"] == "acc-9" and answer["token"]
    case = _case(in_app, int(answer["service_request_id"]))
    assert case.number in answer["service_notice"]
    assert case.channel == "open311" and case.category_code == SERVICE_KEY
    assert case.title.startswith("私搭乱建：人行道上有人私自搭建棚子")
    assert case.reporter_name == "张三" and case.reporter_phone == "13900139000"
    assert case.address == "示范市东湖区湖滨街道滨江路 8 号" and (case.lat, case.lng) == (31.2301, 121.5002)
    assert case.grid_unit_id is not None  # the nearest community, as for every located case
    assert case.created_by_id is None
    extension = json.loads(case.extension)
    assert extension == {"duration": "week", "blocks_way": True, "affected": ["pedestrians", "shops"],
                         "email": "zhang.san@example.cn", "device_id": "dev-1", "account_id": "acc-9",
                         "media_url": "https://img.example.cn/1.jpg"}


def test_the_api_key_is_in_the_audit_trail(filed: Callable[..., dict[str, Any]], in_app: Callable[..., Any]) -> None:
    case_id = int(filed()["service_request_id"])

    def read() -> Any:
        from sqlalchemy import select
        from app.core.audit import AuditEvent
        from app.core.db import session
        from app.open311.models import ApiKey, Open311Request
        event = session.scalar(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                        AuditEvent.action == "case_created"))
        link = session.scalar(select(Open311Request).where(Open311Request.case_id == case_id))
        key = session.get(ApiKey, link.api_key_id)
        return event.actor_id, event.actor_name, key.prefix, key.last_used_at
    actor_id, actor_name, prefix, last_used = in_app(read)
    assert (actor_id, actor_name, prefix) == (None, "open311:demo", "demo") and last_used is not None


def test_post_in_xml_and_by_address_only(post311: Callable[..., Any], in_app: Callable[..., Any]) -> None:
    r = post311("xml", lat=None, long=None, first_name="John", last_name="Smith", phone=None)
    assert r.status_code == 201
    root = xml(r)
    assert root.tag == "service_requests"
    [item] = xml_items(root)
    assert set(item) == {"service_request_id", "token", "service_notice", "account_id"} and item["account_id"] is None
    case = _case(in_app, int(item["service_request_id"] or 0))
    assert case.lat is None and case.reporter_name == "John Smith"


def test_post_by_coordinates_only_names_the_place(filed: Callable[..., dict[str, Any]], in_app: Callable[..., Any]) -> None:
    answer = filed(address_string=None, description=None)
    case = _case(in_app, int(answer["service_request_id"]))
    assert case.address.startswith("坐标 31.230100, 121.500200（东湖区") and case.address.endswith("附近）")
    assert case.title == "私搭乱建" and case.description == "私搭乱建"


def test_idempotency_key_answers_with_the_first_case(post311: Callable[..., Any], in_app: Callable[..., Any]) -> None:
    text = f"人行道上有人私自搭建棚子 #{uuid.uuid4().hex[:10]}"
    first = post311("json", headers={"Idempotency-Key": "o311-repeat-1"}, description=text)
    again = post311("json", headers={"Idempotency-Key": "o311-repeat-1"}, description=text)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json() == again.get_json()
    # the same key with other content is refused: the first request is the one that counts
    changed = post311("json", headers={"Idempotency-Key": "o311-repeat-1"}, description="另一段描述")
    assert changed.status_code == 400 and "Idempotency-Key" in changed.get_data(as_text=True)
    case_id = int(first.get_json()[0]["service_request_id"])

    def stored_key() -> tuple[int, str]:
        from sqlalchemy import func, select
        from app.cases.models import Case
        from app.core.db import session
        key = session.scalar(select(Case.idempotency_key).where(Case.id == case_id))
        return session.scalar(select(func.count()).select_from(Case).where(Case.idempotency_key == key)), key
    count, key = in_app(stored_key)
    assert count == 1 and key.startswith("open311:") and "o311-repeat-1" not in key  # scoped to the client, hashed


def test_get_one_request_in_both_formats(client: FlaskClient, filed: Callable[..., dict[str, Any]]) -> None:
    answer = filed(media_url="https://img.example.cn/2.jpg", address_id="ADDR-77")
    rid = answer["service_request_id"]
    [req] = client.get(f"{V2}/requests/{rid}.json").get_json()
    assert list(req) == REQUEST_FIELDS
    assert req["service_request_id"] == rid and req["status"] == "open" and req["service_code"] == SERVICE
    assert req["service_name"] == "私搭乱建" and req["description"].startswith("人行道上有人私自搭建棚子")
    assert req["status_notes"] == "信息采集"  # the first step: a citizen's report waits for on-site verification
    assert req["requested_datetime"].endswith("+08:00") and req["lat"] == 31.2301 and req["long"] == 121.5002
    assert req["media_url"] == "https://img.example.cn/2.jpg" and req["address_id"] == "ADDR-77"
    assert req["service_notice"].startswith("工单编号 TG")
    root = xml(client.get(f"{V2}/requests/{rid}.xml"))
    [item] = xml_items(root)
    assert list(item) == REQUEST_FIELDS and item["service_request_id"] == rid and item["status"] == "open"
    assert item["zipcode"] is None and item["lat"] == "31.2301"
    # the work-order number people see finds the request too
    number = req["service_notice"].split()[-1]
    assert client.get(f"{V2}/requests/{number}.json").get_json()[0]["service_request_id"] == rid


def test_token_gives_the_request_id(client: FlaskClient, filed: Callable[..., dict[str, Any]]) -> None:
    answer = filed()
    body = client.get(f"{V2}/tokens/{answer['token']}.json").get_json()
    assert body == [{"service_request_id": answer["service_request_id"], "token": answer["token"]}]
    [item] = xml_items(xml(client.get(f"{V2}/tokens/{answer['token']}.xml")))
    assert item == {"service_request_id": answer["service_request_id"], "token": answer["token"]}
    assert client.get(f"{V2}/tokens/no-such-token.json").status_code == 404


def test_list_filters(client: FlaskClient, filed: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    at_time("2031-03-02T10:00:00+08:00")  # a week of its own, so other tests' cases stay out
    a = filed()["service_request_id"]
    b = filed(service_code="component-01002")["service_request_id"]
    at_time("2031-03-04T10:00:00+08:00")
    c = filed()["service_request_id"]

    def ids(**params: str) -> list[str]:
        r = client.get(f"{V2}/requests.json", query_string=params)
        assert r.status_code == 200, r.get_data(as_text=True)
        return [x["service_request_id"] for x in r.get_json()]

    week = {"start_date": "2031-03-01T00:00:00+08:00", "end_date": "2031-03-07T00:00:00Z"}
    assert ids(**week) == [c, b, a]  # newest first
    assert ids() == [c, b, a]  # default: the last 90 days (the clock is in 2031 now)
    assert ids(**week, service_code=SERVICE) == [c, a]
    assert ids(**week, service_code=f"component-01002,{SERVICE}") == [c, b, a]
    assert ids(start_date="2031-03-03T00:00:00+08:00", end_date="2031-03-05T00:00:00+08:00") == [c]
    assert ids(end_date="2031-03-03T00:00:00+08:00") == [b, a]  # 90 days before end_date
    assert ids(**week, status="open") == [c, b, a] and ids(**week, status="closed") == []
    assert ids(**week, status="open,closed") == [c, b, a]
    # service_request_id overrides every other filter
    assert ids(service_request_id=f"{a},{c}", service_code="component-01002", status="closed") == [a, c]
    assert [x["service_request_id"] for x in xml_items(xml(client.get(
        f"{V2}/requests.xml", query_string=week)))] == [c, b, a]


def test_list_is_at_most_1000(monkeypatch: pytest.MonkeyPatch, client: FlaskClient,
                              filed: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    from app.open311 import queries
    at_time("2032-05-02T10:00:00+08:00")
    ids = [filed()["service_request_id"] for _ in range(3)]
    monkeypatch.setattr(queries, "MAX_RESULTS", 2)
    assert [x["service_request_id"] for x in client.get(f"{V2}/requests.json").get_json()] == ids[::-1][:2]


def test_rejected_case_is_closed_with_its_reason(client: FlaskClient, api: Callable[[str], Any],
                                                  make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid")  # grid patrol reports are public
    task = case["current_tasks"][0]
    assert task["bpmn_id"] == "file_case"
    r = api("demo_dispatcher").claim_and_complete(task["id"], {"decision": "reject", "reject_reason": "属于物业管理范围"})
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    [req] = client.get(f"{V2}/requests/{case['id']}.json").get_json()
    assert req["status"] == "closed" and req["status_notes"] == "不予立案：属于物业管理范围"
    assert req["service_code"] == "component-01002" and req["service_name"] == "污水井盖"
    english = client.get(f"{V2}/requests/{case['id']}.json", headers={"Accept-Language": "en"}).get_json()[0]
    assert english["status_notes"] == "Not accepted: 属于物业管理范围"


def test_open_case_notes_show_step_and_tier(client: FlaskClient, api: Callable[[str], Any],
                                            make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid")
    task = case["current_tasks"][0]
    r = api("demo_dispatcher").claim_and_complete(task["id"], {"decision": "file", "grid_unit": "d1-s1-c1",
                                                                "urgency": "normal"})
    assert r.status_code == 200
    detail = r.get_json()
    [req] = client.get(f"{V2}/requests/{case['id']}.json").get_json()
    assert req["status"] == "open"
    assert req["status_notes"] == "事件分配（区级）" and (detail["stage"], detail["tier"]) == ("assign", "district")


def test_closed_and_merged_cases(client: FlaskClient, filed: Callable[..., dict[str, Any]],
                                 in_app: Callable[..., Any], api: Callable[[str], Any]) -> None:
    from app.cases.models import Case
    master_id = int(filed()["service_request_id"])
    repeat_id = int(filed()["service_request_id"])
    # the dispatcher merges the repeat with the real operation; the master is then closed by hand
    # (walking it through the whole loop is tests/duplicates/test_reporter_notices.py's business)
    merged = api("demo_dispatcher").post(f"/api/v1/cases/{repeat_id}/merge", json={"into": master_id})
    assert merged.status_code == 200, merged.get_json()

    def close_master() -> str:
        from app.core import clock
        from app.core.db import session
        master = session.get(Case, master_id)
        master.status, master.closed_at = "closed", clock.now()
        return master.number
    number = in_app(close_master)
    [m] = client.get(f"{V2}/requests/{master_id}.json").get_json()
    assert m["status"] == "closed" and m["status_notes"] == "已办结"
    [r] = client.get(f"{V2}/requests/{repeat_id}.json").get_json()
    assert r["status"] == "closed" and r["status_notes"] == f"已并入工单 {number}（同一问题）。已办结"
    listed = client.get(f"{V2}/requests.json", query_string={"service_request_id": f"{repeat_id}", "status": "open"})
    assert [x["status"] for x in listed.get_json()] == ["closed"]  # ids override the status filter
