"""GET /api/v1/processes, /processes/versions and POST /processes/validate: shapes, roles, limits."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "tests" / "data" / "foreign"
VALIDATE = "/api/v1/processes/validate"
Api = Callable[[str], Any]


def _multipart(api: Any, files: dict[str, bytes], **headers: str) -> Any:
    data = {"file": [(io.BytesIO(content), name) for name, content in files.items()]}
    return api.client.post(VALIDATE, data=data, content_type="multipart/form-data", headers={**api.headers, **headers})


@pytest.mark.parametrize("role", ["demo_operator", "demo_dispatcher", "demo_handler", "demo_supervisor", "demo_leader"])
def test_only_designers_and_admins(api: Api, role: str) -> None:
    client = api(role)
    for r in (client.get("/api/v1/processes"), client.get("/api/v1/processes/versions"),
              client.post(VALIDATE, json={"files": {"forms/x.json": "{}"}})):
        assert r.status_code == 403, r.get_json()


def test_without_a_token_401(client: Any) -> None:
    assert client.post(VALIDATE, json={"files": {"forms/x.json": "{}"}}).status_code == 401


def test_the_deployed_bundle(api: Api, app: Flask) -> None:
    for role in ("demo_designer", "demo_admin"):
        r = api(role).get("/api/v1/processes")
        assert r.status_code == 200
        body = r.get_json()
        assert body["version"] >= 1 and body["deployed_at"] and body["deployed_by"]
        names = {f["name"]: f for f in body["files"]}
        assert names["processes/seven_step_loop.bpmn"]["kind"] == "bpmn"
        assert names["rules/starting_tier.dmn"]["kind"] == "dmn" and names["forms/triage.json"]["kind"] == "form"
        import hashlib
        text = (ROOT / "processes" / "seven_step_loop.bpmn").read_bytes().decode("utf-8").removeprefix("\ufeff")
        assert names["processes/seven_step_loop.bpmn"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_versions_say_who_when_and_what_changed(api: Api, app: Flask) -> None:
    import json
    from app.core.db import transaction
    from app.engine.definitions import deploy, read_bundle
    s = app.config["SETTINGS"]
    bundle = read_bundle(s.PROCESS_DIR, s.RULES_DIR, s.FORMS_DIR)
    form = json.loads(bundle["forms"]["triage.json"])
    form["$comment"] = "a new version for the versions test (nothing a user sees)"
    bundle["forms"]["triage.json"] = json.dumps(form, ensure_ascii=False)
    with app.test_request_context(), transaction():
        row, created = deploy(bundle, s.CASE_PROCESS_ID, actor="demo_designer")
        assert created
        version = row.version
    body = api("demo_designer").get("/api/v1/processes/versions").get_json()
    assert body["process_id"] == s.CASE_PROCESS_ID
    versions = [item["version"] for item in body["items"]]
    assert versions == sorted(versions, reverse=True) and versions[0] == version
    newest = body["items"][0]
    assert newest["deployed_by"] == "demo_designer" and "forms/triage.json" in newest["changed"]
    assert body["items"][-1]["added"] and body["items"][-1]["removed"] == []
    assert api("demo_designer").get("/api/v1/processes").get_json()["version"] == version


def test_the_deployed_bundle_validates_ok(api: Api) -> None:
    text = (ROOT / "processes" / "seven_step_loop.bpmn").read_text("utf-8")
    r = api("demo_designer").post(VALIDATE, json={"files": {"processes/seven_step_loop.bpmn": text}})
    assert r.status_code == 200 and r.get_json() == {"ok": True, "problems": []}


def test_a_foreign_file_as_json_lists_its_problems(api: Api) -> None:
    text = (FOREIGN / "camunda7_invoice.bpmn").read_text("utf-8")
    r = api("demo_designer").post(VALIDATE, json={"files": {"processes/invoice.bpmn": text}})
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is False
    flow = next(p for p in body["problems"] if p["element"] == "Flow_yes")
    assert flow == {"file": "processes/invoice.bpmn", "element": "Flow_yes", "element_name": "yes", "line": 54,
                    "severity": "error", "message": flow["message_zh"], "message_zh": flow["message_zh"],
                    "message_en": flow["message_en"]}
    assert "Camunda" in flow["message_zh"] and "JUEL" in flow["message_en"]
    assert {p["severity"] for p in body["problems"]} == {"error", "warning"}


def test_the_message_follows_accept_language(api: Api) -> None:
    text = (FOREIGN / "dmn13_hit_policy_any.dmn").read_text("utf-8")
    r = api("demo_designer").post(VALIDATE, json={"files": {"rules/any.dmn": text}}, headers={"Accept-Language": "en"})
    [p] = r.get_json()["problems"]
    assert p["message"] == p["message_en"] and p["message"].startswith("hit policy ANY")


def test_multipart_with_several_files_replaces_them_in_the_bundle(api: Api) -> None:
    files = {"processes/order.bpmn": (FOREIGN / "camunda8_order.bpmn").read_bytes(),
             "rules/feel.dmn": (FOREIGN / "dmn13_feel_tier.dmn").read_bytes(),
             "rules/starting_tier.dmn": (ROOT / "rules" / "starting_tier.dmn").read_bytes()}
    r = _multipart(api("demo_admin"), files)
    assert r.status_code == 200
    body = r.get_json()
    assert {p["file"] for p in body["problems"]} == {"processes/order.bpmn", "rules/feel.dmn"}
    assert any(p["element"] == "UnaryTests_range" for p in body["problems"])


def test_a_file_that_is_not_utf8_is_a_problem_of_that_file(api: Api) -> None:
    r = _multipart(api("demo_designer"), {"processes/seven_step_loop.bpmn": "<definitions/>".encode("utf-16")})
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is False
    assert body["problems"][0]["file"] == "processes/seven_step_loop.bpmn"
    assert "UTF-16" in body["problems"][0]["message"]
    assert all(p["file"] is None for p in body["problems"][1:])  # the case process is missing, as a consequence


def test_entities_are_refused_and_never_expanded(api: Api) -> None:
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" name="&x;"/></definitions>')
    body = api("demo_designer").post(VALIDATE, json={"files": {"processes/x.bpmn": xxe}}).get_json()
    assert body["ok"] is False and "DOCTYPE" in body["problems"][0]["message_en"]
    assert "root:" not in str(body)


def test_scripts_are_compiled_never_run(api: Api, tmp_path: Path) -> None:
    from tests.engine.bpmn_factory import FORM, linear
    marker = tmp_path / "ran"
    a = api("demo_designer")
    harmless_looking = linear("sandboxed", script=f"open({str(marker)!r}, 'w').write('x')")
    body = a.post(VALIDATE, json={"files": {"processes/sandboxed.bpmn": harmless_looking, "forms/f.json": FORM}}).get_json()
    assert not marker.exists() and body["ok"] is True  # compiles; at run time the sandbox has no open()
    escape = linear("sandboxed", script="__import__('os').system('touch " + str(marker) + "')")
    body = a.post(VALIDATE, json={"files": {"processes/sandboxed.bpmn": escape, "forms/f.json": FORM}}).get_json()
    assert not marker.exists() and body["ok"] is False
    assert any(p["element"] == "s1" and "starts with" in p["message_en"] for p in body["problems"])


@pytest.mark.parametrize("body", [None, [], {}, {"files": {}}, {"files": []}, {"files": {"processes/x.bpmn": 3}},
                                  {"files": {"x.bpmn": "<a/>"}}, {"files": {"processes/../x.bpmn": "<a/>"}},
                                  {"files": {"other/x.bpmn": "<a/>"}}, {"files": {"processes/x.dmn": "<a/>"}}])
def test_a_body_that_is_not_a_bundle_is_400(api: Api, body: Any) -> None:
    r = api("demo_designer").post(VALIDATE, json=body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"] == "not_a_bundle" and r.get_json()["errors"]


def test_multipart_without_a_file_or_name_is_400(api: Api) -> None:
    a = api("demo_designer")
    r = a.client.post(VALIDATE, data={"other": "x"}, content_type="multipart/form-data", headers=a.headers)
    assert r.status_code == 400
    r = a.client.post(VALIDATE, data={"file": (io.BytesIO(b"<a/>"), "")}, content_type="multipart/form-data",
                      headers=a.headers)
    assert r.status_code == 400


def test_oversized_files_and_requests_are_413(api: Api) -> None:
    a = api("demo_designer")
    big = "<definitions>" + "x" * (2 * 1024 * 1024) + "</definitions>"
    assert a.post(VALIDATE, json={"files": {"processes/big.bpmn": big}}).status_code == 413
    assert _multipart(a, {"processes/big.bpmn": big.encode()}).status_code == 413
    files = {f"processes/f{i}.bpmn": "<a>" + "x" * (1024 * 1024) + "</a>" for i in range(9)}
    r = a.post(VALIDATE, json={"files": files})
    assert r.status_code == 413 and r.get_json()["error"] == "too_large"


def test_the_server_check_is_fast(api: Api) -> None:
    """The check of the shipped bundle through the API stays near the in-process 22 ms
    (bench/bench_validate.py measures it properly; this catches a slip of an order of magnitude)."""
    import time
    a = api("demo_designer")
    text = (ROOT / "processes" / "seven_step_loop.bpmn").read_text("utf-8")
    a.post(VALIDATE, json={"files": {"processes/seven_step_loop.bpmn": text}})
    started = time.perf_counter()
    for _ in range(5):
        assert a.post(VALIDATE, json={"files": {"processes/seven_step_loop.bpmn": text}}).status_code == 200
    assert (time.perf_counter() - started) / 5 < (1.5 if os.environ.get("CI") else 3.0)


def test_the_operations_are_in_the_openapi_document_so_the_fuzzer_covers_them(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert set(doc["paths"]["/api/v1/processes/validate"]["post"]["responses"]) >= {"200", "400", "401", "403", "413"}
    assert doc["paths"]["/api/v1/processes"]["get"]["operationId"] == "getProcesses"
    assert doc["paths"]["/api/v1/processes/versions"]["get"]["operationId"] == "listProcessVersions"
    assert "ValidationResult" in doc["components"]["schemas"] and "Problem" in doc["components"]["schemas"]
