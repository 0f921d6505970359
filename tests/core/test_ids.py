"""Ids out of range: every route with a numeric id in its path answers 404 for 0, negative, too large
and non-ASCII numbers (API, web pages and Open311 alike), never the 500 an overflowing driver gave."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.core.ids import MAX_ID, IdConverter, number_regex, parse_id

#: from issue 10: each of these answered 500 (OverflowError, or "integer out of range" on PostgreSQL)
HUGE = "1667034435934339727360"
BAD_IDS = ("0", "00", "-1", str(MAX_ID + 1), "99999999999999999999", HUGE, "9" * 5000, "１２", "٣")


def test_parse_id_takes_only_ascii_digits_in_range() -> None:
    assert parse_id("1") == 1 and parse_id(" 42 ") == 42 and parse_id("0042") == 42
    assert parse_id(str(MAX_ID)) == MAX_ID and parse_id(7) == 7
    for bad in (*BAD_IDS, "", "1.0", "1e3", "+1", "0x10", None, True, 0, MAX_ID + 1, 2.0):
        assert parse_id(bad) is None, bad


@pytest.mark.parametrize("limit", [1, 7, 10, 19, 99, 100, 250, 1000, 2147, 30405])
def test_number_regex_matches_exactly_one_to_the_limit(limit: int) -> None:
    pattern = re.compile(number_regex(limit) + "$")
    assert [n for n in range(limit * 3 + 20) if pattern.match(str(n))] == list(range(1, limit + 1))
    assert not pattern.match(f"0{limit}") and not pattern.match(f"-{limit}")
    assert re.fullmatch(IdConverter.regex, str(MAX_ID)) and not re.fullmatch(IdConverter.regex, str(MAX_ID + 1))


def _id_rules(app: Flask) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(conv, IdConverter) for conv in rule._converters.values())]


def test_every_numeric_path_argument_is_an_id(app: Flask) -> None:
    """No route keeps Werkzeug's unbounded ``<int:...>``: each one names a row by ``<id:...>``."""
    plain_int = [rule.rule for rule in app.url_map.iter_rules()
                 if any(type(conv).__name__ == "IntegerConverter" for conv in rule._converters.values())]
    assert plain_int == []
    rules = {rule.rule for rule in _id_rules(app)}
    for path in ("/api/v1/cases/<id:case_id>", "/api/v1/cases/<id:case_id>/attachments",
                 "/api/v1/extension-requests/<id:request_id>/decision", "/api/v1/return-requests/<id:request_id>/decision",
                 "/api/v1/reporter-notices/<id:notice_id>/delivered", "/api/v1/tasks/<id:task_id>/complete",
                 "/cases/<id:case_id>", "/tasks/<id:task_id>", "/attachments/<id:attachment_id>",
                 "/supervision/requests/<id:request_id>/decide", "/tasks/<id:task_id>/urge"):
        assert path in rules, path


def _url(rule: Any, value: str) -> str:
    return re.sub(r"<[^>]+>", "x", re.sub(r"<id:\w+>", value, rule.rule))


def _logged_in(app: Flask, login: Callable[..., Any], username: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


@pytest.mark.parametrize("value", BAD_IDS)
def test_an_id_out_of_range_is_404_on_every_route(app: Flask, api: Callable[[str], Any],
                                                   login: Callable[..., Any], value: str) -> None:
    token = api("demo_admin").headers
    web = _logged_in(app, login, "demo_admin")
    rules = _id_rules(app)
    assert len(rules) >= 40  # the API's, the pages' and the admin's
    for rule in rules:
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        url = _url(rule, value)
        if url.startswith("/api/"):
            r = app.test_client().open(url, method=method, headers=token, json={})
            assert r.status_code == 404 and r.get_json()["error"] == "not_found", (method, url, r.status_code)
        else:
            r = web.open(url, method=method, data={})
            assert r.status_code == 404, (method, url, r.status_code)


def test_a_valid_id_still_reaches_its_page(app: Flask, make_case: Callable[..., dict[str, Any]],
                                           api: Callable[[str], Any], login: Callable[..., Any]) -> None:
    case = make_case()
    assert api("demo_operator").get(f"/api/v1/cases/{case['id']}").status_code == 200
    assert _logged_in(app, login, "demo_operator").get(f"/cases/{case['id']}").status_code == 200
    with app.test_request_context():
        from flask import url_for
        assert url_for("cases.show", case_id=case["id"]) == f"/cases/{case['id']}"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_request_ids_out_of_range_are_404_and_400_in_its_format(client: FlaskClient, fmt: str) -> None:
    r = client.get(f"/open311/v2/requests/{HUGE}.{fmt}")
    assert r.status_code == 404 and b"not found" in r.data
    r = client.get(f"/open311/v2/requests/TG20261129{HUGE}.{fmt}")
    assert r.status_code == 404
    r = client.get(f"/open311/v2/requests.{fmt}?service_request_id=1,{HUGE}")
    assert r.status_code == 400 and b"service_request_id" in r.data and b"general service error" not in r.data
