"""The case timeline in words: every kind of audit event that can reach it (every ``record(...)``
with a case across ``app/``) reads in Chinese and in English with unit, user and field names —
no Python dict, no unit code, no username, no internal key."""
from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.core.audit import record
from app.core.db import session, transaction
from app.orgs.directory import directory
from app.orgs.models import User
from app.tasks.models import Task
from app.web.labels import LABELS
from app.web.timeline import RENDERERS
from tests.web.pages import csrf, html

ROOT = Path(__file__).resolve().parents[2]
FILE = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}

#: kinds recorded with an f-string, as they expand
_FORMATTED = {
    'f"{kind}_requested"': {"extension_requested", "return_requested"},
    "f\"{req.kind}_{'approved' if approve else 'refused'}\"": {"extension_approved", "extension_refused",
                                                               "return_approved", "return_refused"},
    'f"incident_{resolution}"': {"incident_retried", "incident_dismissed", "incident_repaired"},
}


def _record_calls() -> list[tuple[str, str]]:
    """(kind expression, argument text) of every ``record(`` call under app/."""
    calls = []
    for path in (ROOT / "app").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\brecord\(", text):
            if text[max(0, m.start() - 4):m.start()] == "def ":
                continue
            depth, i = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            args = text[m.end():i - 1]
            calls.append((args.split(",", 1)[0].strip(), args))
    return calls


def timeline_kinds() -> set[str]:
    """Every kind recorded with a case (so shown on a case's timeline)."""
    kinds: set[str] = set()
    for kind, args in _record_calls():
        if not re.search(r"\bcase(_id)?=", args):
            continue
        if kind in _FORMATTED:
            kinds |= _FORMATTED[kind]
        else:
            assert re.fullmatch(r'"\w+"', kind), f"unknown way of naming an audit kind: {kind}"
            kinds.add(kind.strip('"'))
    return kinds


def test_every_kind_recorded_with_a_case_has_a_renderer_and_a_label() -> None:
    kinds = timeline_kinds()
    assert {"proposal_overridden", "task_completed", "case_created", "reporter_informed"} <= kinds
    assert kinds - set(RENDERERS) == set()
    assert kinds - set(LABELS["action"]) == set()


# ---------------------------------------------------------------------------- every kind on a page

def _samples(case: dict[str, Any], task_ids: list[int], other: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """One event of each kind the walk below does not make, with the details its ``record`` writes."""
    task = task_ids[0]
    return [
        ("task_unclaimed", {"task_id": task, "task": "研判派遣"}),
        ("task_cancelled", {"task_id": task, "task": "研判派遣"}),
        ("incident_opened", {"incident": 7, "element": "handle_case", "error": "表达式出错：unit 未定义"}),
        ("incident_opened", {"incident": 8, "element": None, "error": "任务表与流程不一致", "found_by": "consistency check"}),
        ("incident_retried", {"incident": 7}),
        ("incident_dismissed", {"incident": 7}),
        ("incident_repaired", {"incident": 8}),
        ("case_repaired", {"incidents": [8], "joined": 1}),
        ("tasks_reprojected", {"incidents": [8]}),
        ("case_migrated", {"from_version": 1, "to_version": 2, "from_definition": 1, "to_definition": 2,
                           "tasks": task_ids, "changed": ["现场核实"]}),
        ("timers_fired", {"timers": ["临近时限", "超过时限"]}),
        ("task_reminded", {"task_id": task, "task": "研判派遣", "message": "任务即将超时，请及时办理"}),
        ("case_supervised", {"message": "任务已超时，请尽快处理", "tasks": task_ids}),
        ("task_reassigned", {"task_id": task, "task": "研判派遣", "reason": "原单位无法处置",
                             "before": {"unit": "d1-sz", "user": "demo_handler"}, "unit": "d1-hw", "user": None}),
        ("task_reassigned", {"task_id": task, "task": "研判派遣", "reason": "换人办理",
                             "before": {"unit": "d1-sz", "user": None}, "unit": None, "user": "demo_handler"}),
        ("task_urged", {"task_id": task, "task": "研判派遣", "reason": "群众多次来电", "notified": 2, "urge_count": 1}),
        ("task_escalated", {"task_id": task, "task": "研判派遣", "reason": "本级无法解决", "tier": "street",
                            "to_tier": "district"}),
        ("task_returned", {"task_id": task, "task": "研判派遣", "reason": "不属本单位职责"}),
        ("extension_requested", {"task_id": task, "request": 3, "task": "研判派遣", "reason": "需采购配件", "amount": "2d"}),
        ("return_requested", {"task_id": task, "request": 4, "task": "研判派遣", "reason": "不属本单位", "amount": None}),
        ("extension_approved", {"task_id": task, "request": 3, "reason": "同意",
                                "due_at": "2026-12-03T09:00:00+00:00"}),
        ("extension_refused", {"task_id": task, "request": 3, "reason": "理由不足", "due_at": None}),
        ("return_approved", {"task_id": task, "request": 4, "reason": "同意退单", "due_at": None}),
        ("return_refused", {"task_id": task, "request": 4, "reason": "属本单位职责", "due_at": None}),
        ("case_parked", {"reason": "等待施工许可"}),
        ("case_unparked", {"reason": "许可已批"}),
        ("attachment_added", {"attachment": 1, "filename": "井盖.jpg", "content_type": "image/jpeg", "size": 52_000,
                              "source": "upload"}),
        ("duplicates_found", {"candidates": [{"case_id": other["id"], "score": 0.82,
                                              "reasons": ["similar_text", "nearby"]}]}),
        ("case_merged", {"into": other["id"], "into_number": other["number"], "auto": False, "reason": "同一井盖"}),
        ("duplicate_merged_in", {"duplicate": other["id"], "duplicate_number": other["number"], "channel": "wechat",
                                 "reporter": "李女士", "repeat_count": 2, "auto": True}),
        ("duplicate_dismissed", {"candidate": other["id"], "reason": "不同位置"}),
        ("priority_raised", {"urgency": "urgent", "repeat_count": 3}),
        ("reporter_informed", {"master": other["id"], "outcome": "closed", "channel": "wechat"}),
        ("reporter_notice_delivered", {"notice": 5, "channel": "wechat"}),
    ]


def _timeline_items(page: str) -> dict[str, list[tuple[str, list[str]]]]:
    """The text of each timeline entry and the titles of its details, by kind."""
    section = page.split('id="timeline-title"', 1)[1]
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for kind, body in re.findall(r'<li class="tl-item tl-(\w+)">(.*?)</li>', section, re.S):
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
        titles = [html_lib.unescape(t) for t in re.findall(r"<dt>(.*?)</dt>", body)]
        titles += [html_lib.unescape(t) for t in re.findall(r"(?:^|· )([^：·]+)：", re.sub(r"<[^>]+>", "", body.split('class="tl-minor">', 1)[1]))] if 'class="tl-minor">' in body else []
        out.setdefault(kind, []).append((" ".join(text.split()), titles))
    return out


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_timeline_entry_reads_in_words(app: Flask, api: Callable[[str], Any], locale: str,
                                             browser: Callable[[str], FlaskClient],
                                             make_case: Callable[..., dict[str, Any]]) -> None:
    other = make_case()
    case = make_case()
    # a real walk: on-site check, filing, and a triage that overrides the rules' lead unit with a co-handler
    for bpmn_id, user, data in (("verify_on_site", "demo_grid_worker", {"confirmed": True, "verify_notes": "属实"}),
                                ("file_case", "demo_dispatcher", FILE),
                                ("triage", "demo_dispatcher", {"decision": "dispatch", "lead_unit": "d1-hw",
                                                               "co_units": ["d1-s1"], "handling_limit": "3d"})):
        current = api("demo_dispatcher").get(f"/api/v1/cases/{case['id']}").get_json()
        [task] = [t for t in current["current_tasks"] if t["bpmn_id"] == bpmn_id]
        r = api(user).claim_and_complete(task["id"], data)
        assert r.status_code == 200, r.get_json()
    with app.app_context(), transaction():
        task_ids = list(session.scalars(select(Task.id).where(Task.case_id == case["id"]).order_by(Task.id)))
        supervisor = session.scalar(select(User).where(User.username == "demo_supervisor"))
        for kind, detail in _samples(case, task_ids, other):
            record(kind, actor=supervisor, case_id=case["id"], **detail)

    client = browser("demo_dispatcher")
    if locale == "en":
        client.post("/lang/en", data={"csrf_token": csrf(html(client.get("/inbox")))})
    try:
        page = html(client.get(f"/cases/{case['id']}"))
    finally:  # the language is the user's setting: the other tests expect Chinese
        client.post("/lang/zh", data={"csrf_token": csrf(html(client.get("/inbox")))})
    items = _timeline_items(page)
    assert timeline_kinds() - set(items) == set(), "a kind is missing from the walk or the samples"

    with app.app_context():
        codes = set(directory().by_code)
    usernames = {"demo_supervisor", "demo_dispatcher", "demo_grid_worker", "demo_handler", "demo_operator"}
    zh_labels = LABELS["action"]
    for kind, entries in items.items():
        for text, titles in entries:
            assert not re.search(r"[{}\[\]'\"]", text), (kind, text)  # no dict or list repr
            words = set(re.findall(r"[\w-]+", text))
            assert not words & codes, (kind, text)  # unit names, not codes
            assert not words & usernames, (kind, text)  # display names, not usernames
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), (kind, text)  # no internal key or kind
            assert not words & {"None", "True", "False"}, (kind, text)
            if locale == "en":  # labels and titles in English (the values people typed stay as typed)
                assert zh_labels[kind].msgid not in text, (kind, text)
                assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in titles), (kind, titles)

    override = items["proposal_overridden"][0][0]
    if locale == "zh":
        assert "主办单位" in override and "规则建议" in override and "改选" in override
        assert "规则建议 东湖区市政市容局，改选 东湖区环境卫生局" in override
        assert "角色：网格员 · 单位：滨江社区" in " ".join(t for t, _titles in items["task_created"])
        triage = [t for t, _titles in items["task_completed"] if "协办单位" in t]
        assert triage and "湖滨街道" in triage[0] and "3 个工作日" in triage[0]
    else:
        assert "Lead unit" in override and "the rules proposed" in override
        assert "Role: Grid worker · Unit: Hubin Street Community 1" in " ".join(t for t, _titles in items["task_created"])
        assert "%）" not in " ".join(t for t, _titles in items["duplicates_found"])
        triage = [t for t, _titles in items["task_completed"] if "Co-handling units" in t]
        assert triage and "3 working days" in triage[0]
    reassigned = " ".join(t for t, _titles in items["task_reassigned"])
    with app.app_context():
        handler = session.scalar(select(User.display_name).where(User.username == "demo_handler"))
        supervisor_name = session.scalar(select(User.display_name).where(User.username == "demo_supervisor"))
    assert handler in reassigned and supervisor_name in reassigned


def test_timeline_names_cost_a_fixed_number_of_queries(app: Flask, api: Callable[[str], Any],
                                                       make_case: Callable[..., dict[str, Any]]) -> None:
    """People, tasks and other cases are looked up once per page, not once per event."""
    from sqlalchemy import event

    from app.cases.models import Case
    from app.web.timeline import timeline

    case = make_case()
    other = make_case()

    def count_for(n: int) -> int:
        with app.app_context(), transaction():
            supervisor = session.scalar(select(User).where(User.username == "demo_supervisor"))
            for i in range(n):
                record("task_reassigned", actor=supervisor, case_id=case["id"], reason=f"第{i}次",
                       before={"unit": "d1-sz", "user": "demo_handler"}, unit=None, user="demo_handler")
                record("case_merged", actor=supervisor, case_id=case["id"], into=other["id"], into_number=None,
                       auto=False, reason="同一井盖")
        statements: list[str] = []
        with app.test_request_context(), app.app_context():
            engine = session.get_bind()
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(engine, "before_cursor_execute", listener)
            try:
                timeline(session.get(Case, case["id"]), None)  # type: ignore[arg-type]
            finally:
                event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    few, many = count_for(1), count_for(10)
    print(f"timeline queries: {few} (after 2 more events), {many} (after 20 more)")
    assert few == many
