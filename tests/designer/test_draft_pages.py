"""The draft pages without a browser: /designer lists open drafts, the editors load my draft's
version of a file and say who else edits it, and the draft page's server-rendered forms approve
(four eyes), deploy, discard and activate (rollback) through the same operations as the API."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.db import session
from app.engine.definitions import active_definition_id
from app.engine.models import ProcessDefinition
from tests.conftest import Api, csrf_token
from tests.designer.test_drafts_api import LOOP, renamed, restore_active, review  # noqa: F401 (fixtures)

Login = Callable[[FlaskClient, str], Any]


def _client(app: Flask, login: Login, username: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, username).status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    client.post("/lang/zh", data={"csrf_token": csrf_token(page), "next": "/inbox"})
    return client


def _active_version(app: Flask) -> int:
    with app.app_context():
        return session.get(ProcessDefinition, active_definition_id(app.config["SETTINGS"].CASE_PROCESS_ID)).version


def _post(client: FlaskClient, page_url: str, action: str, **data: str) -> Any:
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=True)


def test_designer_lists_open_drafts_and_the_editor_loads_mine(app: Flask, login: Login, api: Callable[[str], Api],
                                                              restore_active: None) -> None:  # noqa: F811
    r = api("demo_designer").post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}})
    assert r.status_code == 201
    draft = r.get_json()["id"]
    mine = _client(app, login, "demo_designer")
    html = mine.get("/designer").get_data(as_text=True)
    row = re.search(rf'<tr data-draft="{draft}">(.*?)</tr>', html, re.S)
    assert row, html
    assert f'href="/designer/drafts/{draft}"' in row.group(1) and LOOP in row.group(1) and "通过" in row.group(1)
    assert 'href="/designer/migrations"' in html  # the designer pages' nav

    editor = mine.get(f"/designer/bpmn/{LOOP}").get_data(as_text=True)
    assert f'data-draft-id="{draft}"' in editor and 'data-draft-revision="1"' in editor
    assert f'data-source-url="/api/v1/processes/drafts/{draft}/files/{LOOP}"' in editor
    assert "已打开你的草稿" in editor
    loaded = mine.get(f"/api/v1/processes/drafts/{draft}/files/{LOOP}").get_json()
    assert "现场核实（复核）" in loaded["content"]
    other = mine.get("/designer/dmn/rules/starting_tier.dmn").get_data(as_text=True)  # not changed: the deployed file
    assert 'data-source-url="/designer/source/rules/starting_tier.dmn"' in other and "你有草稿" in other

    admin = _client(app, login, "demo_admin")
    seen = admin.get(f"/designer/bpmn/{LOOP}").get_data(as_text=True)
    assert 'data-draft-id=""' in seen and f'data-source-url="/designer/source/{LOOP}"' in seen
    assert "也在编辑此文件" in seen and f"草稿 #{draft}" in seen


def test_review_deploy_and_rollback_from_the_pages(app: Flask, login: Login, api: Callable[[str], Api],
                                                   restore_active: None, review: Callable[[bool], None]) -> None:  # noqa: F811
    review(True)
    before = _active_version(app)
    draft = api("demo_designer").post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}}).get_json()["id"]
    url = f"/designer/drafts/{draft}"
    author = _client(app, login, "demo_designer")
    html = author.get(url).get_data(as_text=True)
    assert LOOP in html and f'href="/designer/bpmn/{LOOP}"' in html and "须由另一位设计员或管理员审批" in html

    r = _post(author, url, f"{url}/deploy")  # no approval yet: refused, the reason shown
    assert r.status_code == 200 and "须经另一位设计员或管理员审批" in r.get_data(as_text=True)
    r = _post(author, url, f"{url}/approve")  # not one's own
    assert "不能审批自己的草稿" in r.get_data(as_text=True)
    assert _active_version(app) == before
    assert author.post(f"{url}/deploy").status_code == 400  # CSRF on the forms

    reviewer = _client(app, login, "demo_admin")
    html = reviewer.get(url).get_data(as_text=True)
    assert "此草稿正由" in html and 'id="draft-discard"' not in html
    r = _post(reviewer, url, f"{url}/approve")
    assert "草稿已审批" in r.get_data(as_text=True)
    r = _post(author, url, f"{url}/deploy")
    html = r.get_data(as_text=True)
    deployed = _active_version(app)  # a new version (or the stored one with the same files, activated)
    assert deployed != before
    assert f"已部署为第 {deployed} 版" in html and 'id="draft-migrate"' in html
    assert re.search(r"旧版本上还有 \d+ 件运行中的案件", html) and 'href="/designer/migrations"' in html
    with app.app_context():
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "process_deployed")).all()

    index = author.get("/designer").get_data(as_text=True)
    assert f'data-activate="{before}"' in index and f'data-activate="{deployed}"' not in index
    r = _post(author, "/designer", f"/designer/versions/{before}/activate")  # unconfirmed: nothing changes
    assert "请勾选" in r.get_data(as_text=True) and _active_version(app) == deployed
    r = _post(author, "/designer", f"/designer/versions/{before}/activate", confirm="yes")
    assert f"第 {before} 版已启用" in r.get_data(as_text=True) and _active_version(app) == before


def test_the_author_discards_a_draft_from_its_page(app: Flask, login: Login, api: Callable[[str], Api],
                                                   restore_active: None) -> None:  # noqa: F811
    draft = api("demo_designer").post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}}).get_json()["id"]
    url = f"/designer/drafts/{draft}"
    reviewer = _client(app, login, "demo_admin")
    r = _post(reviewer, url, f"{url}/discard")
    assert "只有其本人可以保存" in r.get_data(as_text=True)
    author = _client(app, login, "demo_designer")
    r = _post(author, url, f"{url}/discard")
    assert r.status_code == 200 and f"草稿 #{draft} 已放弃" in r.get_data(as_text=True)
    assert f'data-draft="{draft}"' not in r.get_data(as_text=True)
    assert author.get("/designer/drafts/999999").status_code == 404
    operator = _client(app, login, "demo_operator")
    assert operator.get(url).status_code == 403
