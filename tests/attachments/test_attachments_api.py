"""Photos and files: checked by their bytes, stored outside the database, served only to those who may see the case."""
from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.attachments.models import Attachment
from app.core.db import transaction


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def upload(api: Any, case_id: int, content: bytes, name: str = "photo.png") -> Any:
    return api.client.post(f"/api/v1/cases/{case_id}/attachments", headers=api.headers,
                           data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def count(app: Flask, case_id: int) -> int:
    with app.app_context(), transaction() as s:
        return s.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case_id)) or 0


def test_a_photo_is_stored_listed_and_served(app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    operator = api("demo_operator")
    r = upload(operator, case["id"], png(), "../../etc/现场照片.png")
    assert r.status_code == 201, r.get_json()
    att = r.get_json()
    assert att["content_type"] == "image/png" and att["filename"] == "现场照片.png" and att["size"] == len(png())
    listed = operator.get(f"/api/v1/cases/{case['id']}/attachments").get_json()["items"]
    assert [a["id"] for a in listed] == [att["id"]]
    assert [a["id"] for a in api("demo_dispatcher").get(f"/api/v1/cases/{case['id']}").get_json()["attachments"]] == [att["id"]]
    got = operator.get(att["url"])
    assert got.status_code == 200 and got.data == png() and got.mimetype == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in got.headers["Content-Security-Policy"]
    assert "attachment_added" in [e["action"] for e in operator.get(f"/api/v1/cases/{case['id']}").get_json()["history"]]


def test_users_outside_the_case_cannot_see_or_add_files(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(grid_unit="d1-s1-c1")
    att = upload(api("demo_operator"), case["id"], png()).get_json()
    outsider = api("handler_d2_sz")
    assert outsider.get(att["url"]).status_code == 403
    assert outsider.get(f"/api/v1/cases/{case['id']}/attachments").status_code == 403
    assert upload(outsider, case["id"], png()).status_code == 403
    assert api("demo_operator").client.get(att["url"]).status_code == 401
    assert api("demo_operator").get("/api/v1/attachments/999999999").status_code == 404


def test_wrong_type_empty_and_too_large_files_are_refused_and_nothing_is_stored(
        app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    operator = api("demo_operator")
    for content, name in ((b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.png"),
                          (b"#!/bin/sh\nrm -rf /\n", "photo.jpg"), (b"", "empty.png")):
        r = upload(operator, case["id"], content, name)
        assert r.status_code == 422 and "file" in r.get_json()["errors"], (name, r.get_json())
    settings = app.config["SETTINGS"]
    old = settings.ATTACHMENT_MAX_BYTES
    settings.ATTACHMENT_MAX_BYTES = 2048
    try:
        big = png() + b"\x00" * 4096
        r = upload(operator, case["id"], big, "big.png")
        assert r.status_code == 422 and "file" in r.get_json()["errors"]
    finally:
        settings.ATTACHMENT_MAX_BYTES = old
    r = operator.client.post(f"/api/v1/cases/{case['id']}/attachments", headers=operator.headers, data={},
                             content_type="multipart/form-data")
    assert r.status_code == 422 and "file" in r.get_json()["errors"]
    assert count(app, case["id"]) == 0


def test_a_case_holds_a_limited_number_of_files(app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    settings = app.config["SETTINGS"]
    old = settings.ATTACHMENT_MAX_PER_CASE
    settings.ATTACHMENT_MAX_PER_CASE = 2
    try:
        for w in (2, 3):
            assert upload(api("demo_operator"), case["id"], png(w, w)).status_code == 201
        r = upload(api("demo_operator"), case["id"], png(4, 4))
        assert r.status_code == 422 and "file" in r.get_json()["errors"]
    finally:
        settings.ATTACHMENT_MAX_PER_CASE = old
    assert count(app, case["id"]) == 2


def test_gc_removes_only_old_orphans(app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    import os
    import time

    from app.attachments.operations import path_of
    case = make_case()
    kept = upload(api("demo_operator"), case["id"], png(5, 5)).get_json()
    with app.app_context(), transaction() as s:
        stored = path_of(s.get(Attachment, kept["id"]).sha256)
    store = stored.parent.parent
    old_orphan, new_orphan = store / "ab" / ("ab" + "0" * 62), store / "cd" / ("cd" + "1" * 62)
    for path in (old_orphan, new_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    hours_ago = time.time() - 7200
    os.utime(old_orphan, (hours_ago, hours_ago))
    os.utime(stored, (hours_ago, hours_ago))
    result = app.test_cli_runner().invoke(args=["attachments", "gc"])
    assert result.exit_code == 0 and "1 orphan" in result.output, result.output
    assert not old_orphan.exists() and new_orphan.exists() and stored.exists()
    new_orphan.unlink()
