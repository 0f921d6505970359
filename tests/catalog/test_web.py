"""The picker's JSON endpoint, the category widget of the intake form, and the admin page."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.catalog.models import GB_DIRECTORY, TOPICS_12345
from app.catalog.operations import activate_version
from app.catalog.service import active_versions
from app.core.db import transaction
from tests.web.pages import csrf, html, token


def test_picker_needs_a_login(client: FlaskClient) -> None:
    for url in ("/catalog/categories?q=jg", "/catalog/topics?q=ljt"):
        r = client.get(url)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_picker_searches_the_categories(signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("demo_operator")
    r = client.get("/catalog/categories?q=bllj")
    assert r.status_code == 200 and r.is_json
    first = r.get_json()["items"][0]
    assert first == {"key": "event:06010", "kind": "event", "code": "06010", "name": "暴露垃圾",
                     "major_class": "市容环境类", "initials": "bllj", "exact": True}
    jg = client.get("/catalog/categories?q=jg").get_json()["items"]
    assert jg[0]["name"] == "污水井盖" and not any(i["exact"] for i in jg)  # ambiguous: the picker preselects none
    assert len(client.get("/catalog/categories?q=j").get_json()["items"]) == 20
    assert len(client.get("/catalog/categories?q=j&limit=5").get_json()["items"]) == 5
    assert all(i["kind"] == "component" for i in client.get("/catalog/categories?q=jg&kind=component").get_json()["items"])
    topics = client.get("/catalog/topics?q=ljt").get_json()["items"]
    assert topics[0]["name"] == "垃圾桶满溢" and topics[0]["path"] == "市容环境/环境卫生/垃圾桶满溢"


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=51", "limit"), ("limit=x", "limit"),
                                          ("kind=widget", "kind"), ("q=" + "井" * 51, "q")])
def test_picker_refuses_bad_parameters_as_json(signed_in: Callable[[str], FlaskClient], query: str, field: str) -> None:
    r = signed_in("demo_operator").get(f"/catalog/categories?{query}")
    assert r.status_code == 422 and r.is_json and field in r.get_json()["errors"]


def test_intake_form_renders_the_picker(signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("demo_operator")
    page = html(client.get("/cases/new"))
    field = re.search(r'<input id="f-category_code"[^>]*>', page)
    assert field, page
    assert 'name="category_code"' in field.group(0) and 'data-category-picker="/catalog/categories"' in field.group(0)
    assert "category-picker.js" in page and 'id="f-category_code-choice"' in page
    # a refused form shows the picked category by name again
    r = client.post("/cases/new", data={"csrf_token": csrf(page), "title": "x", "description": "", "address": "某地",
                                        "channel": "hotline", "category_code": "event:06010", "urgency": "normal"})
    assert r.status_code == 422
    again = html(r)
    assert 'value="event:06010"' in again and "06010 暴露垃圾 · 事件 · 市容环境类" in again


def test_admin_page_lists_versions_and_searches(signed_in: Callable[[str], FlaskClient]) -> None:
    admin = signed_in("demo_admin")
    page = html(admin.get("/admin/catalog"))
    assert "类别目录" in page and 'data-catalog="gb47678_5"' in page and 'data-catalog="topics_12345"' in page
    assert page.count('<tr data-key=') == 50  # one page of the 403 categories
    assert 'href="/admin/catalog?view=categories&amp;page=2"' in page
    found = html(admin.get("/admin/catalog?q=jg&kind=event"))
    assert 'data-key="event:01001"' in found and 'data-key="component:01001"' not in found
    topics = html(admin.get("/admin/catalog?view=topics&q=ljt"))
    assert "市容环境/环境卫生/垃圾桶满溢" in topics
    assert "没有匹配的条目" in html(admin.get("/admin/catalog?q=zzzzqq"))
    assert 'href="/admin/catalog"' in page  # the nav link


def test_admin_page_is_for_admins(client: FlaskClient, signed_in: Callable[[str], FlaskClient]) -> None:
    assert client.get("/admin/catalog").status_code == 302  # to the login page
    assert signed_in("demo_operator").get("/admin/catalog").status_code == 403
    assert 'href="/admin/catalog"' not in html(signed_in("demo_operator").get("/inbox"))


@pytest.fixture()
def keep_active_topics(app: Flask) -> Iterator[None]:
    """Put the session database's topic tree back after a test that uploads another one."""
    with app.app_context():
        before = active_versions()[TOPICS_12345].version
    yield
    with app.app_context(), transaction():
        activate_version(TOPICS_12345, before, "test")


def test_admin_uploads_a_topic_tree(app: Flask, signed_in: Callable[[str], FlaskClient], keep_active_topics: None) -> None:
    admin = signed_in("demo_admin")
    data = "一级分类,二级分类,三级分类\n城乡建设,市政设施,窨井盖松动\n城乡建设,市政设施,路灯不亮\n".encode("utf-8")
    r = admin.post("/admin/catalog/topics", data={"csrf_token": token(admin, "/admin/catalog"),
                                                  "file": (io.BytesIO(data), "city-topics.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 302
    page = html(admin.get(r.headers["Location"]))
    assert "已导入 12345 分类树" in page and "城乡建设/市政设施/窨井盖松动" in page
    with app.app_context():
        tree = active_versions()[TOPICS_12345]
        assert tree.source == "city-topics.csv" and tree.row_count == 4
    assert admin.get("/catalog/topics?q=yjg").get_json()["items"][0]["name"] == "窨井盖松动"
    # the same file again: nothing new
    r = admin.post("/admin/catalog/topics", data={"csrf_token": token(admin, "/admin/catalog"),
                                                  "file": (io.BytesIO(data), "again.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 302 and "未创建新版本" in html(admin.get(r.headers["Location"]))
    # switch back to the earlier tree from the page
    earlier = tree.version - 1
    r = admin.post(f"/admin/catalog/{TOPICS_12345}/{earlier}/activate", data={"csrf_token": token(admin, "/admin/catalog")})
    assert r.status_code == 302
    with app.app_context():
        assert active_versions()[TOPICS_12345].version == earlier
    assert admin.post(f"/admin/catalog/{TOPICS_12345}/999/activate",
                      data={"csrf_token": token(admin, "/admin/catalog")}).status_code == 404
    assert admin.post("/admin/catalog/nope/1/activate",
                      data={"csrf_token": token(admin, "/admin/catalog")}).status_code == 404


@pytest.mark.parametrize("content, message", [
    (None, "请选择要上传的 CSV 文件"),
    (b"", "文件为空"),
    ("名称,代码\n井盖,1\n".encode(), "表头应为“一级分类,二级分类,三级分类”"),
    ("一级分类,二级分类,三级分类\n城乡建设,,路灯\n".encode(), "第 2 行第 2 级分类为空"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "文件不是文本文件"),
    (b"\xff" * (2 * 1024 * 1024 + 10), "文件超过 2 MB"),
])
def test_admin_upload_refuses_bad_files_with_422(app: Flask, signed_in: Callable[[str], FlaskClient],
                                                 content: bytes | None, message: str) -> None:
    admin = signed_in("demo_admin")
    with app.app_context():
        before = active_versions()[TOPICS_12345]
    form: dict[str, object] = {"csrf_token": token(admin, "/admin/catalog")}
    if content is not None:
        form["file"] = (io.BytesIO(content), "topics.csv")
    r = admin.post("/admin/catalog/topics", data=form, content_type="multipart/form-data")
    assert r.status_code == 422
    page = html(r)
    assert message in page and 'aria-invalid="true"' in page and "文件未导入" in page
    with app.app_context():
        assert active_versions()[TOPICS_12345] == before
        assert active_versions()[GB_DIRECTORY].version >= 1
