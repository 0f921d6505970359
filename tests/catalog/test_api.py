"""GET /api/v1/categories and /api/v1/topics: bearer auth, search, whole list, 422 on bad parameters."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient


def test_both_need_a_token(client: FlaskClient) -> None:
    for url in ("/api/v1/categories?q=jg", "/api/v1/topics"):
        r = client.get(url)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
        r = client.get(url, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401


def test_search_categories(api: Callable[[str], Any]) -> None:
    operator = api("demo_operator")
    r = operator.get("/api/v1/categories?q=wsjg")
    assert r.status_code == 200
    body = r.get_json()
    assert body["version"] >= 1
    assert body["items"][0] == {"key": "component:01002", "kind": "component", "code": "01002", "name": "污水井盖",
                                "major_class": "市政公用设施", "initials": "wsjg"}
    events = operator.get("/api/v1/categories", query_string={"q": "井盖", "kind": "event", "limit": 3}).get_json()
    assert len(events["items"]) == 3 and all(i["kind"] == "event" and "井盖" in i["name"] for i in events["items"])
    assert operator.get("/api/v1/categories?q=0600").get_json()["items"][0]["key"] == "event:06001"
    assert operator.get("/api/v1/categories?q=zzzzqq").get_json()["items"] == []


def test_without_a_query_the_whole_active_list(api: Callable[[str], Any]) -> None:
    handler = api("demo_handler")  # any logged-in role may read the catalogue
    whole = handler.get("/api/v1/categories").get_json()["items"]
    assert len(whole) == 403 and whole[0]["key"] == "component:01001"
    assert len(handler.get("/api/v1/categories?kind=component").get_json()["items"]) == 153
    assert len(handler.get("/api/v1/categories?limit=10").get_json()["items"]) == 10
    assert len(handler.get("/api/v1/categories?q=j").get_json()["items"]) == 20  # default limit with a query
    assert handler.get("/api/v1/categories?q=jg&_=12345").status_code == 200  # a cache buster is no error


def test_bad_parameters_are_422_with_field_errors(api: Callable[[str], Any]) -> None:
    operator = api("demo_operator")
    for query, field in ((("limit", "0"),), "limit"), ((("limit", "501"),), "limit"), ((("limit", "x"),), "limit"), \
            ((("kind", "widget"),), "kind"), ((("q", "井" * 51),), "q"):
        for url in ("/api/v1/categories",) + (("/api/v1/topics",) if field != "kind" else ()):
            r = operator.get(url, query_string=dict(query))
            assert r.status_code == 422, (url, query)
            body = r.get_json()
            assert body["error"] == "validation_failed" and field in body["errors"], body


def test_search_topics(api: Callable[[str], Any]) -> None:
    operator = api("demo_operator")
    body = operator.get("/api/v1/topics?q=ljt").get_json()  # the demo tree of `flask demo load`
    assert body["version"] >= 1
    first = body["items"][0]
    assert first["name"] == "垃圾桶满溢" and first["level"] == 3 and first["leaf"] is True
    assert first["path"] == "市容环境/环境卫生/垃圾桶满溢" and first["initials"] == "ljtmy"
    assert first["parent_code"] == first["code"].rsplit(".", 1)[0]
    # a first-level topic finds its children too, after itself
    tree = operator.get("/api/v1/topics", query_string={"q": "市容环境", "limit": 50}).get_json()["items"]
    assert tree[0]["name"] == "市容环境" and all(t["path"].startswith("市容环境") for t in tree)
    assert len(operator.get("/api/v1/topics").get_json()["items"]) >= 30


def test_openapi_documents_the_catalogue(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/categories", "/api/v1/topics"):
        op = doc["paths"][path]["get"]
        assert {"200", "401", "422"} <= set(op["responses"]) and op["security"] == [{"bearer": []}]
    assert "CategoryList" in doc["components"]["schemas"]
