"""The migration page: versions with running cases, which can move and why not, moving them."""
from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.conftest import Api, csrf_token
from tests.designer.test_drafts_api import (LOOP, _deploy, _open_tasks, _version_of, renamed, restore_active,  # noqa: F401
                                            review, without_verify)


def _text(page: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_page_lists_safe_and_unsafe_cases_and_moves_the_chosen(
        app: Flask, api: Callable[[str], Api], restore_active: None, review: Callable[[bool], None],  # noqa: F811
        make_case: Callable[..., dict[str, Any]], login: Callable[..., Any]) -> None:
    review(False)
    at_verify = make_case()
    filed = make_case(grid_unit=None)
    old = _version_of(app, at_verify["id"])
    new = _deploy(api, {LOOP: without_verify(app)})
    client = app.test_client()
    login(client, "demo_designer")
    page = client.get("/designer/migrations").get_data(as_text=True)
    assert f"第 {new} 版" in _text(page) and f"第 {old} 版" in _text(page)
    page = client.get(f"/designer/migrations?from={old}").get_data(as_text=True)
    text = _text(page)
    assert f'name="case" value="{filed["id"]}"' in page  # safe: can be chosen
    assert f'name="case" value="{at_verify["id"]}"' not in page  # unsafe: listed with why
    [current] = _open_tasks(app, at_verify["id"])  # its name is the one of the version it is on
    assert f"{current.name} (verify_on_site)”在新版本中已删除" in text

    r = client.post("/designer/migrations/move", data={"csrf_token": csrf_token(page), "from": old,
                                                        "case": [filed["id"]]}, follow_redirects=True)
    assert r.status_code == 200
    assert "已迁移 1 件" in _text(r.get_data(as_text=True))
    assert _version_of(app, filed["id"]) == new and _version_of(app, at_verify["id"]) == old
    assert [t.bpmn_id for t in _open_tasks(app, filed["id"])] == ["file_case"]


def test_the_page_is_for_designers_and_admins(app: Flask, login: Callable[..., Any]) -> None:
    client = app.test_client()
    login(client, "demo_operator")
    assert client.get("/designer/migrations").status_code == 403
    admin = app.test_client()
    login(admin, "demo_admin")
    assert admin.get("/designer/migrations").status_code == 200
    page = admin.get("/designer/migrations").get_data(as_text=True)
    r = admin.post("/designer/migrations/move", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert r.status_code == 200 and "请选择要迁移的版本" in r.get_data(as_text=True)
    assert app.test_client().post("/designer/migrations/move", data={}).status_code == 400  # no CSRF token
