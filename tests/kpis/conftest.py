"""Hand-built histories for the KPI tests: cases played through the API with the clock fixed.

Every case here is handled by d1-sz on days of March 2026 that no other test uses, so the figures
of d1-sz over those days are exactly the cases of the test. Tuesday 2026-03-10 is a working day
(09:00–12:00, 13:30–17:30 +08:00): a case signed for at 09:00 with a 4 h limit is due at 14:30.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Api = Callable[[str], Any]
HANDLE = {"handling_notes": "已更换井盖"}
REPORT = {"result": "resolved", "result_notes": "已更换井盖"}


def t(hhmm: str, day: int = 10) -> str:
    return f"2026-03-{day:02d}T{hhmm}:00+08:00"


class Play:
    def __init__(self, api: Api, make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
        self.api, self.make_case, self.at = api, make_case, at_time

    def current(self, case_id: int, bpmn_id: str) -> dict[str, Any]:
        case = self.api("demo_dispatcher").get(f"/api/v1/cases/{case_id}").get_json()
        [task] = [x for x in case["current_tasks"] if x["bpmn_id"] == bpmn_id]
        return task  # type: ignore[no-any-return]

    def do(self, case_id: int, bpmn_id: str, user: str, data: dict[str, Any]) -> dict[str, Any]:
        task = self.current(case_id, bpmn_id)
        if task["claimed_by"] is None:
            r = self.api(user).claim_and_complete(task["id"], data)
        else:
            r = self.api(user).post(f"/api/v1/tasks/{task['id']}/complete",
                                    json={"data": self.api(user).with_photos(task["id"], data)})
        assert r.status_code == 200, r.get_json()
        return r.get_json()  # type: ignore[no-any-return]

    def dispatched(self, when: str, limit: str = "4h", channel: str = "grid") -> int:
        """A case filed and dispatched to d1-sz at ``when``, its handling task claimed at once."""
        self.at(when)
        case = self.make_case(channel=channel)
        if channel != "grid":
            self.do(case["id"], "verify_on_site", "demo_grid_worker", {"confirmed": True})
        self.do(case["id"], "file_case", "demo_dispatcher", {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
        self.do(case["id"], "triage", "demo_dispatcher", {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": limit})
        task = self.current(case["id"], "handle_case")
        assert self.api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200  # 签收: the clock starts
        return int(case["id"])

    def redispatch(self, case_id: int, when: str, limit: str = "4h") -> None:
        """After a failed inspection the case goes back to triage: dispatched and signed for again."""
        self.at(when)
        self.do(case_id, "triage", "demo_dispatcher", {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": limit})
        task = self.current(case_id, "handle_case")
        assert self.api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200

    def finish(self, case_id: int, when: str, passed: bool = True) -> None:
        self.at(when)
        self.do(case_id, "handle_case", "demo_handler", HANDLE)
        self.do(case_id, "report_back", "demo_handler", REPORT)
        self.do(case_id, "inspect_case", "demo_grid_worker", {"passed": passed, **({} if passed else {"inspect_notes": "井盖未固定"})})

    def call_back(self, case_id: int, when: str, satisfied: bool = True, solved: bool = True, reached: bool = True) -> None:
        self.at(when)
        self.do(case_id, "callback_case", "demo_operator",
                {"reached": reached, "satisfied": satisfied, "solved": solved, "score": 5 if satisfied else 2})

    def kpis(self, start: int, end: int, user: str = "demo_leader", unit: str = "d1-sz") -> dict[str, dict[str, Any]]:
        r = self.api(user).get(f"/api/v1/kpis?unit={unit}&from=2026-03-{start:02d}&to=2026-03-{end:02d}")
        assert r.status_code == 200, r.get_json()
        return {k["key"]: k for k in r.get_json()["kpis"]}


@pytest.fixture()
def play(api: Api, make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> Play:
    return Play(api, make_case, at_time)
