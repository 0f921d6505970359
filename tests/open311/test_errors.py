"""Errors in GeoReport's format (XML ``errors/error/code+description``, JSON ``[{code, description}]``):
400 names the wrong parameter, 403 a missing, unknown or revoked api_key, 404 what does not exist;
a refused POST stores nothing."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.open311.helpers import V2, base_params, xml


def _json_errors(r: Any, status: int) -> list[str]:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.content_type == "application/json; charset=utf-8"
    body = r.get_json()
    assert body and all(set(e) == {"code", "description"} and e["code"] == status for e in body)
    return [e["description"] for e in body]


def _xml_errors(r: Any, status: int) -> list[str]:
    assert r.status_code == status, r.get_data(as_text=True)
    root = xml(r)
    assert root.tag == "errors" and {e.tag for e in root} == {"error"}
    assert all(e.findtext("code") == str(status) for e in root)
    return [e.findtext("description") or "" for e in root]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_api_key_missing_or_invalid_is_403(client: FlaskClient, fmt: str) -> None:
    read = _json_errors if fmt == "json" else _xml_errors
    [missing] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(api_key=None)), 403)
    assert "api_key" in missing
    [wrong] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(api_key="not-a-key")), 403)
    assert "Invalid api_key" in wrong


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_parameters_are_400_and_each_is_named(client: FlaskClient, fmt: str, in_app: Callable[..., Any]) -> None:
    read = _json_errors if fmt == "json" else _xml_errors

    def cases() -> int:
        from sqlalchemy import func, select
        from app.cases.models import Case
        from app.core.db import session
        return session.scalar(select(func.count()).select_from(Case)) or 0
    before = in_app(cases)
    errors = read(client.post(f"{V2}/requests.{fmt}", data=base_params(**{
        "lat": "north", "email": "not-an-email", "attribute[duration]": "forever", "attribute[blocks_way]": "maybe",
        "attribute[colour]": "red", "media_url": "ftp://x"})), 400)
    assert any(e.startswith("lat:") for e in errors)
    assert any(e.startswith("email:") for e in errors)
    assert any(e.startswith("media_url:") for e in errors)
    assert any(e.startswith("attribute[duration]:") for e in errors)
    assert any(e.startswith("attribute[blocks_way]:") and "true or false" in e for e in errors)
    assert any(e.startswith("attribute[colour]:") and "not an attribute" in e for e in errors)
    [no_place] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(lat=None, long=None, address_string=None)), 400)
    assert "lat and long, or address_string, or address_id" in no_place
    [half] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(long=None)), 400)
    assert half.startswith("lat and long")
    [phone] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(phone="12")), 400)
    assert phone.startswith("phone:")
    [long_text] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(description="长" * 4001)), 400)
    assert long_text.startswith("description:")
    [code] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(service_code=None)), 400)
    assert code.startswith("service_code")
    [unknown] = read(client.post(f"{V2}/requests.{fmt}", data=base_params(service_code="event-99999")), 404)
    assert "event-99999" in unknown
    assert in_app(cases) == before  # nothing was stored


def test_required_attribute_is_enforced(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cases import channels
    with client.application.app_context():
        form = {**channels.channel_form("open311"), "required": ["duration"]}
    real = channels.channel_form
    monkeypatch.setattr(channels, "channel_form", lambda channel: form if channel == "open311" else real(channel))
    [error] = _json_errors(client.post(f"{V2}/requests.json", data=base_params()), 400)
    assert error.startswith("attribute[duration]:")
    assert client.post(f"{V2}/requests.json", data=base_params(**{"attribute[duration]": "days"})).status_code == 201


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_wrong_jurisdiction_is_404_and_the_right_one_or_none_is_fine(client: FlaskClient, fmt: str) -> None:
    read = _json_errors if fmt == "json" else _xml_errors
    for url in (f"{V2}/services.{fmt}", f"{V2}/requests.{fmt}", f"{V2}/discovery.{fmt}"):
        [error] = read(client.get(url, query_string={"jurisdiction_id": "elsewhere.gov"}), 404)
        assert "jurisdiction_id" in error
        assert client.get(url, query_string={"jurisdiction_id": "tongguan.demo"}).status_code == 200
        assert client.get(url, query_string={"jurisdiction_id": ""}).status_code == 200  # empty = absent
    read(client.post(f"{V2}/requests.{fmt}", data=base_params(jurisdiction_id="elsewhere.gov")), 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_query_parameters(client: FlaskClient, fmt: str) -> None:
    read = _json_errors if fmt == "json" else _xml_errors

    def errors(**params: str) -> list[str]:
        return read(client.get(f"{V2}/requests.{fmt}", query_string=params), 400)
    assert errors(start_date="yesterday")[0].startswith("start_date:")
    assert errors(status="pending")[0].startswith("status:")
    assert errors(service_code="potholes")[0].startswith("service_code:")
    assert errors(service_request_id="12,abc")[0].startswith("service_request_id:")
    assert "90 days" in errors(start_date="2026-01-01T00:00:00Z", end_date="2026-06-01T00:00:00Z")[0]
    assert errors(start_date="2026-02-01T00:00:00Z", end_date="2026-01-01T00:00:00Z")[0].startswith("end_date:")
    assert len(errors(status="x", start_date="y")) == 2  # every wrong parameter at once


def test_unknown_resources_formats_and_methods(client: FlaskClient) -> None:
    _xml_errors(client.get(f"{V2}/requests/999999999.xml"), 404)
    _json_errors(client.get(f"{V2}/requests/abc.json"), 404)
    _xml_errors(client.get(f"{V2}/potholes"), 404)
    _xml_errors(client.get(f"{V2}/services.html"), 404)  # XML is the format when none is served
    _json_errors(client.delete(f"{V2}/requests.json"), 405)
    _xml_errors(client.get(f"{V2}/requests/1.xml", query_string={"jurisdiction_id": "x"}), 404)


def test_an_unexpected_failure_is_a_general_service_error(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.open311 import views

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("database went away")
    monkeypatch.setattr(views.operations, "file_request", boom)
    [error] = _json_errors(client.post(f"{V2}/requests.json", data=base_params()), 400)
    assert error.startswith("general service error")
