"""Text that may be stored: control characters are refused at every edge (422 naming the field;
Open311 answers 400 in its format) and never reach the database driver — PostgreSQL refuses a NUL
(the driver raised, a 500), SQLite stored it; required text made only of invisible characters is
refused too."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from app.cases.models import Case
from app.core.db import session
from app.core.text import control_character, is_blank, text_problem
from tests.open311.helpers import base_params

NUL = "\x00"


def test_control_characters_and_line_breaks() -> None:
    assert control_character("井盖破损") is None and control_character("第一行\n第二行\t完") is None
    assert control_character("a\x00b") == NUL and control_character("\x1b[31m") == "\x1b"
    assert control_character("C1 \x85 next line") == "\x85" and control_character("del\x7f") == "\x7f"
    assert control_character("\ufffe") == "\ufffe"
    assert control_character("a\nb", multiline=False) == "\n" and control_character("a\tb", multiline=False) == "\t"
    assert "U+0000" in (text_problem("a\x00b") or "") and "one line" in (text_problem("a\rb", multiline=False) or "")


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b", "\ufeff", "\u2060\u200d \u3000", "\u3164\u3164", "\u00ad",
                                  "\u2800", "\u0301\u0301"])
def test_invisible_only_text_is_blank(text: str) -> None:
    assert is_blank(text)
    assert text_problem(text, required=True) is not None and text_problem(text) is None


@pytest.mark.parametrize("text", ["井盖", " a ", "\u200b路灯\u200b", "🚧", "12"])
def test_text_with_something_to_see_is_not_blank(text: str) -> None:
    assert not is_blank(text) and text_problem(text, multiline=False, required=True) is None


@pytest.fixture()
def driver_parameters(app: Flask) -> Iterator[list[str]]:
    """Every string parameter the database driver is handed while the test runs."""
    seen: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            seen.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        collect(parameters)

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


def _count(app: Flask) -> int:
    with app.app_context():
        try:
            return int(session.scalar(select(func.count(Case.id))) or 0)
        finally:
            session.remove()


def _case(**overrides: Any) -> dict[str, Any]:
    body = {"channel": "hotline", "title": "井盖破损", "description": "人行道上的污水井盖破损", "address": "滨江路 12 号",
            "category_code": "component:01002", "grid_unit": "d1-s1-c1", "reporter": {"name": "张先生", "phone": "13800138000"}}
    body.update(overrides)
    return body


def test_a_nul_never_reaches_the_driver(app: Flask, api: Callable[[str], Any], login: Callable[..., Any],
                                        make_case: Callable[..., dict[str, Any]], driver_parameters: list[str]) -> None:
    operator, dispatcher = api("demo_operator"), api("demo_dispatcher")
    case = make_case()
    task_id = case["current_tasks"][0]["id"]
    before = _count(app)
    answers = [
        operator.post("/api/v1/cases", json=_case(title=f"井盖{NUL}破损")),
        operator.post("/api/v1/cases", json=_case(description=f"破损{NUL}")),
        operator.post("/api/v1/cases", json=_case(address=NUL)),
        operator.post("/api/v1/cases", json=_case(reporter={"name": f"张{NUL}", "phone": "13800138000"})),
        operator.post("/api/v1/cases", json=_case(external_id=f"x{NUL}")),
        operator.post("/api/v1/cases", json=_case(grid_unit=f"d1{NUL}")),
        operator.post("/api/v1/cases", json=_case(extension={"caller_number": f"138{NUL}"})),
        operator.post("/api/v1/cases", json=_case(**{f"ti{NUL}tle": "x"})),
        app.test_client().post("/api/v1/auth/token", json={"username": f"demo_operator{NUL}", "password": "demo"}),
        operator.get(f"/api/v1/tasks?unit=d1{NUL}"),
        operator.get(f"/api/v1/categories?q=井{NUL}"),
        api("demo_grid_worker").post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"note": NUL}}),
        dispatcher.post(f"/api/v1/cases/{case['id']}/merge", json={"into": case["id"], "reason": f"重复{NUL}"}),
        operator.post("/api/v1/cases", json=_case(title="\u200b\u200b\u200b")),
        operator.post("/api/v1/cases", json=_case(), headers={"Idempotency-Key": "key\x7f"}),
    ]
    for r in answers:
        assert r.status_code == 422, (r.status_code, r.get_json())
        assert r.get_json()["errors"], r.get_json()
    assert set(answers[0].get_json()["errors"]) == {"title"}
    assert set(answers[3].get_json()["errors"]) == {"reporter.name"}
    assert set(answers[6].get_json()["errors"]) == {"extension.caller_number"}
    assert set(answers[11].get_json()["errors"]) == {"data.note"}
    assert set(answers[14].get_json()["errors"]) == {"Idempotency-Key"}

    web = app.test_client()
    assert web.post("/login", data={"username": f"demo{NUL}", "password": "demo"}).status_code in (400, 422)
    assert login(web, "demo_operator").status_code == 302
    r = web.get(f"/cases?q=井盖{NUL}")
    assert r.status_code == 422 and "<code>q</code>" in r.get_data(as_text=True)

    open311 = app.test_client()
    for params in ({"description": f"私搭乱建{NUL}"}, {"address_string": f"滨江路{NUL}"}, {"email": f"a{NUL}@b.cn"},
                   {"attribute[duration]": f"week{NUL}"}, {f"attribute[dur{NUL}]": "week"}):
        r = open311.post("/open311/v2/requests.json", data=base_params(**params))
        assert r.status_code == 400, r.get_data(as_text=True)
        assert all(e["code"] == 400 and "control characters" in e["description"] for e in r.get_json())
    for url in (f"/open311/v2/requests.json?service_code=event-06001{NUL}", f"/open311/v2/tokens/a{NUL}.json",
                f"/open311/v2/services/event{NUL}.xml", f"/open311/v2/requests.json?jurisdiction_id={NUL}"):
        r = open311.get(url)
        assert r.status_code == 400 and b"control characters" in r.data and b"general service error" not in r.data, url

    assert _count(app) == before
    assert not [p for p in driver_parameters if NUL in p]


def test_long_text_keeps_its_line_breaks_and_one_line_fields_refuse_them(api: Callable[[str], Any]) -> None:
    operator = api("demo_operator")
    r = operator.post("/api/v1/cases", json=_case(title="路灯不亮 #lines", description="第一行\n第二行\r\n\t第三行"))
    assert r.status_code == 201 and r.get_json()["description"] == "第一行\n第二行\r\n\t第三行"
    r = operator.post("/api/v1/cases", json=_case(title="路灯\n不亮"))
    assert r.status_code == 422 and "one line" in r.get_json()["errors"]["title"][0]


@pytest.mark.parametrize("title", ["\u200b\u200b", "\ufeff\ufeff\ufeff", " \u3000\u2060 ", "\u3164\u3164\u3164"])
def test_an_invisible_title_is_refused(app: Flask, api: Callable[[str], Any], title: str) -> None:
    before = _count(app)
    r = api("demo_operator").post("/api/v1/cases", json=_case(title=title))
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["title"]
    assert "invisible" in r.get_json()["errors"]["title"][0]
    assert _count(app) == before


def test_an_invisible_reason_is_refused(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    r = api("demo_supervisor").post(f"/api/v1/cases/{case['id']}/park", json={"reason": "\u200b\u200b\u200b"})
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["reason"]


def test_the_error_page_names_the_parameter(app: Flask, login: Callable[..., Any]) -> None:
    web = app.test_client()
    assert login(web, "demo_operator").status_code == 302
    page = web.get("/inbox?tab=mine%1b").get_data(as_text=True)
    assert "<code>tab</code>" in page and "U+001B" in page


def test_json_nested_past_any_form_is_refused(api: Callable[[str], Any]) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"a": deep}
    r = api("demo_operator").post("/api/v1/cases", json=_case(extension=deep))
    assert r.status_code == 422 and any("nested too deeply" in m for ms in r.get_json()["errors"].values() for m in ms)
