"""Deploying bundles: versions, safe XML, and the checks a designer's upload must pass."""
from __future__ import annotations

import json

import pytest
from flask import Flask

from app.core.db import transaction
from app.engine.definitions import BundleError, bundle_hash, deploy, lane_role, parse_bundle, read_bundle
from tests.engine.bpmn_factory import bundle, linear

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p">&lol2;</bpmn:process></bpmn:definitions>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" name="&xxe;"/></bpmn:definitions>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion_laughs", "external_entity"])
def test_entity_attacks_are_refused(xml: str) -> None:
    with pytest.raises(BundleError) as exc:
        parse_bundle(bundle("p", xml), "p")
    assert "DOCTYPE" in str(exc.value)


def test_malformed_xml_is_a_clear_error() -> None:
    with pytest.raises(BundleError) as exc:
        parse_bundle(bundle("p", "<bpmn:definitions"), "p")
    assert "not well-formed" in str(exc.value)


def test_reserved_ids_are_refused() -> None:
    xml = linear("p").replace('id="ev_start"', 'id="Start"').replace('sourceRef="ev_start"', 'sourceRef="Start"')
    with pytest.raises(BundleError) as exc:
        parse_bundle(bundle("p", xml), "p")
    assert "reserved" in str(exc.value)


def test_user_task_rules_are_checked() -> None:
    xml = (linear("p").replace("派遣员 (dispatcher)", "随便什么人")
           .replace('value="f.json"', 'value="missing.json"', 1).replace('value="verify"', 'value="lunch"', 1))
    with pytest.raises(BundleError) as exc:
        parse_bundle(bundle("p", xml), "p")
    text = str(exc.value)
    assert "lane named after a role" in text and "missing.json" in text and "stage" in text


def test_invalid_form_schema_is_refused() -> None:
    b = bundle("p", linear("p"))
    b["forms"]["f.json"] = json.dumps({"type": "object", "properties": {"x": {"type": "strnig"}}})
    with pytest.raises(BundleError) as exc:
        parse_bundle(b, "p")
    assert "forms/f.json" in exc.value.errors


def test_lane_names_map_to_roles() -> None:
    assert lane_role("派遣员 (dispatcher)") == "dispatcher"
    assert lane_role("handler") == "handler"
    assert lane_role("网格员") == "grid_worker"
    assert lane_role("随便 (nobody)") is None


def test_deploy_creates_a_version_only_when_content_changes(app: Flask) -> None:
    with app.app_context(), transaction():
        first, created = deploy(bundle("versioned", linear("versioned")), "versioned")
        again, created_again = deploy(bundle("versioned", linear("versioned")), "versioned")
        second, created_second = deploy(bundle("versioned", linear("versioned", second_name="改过的第二步")), "versioned")
        assert created and not created_again and again.id == first.id
        assert created_second and second.version == first.version + 1


def test_the_shipped_bundle_is_valid(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    b = read_bundle(settings.PROCESS_DIR, settings.RULES_DIR, settings.FORMS_DIR)
    spec, _subs, forms, tasks = parse_bundle(b, settings.CASE_PROCESS_ID)
    assert {t.stage for t in tasks.values()} == {"collect", "verify", "assign", "handle", "feedback", "inspect", "evaluate"}
    assert len(bundle_hash(b)) == 64 and spec.name == settings.CASE_PROCESS_ID
