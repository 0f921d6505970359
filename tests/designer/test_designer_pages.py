"""The process designer's pages without a browser: who may open them, the deployed bundle as
/designer lists it, the files the editors load, and the form preview (checked, size-limited, CSRF)."""
from __future__ import annotations

import hashlib
import base64
import json
import re
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tests.conftest import csrf_token

from app.web.designer import BPMN_IO_STYLE_ATTRIBUTES, PREVIEW_MAX_BYTES

FORMS = Path(__file__).resolve().parents[2] / "forms"


@pytest.fixture()
def designer(app: Flask, login: Callable[[FlaskClient, str], Any]) -> FlaskClient:
    client = app.test_client()
    assert login(client, "demo_designer").status_code == 302
    page = client.get("/inbox").get_data(as_text=True)  # the language is the user's: Chinese unless a test chose English
    client.post("/lang/zh", data={"csrf_token": csrf_token(page), "next": "/inbox"})
    return client


def test_only_designers_and_admins_open_the_designer(app: Flask, login: Callable[[FlaskClient, str], Any]) -> None:
    anonymous = app.test_client()
    assert anonymous.get("/designer").status_code == 302  # to the login page
    operator = app.test_client()
    login(operator, "demo_operator")
    for path in ("/designer", "/designer/bpmn/processes/seven_step_loop.bpmn",
                 "/designer/source/processes/seven_step_loop.bpmn"):
        assert operator.get(path).status_code == 403, path
    admin = app.test_client()
    login(admin, "demo_admin")
    assert admin.get("/designer").status_code == 200
    assert 'href="/designer"' not in operator.get("/inbox").get_data(as_text=True)
    assert 'href="/designer"' in admin.get("/inbox").get_data(as_text=True)


def test_the_designer_page_lists_the_deployed_bundle(designer: FlaskClient) -> None:
    r = designer.get("/designer")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert re.search(r'data-deployed-version="\d+"', html)
    for name in ("processes/seven_step_loop.bpmn", "processes/tier_handling.bpmn", "rules/starting_tier.dmn",
                 "rules/dispatch_proposal.dmn", "forms/triage.json", "forms/channels/grid.json"):
        assert f'data-file="{name}"' in html, name
    assert 'href="/designer/bpmn/processes/seven_step_loop.bpmn"' in html
    assert 'href="/designer/dmn/rules/starting_tier.dmn"' in html
    assert 'href="/designer/form/forms/triage.json"' in html
    assert 'href="/designer/form/forms/channels/grid.json"' in html
    assert "tier_handling" in html and "starting_tier" in html  # the ids of the processes and decisions
    assert 'id="designer-versions"' in html


def test_the_editors_load_the_deployed_file(designer: FlaskClient, app: Flask) -> None:
    r = designer.get("/designer/source/processes/tier_handling.bpmn")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    assert r.headers["Content-Disposition"].startswith("attachment")  # never rendered as a page
    assert '<spiffworkflow:property name="form" value="triage.json" />' in r.get_data(as_text=True)
    assert designer.get("/designer/source/forms/channels/grid.json").status_code == 200
    for missing in ("processes/nope.bpmn", "forms/../config.py", "secrets/x.bpmn", "forms/channels/nope.json"):
        assert designer.get(f"/designer/source/{missing}").status_code == 404, missing
    assert designer.get("/designer/bpmn/rules/starting_tier.dmn").status_code == 404  # a DMN is not a BPMN
    assert designer.get("/designer/bpmn/processes/nope.bpmn").status_code == 404


def test_the_bpmn_editor_page_hands_its_script_the_bundle(designer: FlaskClient) -> None:
    r = designer.get("/designer/bpmn/processes/tier_handling.bpmn")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    data = {k: v for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', html)}
    unescape = lambda s: s.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&").replace("&#39;", "'")  # noqa: E731
    assert "triage.json" in json.loads(unescape(data["forms"]))
    assert {"seven_step_loop", "tier_handling"} <= set(json.loads(unescape(data["processes"])))
    assert "starting_tier" in json.loads(unescape(data["decisions"]))
    assert {"value": "dispatcher", "label": "派遣员 (dispatcher)"} in json.loads(unescape(data["roles"]))
    assert json.loads(unescape(data["library-texts"]))["Create task"] == "任务"
    assert data["save-url"] == "/api/v1/processes/drafts"
    assert 'src="/static/vendor/designer-bpmn.js"' in html
    # the CSP stays strict: no inline script, no eval; only bpmn.io's fixed style attributes by hash
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    digest = base64.b64encode(hashlib.sha256(b"height: 100%").digest()).decode()
    assert f"'sha256-{digest}'" in csp and csp.count("'sha256-") == len(BPMN_IO_STYLE_ATTRIBUTES)


def test_in_english_the_modeler_keeps_bpmn_io_s_own_texts(designer: FlaskClient) -> None:
    page = designer.get("/inbox").get_data(as_text=True)
    designer.post("/lang/en", data={"csrf_token": csrf_token(page), "next": "/inbox"})
    html = designer.get("/designer/bpmn/processes/tier_handling.bpmn").get_data(as_text=True)
    assert 'data-library-texts="{}"' in html
    assert "Tongguan conventions" in html  # the page's own texts, from the catalogue
    designer.post("/lang/zh", data={"csrf_token": csrf_token(html), "next": "/inbox"})


def _preview(client: FlaskClient, schema: str, token: str | None = "page") -> Any:
    if token == "page":
        token = csrf_token(client.get("/designer/form/forms/triage.json").get_data(as_text=True).replace(
            'data-csrf="', 'name="csrf_token" value="'))
    headers = {"X-CSRFToken": token} if token else {}
    return client.post("/designer/forms/preview", data={"schema": schema}, headers=headers)


def test_the_form_preview_renders_with_the_product_s_field_macros(designer: FlaskClient) -> None:
    schema = {"type": "object", "title": "测试表单", "x-order": ["note", "kind"],
              "properties": {"note": {"type": "string", "title": "处理说明", "x-widget": "textarea", "maxLength": 500},
                             "kind": {"type": "string", "title": "类型", "enum": ["a", "b"], "x-enum-titles": ["甲", "乙"]}},
              "required": ["note"]}
    r = _preview(designer, json.dumps(schema, ensure_ascii=False))
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["fields"] == 2
    assert "处理说明" in body["html"] and 'name="note"' in body["html"] and "<textarea" in body["html"]
    assert ">甲<" in body["html"]
    assert body["html"].index('name="note"') < body["html"].index('name="kind"')  # x-order


@pytest.mark.parametrize("schema", ["{not json", "[]", '{"type": "array"}', '{"type": "object", "properties": {"a": {"type": 5}}}',
                                    '{"type": "object", "properties": {"a": {"type": "string", "pattern": "(a+)+\\\\1"}}}'])
def test_a_broken_form_gets_a_message_not_a_500(designer: FlaskClient, schema: str) -> None:
    r = _preview(designer, schema)
    assert r.status_code == 422, (schema, r.status_code)
    assert r.get_json()["errors"]["schema"][0].startswith("不是有效的表单")


def test_the_preview_is_size_limited_and_needs_the_csrf_token(designer: FlaskClient) -> None:
    big = json.dumps({"type": "object", "title": "x" * (PREVIEW_MAX_BYTES + 10)})
    assert _preview(designer, big).status_code == 413
    assert _preview(designer, '{"type": "object"}', token=None).status_code == 400


@pytest.mark.parametrize("name", sorted(str(p.relative_to(FORMS)) for p in [*FORMS.glob("*.json"), *FORMS.glob("channels/*.json")]))
def test_every_shipped_form_previews(designer: FlaskClient, name: str) -> None:
    r = _preview(designer, (FORMS / name).read_text(encoding="utf-8"))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["fields"] >= 1
