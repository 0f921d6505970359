"""Real clients against the live server: the PyPI ``georeport`` client (JSON and XML) for every
method it has, and every JSON answer checked with ``jsonschema`` against the spec's schemas.

georeport 0.3.1 has no POST (its README says so) and the other PyPI clients (``three``,
``open311``) are Python 2 only, so requests are filed with ``requests`` exactly as the spec's
example does: form-encoded, api_key in the body.
"""
from __future__ import annotations

from typing import Any

import pytest
import requests
from georeport import GeoReport
from jsonschema import Draft202012Validator, FormatChecker

from tests.open311 import spec_schemas as S
from tests.open311.helpers import SERVICE, base_params


def check(schema: dict[str, Any], body: Any) -> None:
    errors = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(body))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


@pytest.fixture()
def root(live_server: str) -> str:
    return f"{live_server}/open311/v2"


def _post(root: str, **params: Any) -> dict[str, Any]:
    r = requests.post(f"{root}/requests.json", data=base_params(**params), timeout=30)
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    check(S.CREATED, r.json())
    return r.json()[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_everything(root: str, fmt: str) -> None:
    created = _post(root, **{"attribute[duration]": "days", "media_url": "https://img.example.cn/9.jpg"})
    rid = created["service_request_id"]
    client = GeoReport(root, jurisdiction="tongguan.demo", output_format=fmt)

    services = client.get_service_list()
    assert len(services) == 403
    by_code = {s["service_code"]: s for s in services}
    assert by_code[SERVICE]["service_name"] == "私搭乱建"
    assert by_code[SERVICE]["metadata"] in (True, "true") and by_code[SERVICE]["type"] == "realtime"

    definition = client.get_service_definition(SERVICE)
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["duration", "blocks_way", "affected"]

    one = client.get_service_request(rid)
    assert one["service_request_id"] == rid and one["status"] == "open"
    assert one["service_code"] == SERVICE and one["media_url"] == "https://img.example.cn/9.jpg"

    listed = client.get_service_requests(service_request_id=rid)
    listed = [listed] if isinstance(listed, dict) else listed  # xmltodict: one element is not a list
    assert [r["service_request_id"] for r in listed] == [rid]
    recent = client.get_service_requests(service_code=SERVICE, status="open")
    recent = [recent] if isinstance(recent, dict) else recent
    assert rid in [r["service_request_id"] for r in recent]


def test_every_json_answer_matches_the_spec_schemas(root: str) -> None:
    created = _post(root, **{"attribute[affected][]": ["pedestrians", "vehicles"], "account_id": "acct-1"})
    assert created["account_id"] == "acct-1"
    check(S.DISCOVERY, requests.get(f"{root}/discovery.json", timeout=30).json())
    check(S.SERVICES, requests.get(f"{root}/services.json", timeout=30).json())
    check(S.SERVICE_DEFINITION, requests.get(f"{root}/services/{SERVICE}.json", timeout=30).json())
    check(S.REQUESTS, requests.get(f"{root}/requests.json", timeout=60).json())
    one = requests.get(f"{root}/requests/{created['service_request_id']}.json", timeout=30).json()
    check(S.REQUESTS, one)
    assert len(one) == 1
    check(S.TOKENS, requests.get(f"{root}/tokens/{created['token']}.json", timeout=30).json())
    for method, url, data in (("post", f"{root}/requests.json", base_params(api_key="wrong")),
                              ("get", f"{root}/requests/0.json", None),
                              ("get", f"{root}/requests.json?status=pending", None)):
        r = requests.request(method, url, data=data, timeout=30)
        assert r.status_code in (400, 403, 404)
        check(S.ERRORS, r.json())


def test_xml_answers_parse_as_the_spec_shows(root: str) -> None:
    import xmltodict
    created = _post(root)
    r = requests.get(f"{root}/requests/{created['service_request_id']}.xml", timeout=30)
    assert r.headers["Content-Type"] == "text/xml; charset=utf-8"
    doc = xmltodict.parse(r.content)
    assert doc["service_requests"]["request"]["service_request_id"] == created["service_request_id"]
    error = xmltodict.parse(requests.get(f"{root}/requests/0.xml", timeout=30).content)
    assert error["errors"]["error"]["code"] == "404"
    post = requests.post(f"{root}/requests.xml", data=base_params(), timeout=30)
    assert post.status_code == 201
    assert xmltodict.parse(post.content)["service_requests"]["request"]["token"]
