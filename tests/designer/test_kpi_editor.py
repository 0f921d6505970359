"""The designer's KPI formula editor (/designer/kpi/<file>) and its preview (POST /designer/kpis/preview):
listed on /designer, the formula checked as a deploy checks it, computed over last month for the
designer's unit from the recorded facts, beside the formula in force; bad input gets a message."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.web.designer import PREVIEW_MAX_BYTES
from tests.conftest import csrf_token
from tests.designer.test_designer_pages import designer  # noqa: F401 - the fixture
from tests.kpis.conftest import Play, t

ON_TIME = Path(__file__).resolve().parents[2] / "rules" / "kpis" / "on_time_close_rate.json"


def _preview(client: FlaskClient, text: str, file: str = "kpis/on_time_close_rate.json", token: str | None = "page") -> Any:
    if token == "page":
        token = csrf_token(client.get(f"/designer/kpi/{file}" if file != "kpis/new_rate.json" else
                                      "/designer/kpi/kpis/on_time_close_rate.json").get_data(as_text=True)
                           .replace('data-csrf="', 'name="csrf_token" value="'))
    headers = {"X-CSRFToken": token} if token else {}
    return client.post("/designer/kpis/preview", data={"formula": text, "file": file}, headers=headers)


def test_the_designer_lists_and_opens_the_kpi_formulas(designer: FlaskClient) -> None:  # noqa: F811
    html = designer.get("/designer").get_data(as_text=True)
    assert 'data-file="kpis/on_time_close_rate.json"' in html and "按期结案率" in html
    assert 'href="/designer/kpi/kpis/on_time_close_rate.json"' in html
    page = designer.get("/designer/kpi/kpis/on_time_close_rate.json")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-kind="kpi"' in body and 'data-preview-url="/designer/kpis/preview"' in body
    assert 'data-source-url="/designer/source/kpis/on_time_close_rate.json"' in body
    assert "导入 BPMN / DMN" not in body and 'id="designer-form-text"' in body  # a formula is no diagram to import
    source = designer.get("/designer/source/kpis/on_time_close_rate.json")
    assert source.status_code == 200 and json.loads(source.get_data(as_text=True))["key"] == "on_time_close_rate"
    assert designer.get("/designer/kpi/kpis/nope.json").status_code == 404
    assert designer.get("/designer/kpi/forms/triage.json").status_code == 404  # a form is no formula


def test_the_preview_computes_the_edited_formula_beside_the_one_in_force(
        designer: FlaskClient, api: Any, make_case: Callable[..., dict[str, Any]],  # noqa: F811
        at_time: Callable[[str], Any]) -> None:
    play = Play(api, make_case, at_time)
    case = play.dispatched(t("09:00", 26))  # Thursday 2026-03-26: no other KPI test plays a case that day
    play.finish(case, t("10:00", 26))
    at_time("2026-04-08T10:00:00+08:00")  # last month: March 2026
    city = {k["key"]: k for k in api("demo_leader").get("/api/v1/kpis?unit=city&from=2026-03-01&to=2026-03-31")
            .get_json()["kpis"]}["on_time_close_rate"]
    formula = json.loads(ON_TIME.read_text(encoding="utf-8"))
    formula["target"] = 0.5
    formula["denominator"] = {"plus": [{"fact": "due"}]}  # deferred cases no longer taken out
    r = _preview(designer, json.dumps(formula, ensure_ascii=False))
    assert r.status_code == 200, r.get_json()
    html = r.get_json()["html"]
    assert "2026-03-01 至 2026-03-31" in html
    in_force = re.search(r'data-preview-row="in-force".*?</tr>', html, re.S).group(0)
    assert f"{int(city['numerator'])} / {int(city['denominator'])}" in in_force and "目标 ≥ 90%" in in_force
    drafted = re.search(r'data-preview-row="draft".*?</tr>', html, re.S).group(0)
    assert "目标 ≥ 50%" in drafted and f"{int(city['numerator'])} / " in drafted
    new = dict(formula, key="new_rate")
    r = _preview(designer, json.dumps(new, ensure_ascii=False), file="kpis/new_rate.json")
    assert r.status_code == 200 and 'data-preview-row="new"' in r.get_json()["html"]


@pytest.mark.parametrize("change, field", [
    ({"numerator": {"plus": [{"fact": "closed_someday"}]}}, "numerator"),
    ({"key": "other_rate"}, "key"),
    ({"kind": "percent"}, "kind"),
])
def test_an_invalid_formula_gets_its_field_and_a_message(designer: FlaskClient, change: dict[str, Any], field: str) -> None:  # noqa: F811
    formula = {**json.loads(ON_TIME.read_text(encoding="utf-8")), **change}
    r = _preview(designer, json.dumps(formula, ensure_ascii=False))
    assert r.status_code == 422
    body = r.get_json()
    assert body["field"].startswith(field) and "on_time_close_rate.json" in body["errors"]["formula"][0]


def test_broken_json_too_big_or_no_csrf_token_is_refused(designer: FlaskClient) -> None:  # noqa: F811
    r = _preview(designer, "{not json")
    assert r.status_code == 422 and "JSON" in r.get_json()["errors"]["formula"][0]
    assert _preview(designer, "x" * (PREVIEW_MAX_BYTES + 1)).status_code == 413
    assert _preview(designer, ON_TIME.read_text(encoding="utf-8"), token=None).status_code == 400


def test_only_designers_and_admins_preview(app: Flask, login: Callable[[FlaskClient, str], Any]) -> None:
    client = app.test_client()
    login(client, "demo_leader")
    assert client.get("/designer/kpi/kpis/on_time_close_rate.json").status_code in (302, 403)
