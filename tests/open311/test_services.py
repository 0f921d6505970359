"""Discovery, the service list and service definitions, in JSON and XML."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.open311.helpers import SERVICE, V2, xml, xml_items


def test_discovery_in_both_formats(client: FlaskClient) -> None:
    r = client.get(f"{V2}/discovery.json")
    assert r.status_code == 200 and r.content_type == "application/json; charset=utf-8"
    doc = r.get_json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(doc)
    endpoint = doc["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "test"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = xml(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    formats = root.find("endpoints/endpoint/formats")
    assert formats is not None and [f.text for f in formats.findall("format")] == ["text/xml", "application/json"]


def test_service_list_is_the_active_catalogue(client: FlaskClient) -> None:
    services = client.get(f"{V2}/services.json").get_json()
    assert len(services) == 403  # 153 components + 250 events of GB/T 47678.5
    by_code = {s["service_code"]: s for s in services}
    s = by_code[SERVICE]
    assert s["service_name"] == "私搭乱建" and s["type"] == "realtime" and s["metadata"] is True
    assert s["group"] and s["group"] in s["description"] and "06001" in s["description"]
    assert by_code["component-01002"]["service_name"] == "污水井盖"
    assert by_code["component-01002"]["group"] == "市政公用设施"

    root = xml(client.get(f"{V2}/services.xml"))
    assert root.tag == "services" and {e.tag for e in root} == {"service"}
    items = {i["service_code"]: i for i in xml_items(root)}
    assert items[SERVICE]["service_name"] == "私搭乱建" and items[SERVICE]["metadata"] == "true"
    assert items[SERVICE]["type"] == "realtime"


def test_service_definition_translates_the_channel_form(client: FlaskClient) -> None:
    doc = client.get(f"{V2}/services/{SERVICE}.json").get_json()
    assert doc["service_code"] == SERVICE
    attrs = {a["code"]: a for a in doc["attributes"]}
    # the standard parameters of the form (email, device_id, ...) are not attributes
    assert list(attrs) == ["duration", "blocks_way", "affected"]
    assert [a["order"] for a in doc["attributes"]] == [1, 2, 3]
    duration = attrs["duration"]
    assert duration["datatype"] == "singlevaluelist" and duration["variable"] is True and duration["required"] is False
    assert duration["description"] == "问题持续多久了？"
    assert {"key": "week", "name": "一周以上"} in duration["values"]
    assert attrs["blocks_way"]["datatype"] == "singlevaluelist"
    assert attrs["blocks_way"]["values"] == [{"key": "true", "name": "是"}, {"key": "false", "name": "否"}]
    assert attrs["affected"]["datatype"] == "multivaluelist"
    assert [v["key"] for v in attrs["affected"]["values"]] == ["pedestrians", "vehicles", "residents", "shops"]

    english = client.get(f"{V2}/services/{SERVICE}.json", headers={"Accept-Language": "en"}).get_json()
    assert english["attributes"][0]["description"] == "How long has it been there?"

    root = xml(client.get(f"{V2}/services/{SERVICE}.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == SERVICE
    first = root.find("attributes/attribute")
    assert first is not None and first.findtext("code") == "duration" and first.findtext("variable") == "true"
    assert [v.findtext("key") for v in first.findall("values/value")] == ["today", "days", "week", "month"]
    assert first.find("datatype_description") is not None  # null is an empty element


def test_datatypes_of_every_json_schema_kind() -> None:
    from app.open311.attributes import _datatype
    assert _datatype({"type": "string"}) == "string"
    assert _datatype({"type": "string", "x-widget": "textarea"}) == "text"
    assert _datatype({"type": "string", "format": "date-time"}) == "datetime"
    assert _datatype({"type": "number"}) == _datatype({"type": "integer"}) == "number"
    assert _datatype({"type": "string", "enum": ["a"]}) == "singlevaluelist"
    assert _datatype({"type": "boolean"}) == "singlevaluelist"
    assert _datatype({"type": "array", "items": {"enum": ["a"]}}) == "multivaluelist"


def test_required_attributes_come_from_the_form(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.open311 import attributes
    with client.application.app_context():
        changed = {**attributes.channel_form(), "required": ["duration"]}
    monkeypatch.setattr(attributes, "channel_form", lambda: changed)
    doc = client.get(f"{V2}/services/{SERVICE}.json").get_json()
    assert {a["code"]: a["required"] for a in doc["attributes"]} == {"duration": True, "blocks_way": False,
                                                                    "affected": False}


def test_unknown_service_is_404_in_both_formats(client: FlaskClient) -> None:
    r = client.get(f"{V2}/services/event-99999.json")
    assert r.status_code == 404 and r.get_json()[0]["code"] == 404 and "event-99999" in r.get_json()[0]["description"]
    r = client.get(f"{V2}/services/nonsense.xml")
    root = xml(r)
    assert r.status_code == 404 and root.tag == "errors" and root.findtext("error/code") == "404"
