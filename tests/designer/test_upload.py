"""One reader for the designer's file bodies (app.designer.upload): the validate call and the
drafts API take the same multipart and JSON bodies and agree on what they hold; each keeps its
documented answer for a bad one (validate 400, drafts 422 with the field)."""
from __future__ import annotations

import io
from typing import Any, Callable

from flask import Flask

from tests.designer.test_drafts_api import renamed, restore_active  # noqa: F401 (fixture)

LOOP = "processes/seven_step_loop.bpmn"
VALIDATE = "/api/v1/processes/validate"
DRAFTS = "/api/v1/processes/drafts"
UTF16 = "<definitions/>".encode("utf-16")


def _multipart(a: Any, url: str, files: dict[str, bytes], method: str = "post", **form: str) -> Any:
    data: dict[str, Any] = {"file": [(io.BytesIO(content), name) for name, content in files.items()], **form}
    return getattr(a.client, method)(url, data=data, content_type="multipart/form-data", headers=a.headers)


def test_a_multipart_draft_holds_what_validate_checked(app: Flask, api: Callable[[str], Any],
                                                       restore_active: None) -> None:  # noqa: F811
    a = api("demo_designer")
    text = renamed(app, "现场核实（上传）").replace("verify_on_site.json", "missing.json")
    checked = _multipart(a, VALIDATE, {LOOP: text.encode("utf-8")}).get_json()
    saved = _multipart(a, DRAFTS, {LOOP: text.encode("utf-8")})
    assert saved.status_code == 201, saved.get_json()
    body = saved.get_json()
    assert body["ok"] is checked["ok"] is False
    assert [(p["element"], p["message"]) for p in body["problems"]] == [(p["element"], p["message"]) for p in checked["problems"]]
    assert a.get(f"{DRAFTS}/{body['id']}/files/{LOOP}").get_json()["content"] == text
    # a PUT of the same form carries the revision: an old one is refused, a bad one is a field error
    fixed = renamed(app, "现场核实（上传）").encode("utf-8")
    assert _multipart(a, f"{DRAFTS}/{body['id']}", {LOOP: fixed}, "put", revision="1").status_code == 200
    assert _multipart(a, f"{DRAFTS}/{body['id']}", {LOOP: fixed}, "put", revision="1").status_code == 409
    r = _multipart(a, f"{DRAFTS}/{body['id']}", {LOOP: fixed}, "put", revision="x")
    assert r.status_code == 422 and "revision" in r.get_json()["errors"]
    r = a.client.put(f"{DRAFTS}/{body['id']}", json={"files": {LOOP: fixed.decode()}, "revision": "2"}, headers=a.headers)
    assert r.status_code == 422 and "revision" in r.get_json()["errors"]


def test_a_file_that_is_not_utf8_is_a_problem_of_the_check_and_a_field_error_of_a_save(api: Callable[[str], Any]) -> None:
    a = api("demo_designer")
    checked = _multipart(a, VALIDATE, {"processes/extra.bpmn": UTF16})
    assert checked.status_code == 200
    problem = checked.get_json()["problems"][0]
    assert problem["file"] == "processes/extra.bpmn" and "UTF-16" in problem["message_en"]
    saved = _multipart(a, DRAFTS, {"processes/extra.bpmn": UTF16})
    assert saved.status_code == 422
    assert "UTF-16" in " ".join(saved.get_json()["errors"]["files.processes/extra.bpmn"])


def test_bad_bodies_keep_each_calls_answer(api: Callable[[str], Any]) -> None:
    a = api("demo_designer")
    for body, field in (({"files": {LOOP: 5}}, f"files.{LOOP}"), ({"files": {}}, "files"), ({"files": []}, "files")):
        checked = a.post(VALIDATE, json=body)
        saved = a.post(DRAFTS, json=body)
        assert (checked.status_code, saved.status_code) == (400, 422), body
        assert field in checked.get_json()["errors"] and field in saved.get_json()["errors"], body
    named_twice = _multipart(a, DRAFTS, {LOOP: b"<a/>"})
    assert named_twice.status_code in (201, 409, 422)  # one file: read (the check then judges it)
    r = a.client.post(DRAFTS, data={"file": [(io.BytesIO(b"<a/>"), LOOP), (io.BytesIO(b"<b/>"), LOOP)]},
                      content_type="multipart/form-data", headers=a.headers)
    assert r.status_code == 422 and f"files.{LOOP}" in r.get_json()["errors"]
    for url in (VALIDATE, DRAFTS):
        assert a.post(url, json={"nothing": 1}).status_code == 400
        assert a.client.post(url, data={"other": "x"}, content_type="multipart/form-data", headers=a.headers).status_code == 400
