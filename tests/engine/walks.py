"""The walk that left a case stuck (../shared/repro/stuck_cohandling_case.json), as API calls.

A hotline report of exposed garbage climbs community → street → district; the district dispatches
it to a lead unit with one co-handler; the co-handler finishes; the lead claims, asks for a
one-day extension, is urged, the supervisor approves, and the lead completes 任务处理. The case
must then wait at 执行反馈 (report_back).

``call(user, method, url, body)`` sends one request as ``user`` and returns ``(status, json)``;
``step`` names which request it is, so a caller can route each step to another app process.
Steps that lose a race with a timer sweep (409) are retried, as a user would. The steps whose
forms ask for photos (现场核实, 任务处理) upload them first: ``body`` is then an :class:`Upload`,
which ``call`` sends as the multipart field ``file``.
"""
from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.conftest import tiny_png

Call = Callable[[str, str, str, Any, str], tuple[int, Any]]


@dataclass(frozen=True)
class Upload:
    """A multipart body: one photo, sent as the field ``file``."""

    content: bytes
    filename: str = "现场.png"


def _photo(call: Call, user: str, case: dict[str, Any], step: str) -> list[int]:
    """One photo uploaded to the case by ``user``, for a step form's photo field."""
    answer = _ok(call, user, "POST", f"/api/v1/cases/{case['id']}/attachments", Upload(tiny_png()), f"{step}: photo",
                 expect=201)
    return [int(answer["id"])]
conflicts = itertools.count()  # 409 answers retried, over all walks of this process (the stress test reports them)

GARBAGE = {"channel": "hotline", "title": "滨江路12号门口垃圾堆积发臭", "description": "门口生活垃圾堆积两天无人清运，气味很大",
           "address": "示范市东湖区湖滨街道滨江路 12 号", "category_code": "event:06010", "grid_unit": "d1-s1-c1",
           "reporter": {"name": "王女士", "phone": "13900001111"}}


def _ok(call: Call, user: str, method: str, url: str, body: Any, step: str, expect: int = 200) -> Any:
    """One step; a 409 (someone else changed the case meanwhile: a timer sweep) is tried again."""
    for attempt in range(20):
        status, answer = call(user, method, url, body, step)
        if status == 409 and attempt < 19:
            next(conflicts)
            time.sleep(0.02 * (attempt + 1))
            continue
        assert status == expect, (step, status, answer)
        return answer
    raise AssertionError(f"{step}: still conflicting")


def _task(case: dict[str, Any], bpmn_id: str, unit: str | None = None) -> dict[str, Any]:
    found = [t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id and (unit is None or t["org_unit"]["code"] == unit)]
    assert len(found) == 1, (bpmn_id, unit, case["status"], case["current_tasks"])
    return found[0]


def _do(call: Call, user: str, task: dict[str, Any], data: dict[str, Any], step: str) -> dict[str, Any]:
    if task.get("claimed_by") is None:
        _ok(call, user, "POST", f"/api/v1/tasks/{task['id']}/claim", None, f"{step}: claim")
    return _ok(call, user, "POST", f"/api/v1/tasks/{task['id']}/complete", {"data": data}, step)  # type: ignore[no-any-return]


_reporters = itertools.count(random.Random().randrange(10**7))
_lock = threading.Lock()


def walk_cohandled_case_with_extension(call: Call) -> dict[str, Any]:
    """Walk the repro's path; returns the case as the API shows it after the lead's completion.
    Each walk reports from another phone number: the same reporter's exact repeat would be merged."""
    with _lock:
        n = next(_reporters) % 10**8
    body = {**GARBAGE, "reporter": {"name": "王女士", "phone": f"139{n:08d}"}}
    case = _ok(call, "demo_operator", "POST", "/api/v1/cases", body, "intake", expect=201)
    case = _do(call, "demo_grid_worker", _task(case, "verify_on_site"),
               {"confirmed": True, "verify_notes": "现场确认门口约2立方米生活垃圾堆积。",
                "site_photos": _photo(call, "demo_grid_worker", case, "verify")}, "verify")
    case = _do(call, "demo_dispatcher", _task(case, "file_case"),
               {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal", "file_notes": "属实，予以立案。"}, "file")
    case = _do(call, "dispatcher_d1_s1_c1", _task(case, "triage", "d1-s1-c1"),
               {"decision": "escalate", "escalate_reason": "社区无清运车辆，需街道统筹。"}, "triage community")
    case = _do(call, "dispatcher_d1_s1", _task(case, "triage", "d1-s1"),
               {"decision": "escalate", "escalate_reason": "涉及市政设施，需区级协调。"}, "triage street")
    case = _do(call, "dispatcher_d1", _task(case, "triage", "d1"),
               {"decision": "dispatch", "lead_unit": "d1-sz", "co_units": ["d1-s1"], "handling_limit": "1d",
                "triage_notes": "由区市政市容局牵头，湖滨街道协办。"}, "triage district")
    lead, co = _task(case, "handle_case", "d1-sz"), _task(case, "cohandle_case", "d1-s1")
    case = _do(call, "handler_d1_s1", co, {"cohandling_notes": "街道已安排保洁员协助清运。"}, "cohandle")
    _ok(call, "demo_handler", "POST", f"/api/v1/tasks/{lead['id']}/claim", None, "lead: claim")
    request = _ok(call, "demo_handler", "POST", f"/api/v1/tasks/{lead['id']}/extension-requests",
                  {"days": 1, "reason": "需协调清运车辆，申请延期1个工作日。"}, "extension", expect=201)
    _ok(call, "demo_supervisor", "POST", f"/api/v1/tasks/{lead['id']}/urge", {"reason": "群众反映强烈，请今日内处理。"}, "urge")
    _ok(call, "demo_supervisor", "POST", f"/api/v1/extension-requests/{request['id']}/decision",
        {"approve": True, "reason": "同意延期。"}, "approve")
    photos = {"before_photos": _photo(call, "demo_handler", case, "handle"),
              "after_photos": _photo(call, "demo_handler", case, "handle")}
    return _ok(call, "demo_handler", "POST", f"/api/v1/tasks/{lead['id']}/complete",  # type: ignore[no-any-return]
               {"data": {"handling_notes": "已调派清运车清理垃圾约2立方米，并对地面冲洗消杀。", **photos}}, "handle")
