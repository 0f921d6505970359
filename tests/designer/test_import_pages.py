"""Importing a BPMN or DMN file drawn in another tool (POST /designer/import, app.designer.importing):
each file of tests/data/foreign opens in its editor from my draft, kept byte for byte, with what it
lacks to run here listed element by element (the page hands the modeler the problems to mark);
untrusted files are refused with a message, never a 500; every import is audited."""
from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.db import session
from app.designer.models import ProcessDraft
from tests.conftest import csrf_token
from tests.designer.test_draft_pages import _client
from tests.designer.test_drafts_api import restore_active  # noqa: F401 (fixture)

FOREIGN = Path(__file__).parent.parent / "data" / "foreign"
Login = Callable[[FlaskClient, str], Any]


def _import(client: FlaskClient, filename: str, data: bytes, **form: str) -> Any:
    token = csrf_token(client.get("/designer").get_data(as_text=True))
    return client.post("/designer/import", data={"csrf_token": token, "back": "/designer", **form,
                                                  "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def _draft_files(app: Flask) -> dict[str, str]:
    with app.app_context():
        draft = session.scalar(select(ProcessDraft).where(ProcessDraft.state == "open"))
        assert draft is not None
        return json.loads(draft.files)  # type: ignore[no-any-return]


def _page_problems(page: str) -> list[dict[str, Any]]:
    found = re.search(r'data-problems="([^"]*)"', page)
    assert found, "the editor hands its script the problems"
    return json.loads(html.unescape(found.group(1)))  # type: ignore[no-any-return]


def _flashes(page: str) -> str:
    found = re.search(r'<div class="flashes".*?</div>', page, re.S)
    return found.group(0) if found else ""


@pytest.mark.parametrize("path", sorted(FOREIGN.iterdir()), ids=lambda p: p.name)
def test_each_foreign_file_opens_in_my_draft_with_its_problems(app: Flask, login: Login, path: Path,
                                                               restore_active: None) -> None:  # noqa: F811
    client = _client(app, login, "demo_designer")
    data = path.read_bytes()
    r = _import(client, path.name, data)
    section, editor = ("processes", "bpmn") if path.suffix == ".bpmn" else ("rules", "dmn")
    place = f"{section}/{path.stem}{path.suffix}"
    assert r.status_code == 302 and r.headers["Location"] == f"/designer/{editor}/{place}", r.get_data(as_text=True)[:500]
    assert _draft_files(app)[place] == data.decode("utf-8")  # kept as it came: diagram, names, flows
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "导入草稿" in _flashes(page) and place in _flashes(page)
    assert "/api/v1/processes/drafts/" in page and f"/files/{place}" in page  # opens my draft's copy
    problems = _page_problems(page)
    if path.name == "dmn12_prefixed.dmn":  # a DMN 1.2 table in plain expressions runs here as it is
        assert problems == [] and "检查通过" in _flashes(page)
        return
    assert problems, "every other foreign file lacks something to run here"
    assert all(p["file"] == place and p["message"] for p in problems)
    assert any(p["element"] for p in problems), "listed element by element"
    assert f"{len(problems)} 个问题" in _flashes(page)


def test_what_a_signavio_file_lacks_is_named_at_its_elements(app: Flask, login: Login,
                                                            restore_active: None) -> None:  # noqa: F811
    client = _client(app, login, "demo_designer")
    r = _import(client, "signavio_complaint.bpmn", (FOREIGN / "signavio_complaint.bpmn").read_bytes(), name="complaint")
    assert r.headers["Location"] == "/designer/bpmn/processes/complaint.bpmn"
    problems = _page_problems(client.get(r.headers["Location"]).get_data(as_text=True))
    by_element = {p["element"]: p["message"] for p in problems if p["element"]}
    assert "角色" in by_element["sid-7A6B5C4D-3E2F-4A1B-8C9D-0E1F2A3B4C5D"]  # the lane 客服专员 has no role
    assert "表单" in " ".join(p["message"] for p in problems if p["element"] == "sid-34746A54-9F1E-4B2C-8D3A-7E6F5A4B3C2D")
    assert "sid-B2C3D4E5-F6A7-4B8C-9D0E-1F2A3B4C5D6E" in by_element  # the complex gateway: not supported
    labels = {p["element"]: p["label"] for p in problems if p["element"]}
    assert labels["sid-34746A54-9F1E-4B2C-8D3A-7E6F5A4B3C2D"] == "登记投诉"  # the name beside the opaque id
    # a second import of the same name goes beside it, in the same draft
    again = _import(client, "signavio_complaint.bpmn", (FOREIGN / "signavio_complaint.bpmn").read_bytes(), name="complaint")
    assert again.headers["Location"] == "/designer/bpmn/processes/complaint_2.bpmn"
    assert set(_draft_files(app)) == {"processes/complaint.bpmn", "processes/complaint_2.bpmn"}
    with app.app_context():
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "process_file_imported")
                                 .order_by(AuditEvent.id.desc()).limit(2)).all()
        assert [(e.detail["file"], e.actor_name) for e in events] == [
            ("processes/complaint_2.bpmn", "demo_designer"), ("processes/complaint.bpmn", "demo_designer")]


def test_a_foreign_file_replaces_one_of_the_bundle(app: Flask, login: Login, restore_active: None) -> None:  # noqa: F811
    client = _client(app, login, "demo_designer")
    data = (FOREIGN / "dmn13_feel_tier.dmn").read_bytes()
    r = _import(client, "tier.dmn", data, target="rules/starting_tier.dmn")
    assert r.headers["Location"] == "/designer/dmn/rules/starting_tier.dmn"
    assert _draft_files(app) == {"rules/starting_tier.dmn": data.decode("utf-8")}
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已打开你的草稿" in page
    assert any("FEEL" in p["message"] for p in _page_problems(page))
    # a DMN file cannot take a process's place, nor go where the bundle has nothing
    refused = _import(client, "tier.dmn", data, target="processes/tier_handling.bpmn")
    assert refused.status_code == 302 and refused.headers["Location"] == "/designer"
    assert "不能替换 processes/tier_handling.bpmn" in _flashes(client.get("/designer").get_data(as_text=True))
    refused = _import(client, "tier.dmn", data, target="rules/nothing.dmn")
    assert "不在流程包中" in _flashes(client.get("/designer").get_data(as_text=True))
    assert _draft_files(app) == {"rules/starting_tier.dmn": data.decode("utf-8")}


XXE = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" name="&x;"/></definitions>')


@pytest.mark.parametrize(("filename", "data", "says"), [
    ("xxe.bpmn", XXE, "DOCTYPE"),
    ("utf16.bpmn", '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'.encode("utf-16"), "UTF-16"),
    ("broken.bpmn", b"<definitions><process>", "XML 格式不正确"),
    ("form.bpmn", b'{"type": "object"}', "XML 格式不正确"),
    ("other.bpmn", b'<definitions xmlns="urn:other"/>', "不是 BPMN 2.0 或 DMN 文件"),
    ("svg.bpmn", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "不是 BPMN 2.0 或 DMN 文件"),
    ("empty.bpmn", b"", "XML 格式不正确"),
    ("big.bpmn", b"<definitions>" + b"x" * (2 * 1024 * 1024) + b"</definitions>", "文件太大"),
])
def test_untrusted_files_are_refused_with_a_message(app: Flask, login: Login, filename: str, data: bytes, says: str,
                                                    restore_active: None) -> None:  # noqa: F811
    client = _client(app, login, "demo_designer")
    r = _import(client, filename, data)
    assert r.status_code == 302 and r.headers["Location"] == "/designer"
    shown = _flashes(client.get("/designer").get_data(as_text=True))
    assert says in shown, shown
    assert "root:" not in shown
    with app.app_context():
        assert session.scalar(select(ProcessDraft).where(ProcessDraft.state == "open")) is None


def test_no_file_and_other_roles(app: Flask, login: Login) -> None:
    client = _client(app, login, "demo_designer")
    token = csrf_token(client.get("/designer").get_data(as_text=True))
    r = client.post("/designer/import", data={"csrf_token": token, "back": "https://evil.example/"},
                    content_type="multipart/form-data")
    assert r.status_code == 302 and r.headers["Location"] == "/designer"  # never off the designer pages
    assert "请选择要导入的" in _flashes(client.get("/designer").get_data(as_text=True))
    dispatcher = _client(app, login, "demo_dispatcher")
    token = csrf_token(dispatcher.get("/inbox").get_data(as_text=True))
    r = dispatcher.post("/designer/import", data={"csrf_token": token, "file": (io.BytesIO(XXE), "x.bpmn")},
                        content_type="multipart/form-data")
    assert r.status_code == 403


def test_the_import_control_is_on_the_designer_and_the_editors(app: Flask, login: Login) -> None:
    client = _client(app, login, "demo_designer")
    for url, targets in (("/designer", ["processes/seven_step_loop.bpmn", "rules/starting_tier.dmn"]),
                         ("/designer/bpmn/processes/tier_handling.bpmn", ["processes/seven_step_loop.bpmn"]),
                         ("/designer/dmn/rules/starting_tier.dmn", ["rules/dispatch_proposal.dmn"])):
        page = client.get(url).get_data(as_text=True)
        form = re.search(r'<details class="designer-import".*?</details>', page, re.S)
        assert form, url
        assert 'enctype="multipart/form-data"' in form.group(0) and 'name="csrf_token"' in form.group(0)
        assert f'name="back" value="{url}"' in form.group(0)
        for target in targets:
            assert f'<option value="{target}">' in form.group(0), (url, target)
    assert "designer-import" not in client.get("/designer/form/forms/triage.json").get_data(as_text=True)
