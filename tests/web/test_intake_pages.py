"""Unified intake in the browser: the operator's form with its channel extension and files, the grid
worker's report from a phone, attachments on the case page and who may download them.

The headless-Chromium tests at the end drive the hotline form with the keyboard only and the
grid worker's report at a phone's viewport.
"""
from __future__ import annotations

import random
import re
import struct
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.attachments.models import Attachment
from app.cases.models import Case
from app.core.db import session
from tests.web.pages import csrf, html, token
from tests.conftest import log_in


def tiny_png(rgb: tuple[int, int, int] = (200, 40, 40), size: int = 2) -> bytes:
    """A real (decodable) PNG of ``size``×``size`` pixels of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


#: a 1×1 baseline JPEG (JFIF header, one grey pixel)
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d"
    "1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f000001050101"
    "0101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411051221314106"
    "13516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455"
    "565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9ba"
    "c2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9")


def marker() -> str:
    return uuid.uuid4().hex[:8]


def count_cases(app: Flask, title: str) -> int:
    with app.app_context():
        return int(session.scalar(select(func.count(Case.id)).where(Case.title == title)) or 0)


def case_by_title(app: Flask, title: str) -> Case:
    with app.app_context():
        case = session.scalar(select(Case).where(Case.title == title))
        assert case is not None, title
        session.expunge(case)
        return case


def attachments_of(app: Flask, case_id: int) -> list[Attachment]:
    with app.app_context():
        rows = list(session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)))
        for row in rows:
            session.expunge(row)
        return rows


def intake_form(page: str, title: str, **extra: Any) -> dict[str, Any]:
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', page)
    assert idem
    form = {"csrf_token": csrf(page), "idem": idem.group(1), "channel": "hotline", "title": title,
            "description": "小区门口路灯连续三晚不亮，夜里行人看不清路", "address": "滨江路 8 号",
            "grid_unit": "d1-s1-c1", "urgency": "normal", "reporter_name": "李女士", "reporter_phone": "13900001111",
            "lat": "", "lng": ""}
    form.update(extra)
    return form


# ---------------------------------------------------------------------------- the operator's form

def test_intake_page_offers_the_channels_and_the_hotline_extension(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    page = html(client.get("/cases/new"))
    assert re.search(r'id="f-title"[^>]*autofocus', page)
    assert 'enctype="multipart/form-data"' in page and "data-ctrl-enter" in page and "intake.js" in page
    assert re.search(r'name="channel" value="hotline" accesskey="1" checked', page)
    for code in ("police110", "mailbox", "wechat", "weibo", "city_mgmt", "grid"):
        assert f'name="channel" value="{code}"' in page, code
    assert 'value="open311"' not in page  # Open311 apps file their own cases
    for name in ("ext.call_id", "ext.caller_number", "ext.reply_method", "ext.confidential"):
        assert f'name="{name}"' in page, name
    assert '<option value="phone" selected>' in page  # the extension's default
    assert 'type="file" multiple' in page and 'name="files"' in page
    assert 'name="action" value="switch"' in page  # switching channel without JavaScript

    mailbox = html(client.get("/cases/new?channel=mailbox"))
    assert 'name="ext.email"' in mailbox and 'name="ext.call_id"' not in mailbox
    assert re.search(r'name="channel" value="mailbox" accesskey="\d" checked', mailbox)

    fragment = client.get("/cases/new/extension?channel=police110")
    assert fragment.status_code == 200
    assert 'name="ext.incident_no"' in html(fragment) and "<html" not in html(fragment)
    assert client.get("/cases/new/extension?channel=fax").status_code == 404
    assert client.get("/cases/new/extension?channel=open311").status_code == 404

    # a telephony screen-pop opens the form with the call's data; the caller's number is the phone
    pop = html(client.get("/cases/new?channel=hotline&ext.call_id=CALL-77&ext.caller_number=13912345678"))
    assert 'value="CALL-77"' in pop
    assert re.search(r'id="f-reporter_phone"[^>]*value="13912345678"', pop)


def test_switching_channel_without_javascript_keeps_what_was_typed(app: Flask,
                                                                  browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    title = f"占道经营 {marker()}"
    form = intake_form(html(client.get("/cases/new")), title, channel="wechat", action="switch")
    form["ext.call_id"] = "CALL-1"
    r = client.post("/cases/new", data=form)
    assert r.status_code == 200
    page = html(r)
    assert f'value="{title}"' in page and 'name="ext.openid"' in page and 'name="ext.call_id"' not in page
    assert re.search(r'name="channel" value="wechat" accesskey="\d" checked', page)
    assert '<option value="text" selected>' in page  # the new channel's defaults for what was not posted
    assert count_cases(app, title) == 0


def test_intake_stores_the_extension_and_a_photo(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    title = f"路灯不亮 {marker()}"
    photo = tiny_png()
    form = intake_form(html(client.get("/cases/new")), title, **{
        "ext.call_id": "C-20261129-001", "ext.caller_number": "13900001111", "ext.reply_method": "sms",
        "ext.confidential": "true",
        "files": [(_stream(photo), "路灯.png"), (_stream(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"), "函.pdf")]})
    r = client.post("/cases/new", data=form, content_type="multipart/form-data")
    assert r.status_code == 302, html(r)
    case = case_by_title(app, title)
    assert r.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.channel == "hotline"
    assert case.extension_data == {"call_id": "C-20261129-001", "caller_number": "13900001111",
                                   "reply_method": "sms", "confidential": True}
    files = attachments_of(app, case.id)
    assert [(a.filename, a.content_type, a.source) for a in files] == [
        ("路灯.png", "image/png", "intake"), ("函.pdf", "application/pdf", "intake")]

    page = html(client.get(r.headers["Location"]))
    assert "工单已登记" in page and "已上传 2 个附件" in page
    for text in ("12345 热线扩展信息", "通话流水号", "C-20261129-001", "短信回复", "反映人信息保密"):
        assert text in page, text
    image, pdf = files
    assert f'<img src="/attachments/{image.id}"' in page and f'href="/attachments/{pdf.id}"' in page
    assert "路灯.png" in page and "函.pdf" in page and "添加附件" in page  # the timeline's label

    got = client.get(f"/attachments/{image.id}")
    assert got.status_code == 200 and got.data == photo and got.mimetype == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    download = client.get(f"/attachments/{pdf.id}")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]


def _stream(data: bytes) -> Any:
    import io
    return io.BytesIO(data)


def test_an_invalid_extension_field_is_shown_and_nothing_is_stored(app: Flask,
                                                                  browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    title = f"噪音扰民 {marker()}"
    form = intake_form(html(client.get("/cases/new")), title, **{
        "ext.call_id": "呼叫#1", "ext.caller_number": "13900001111", "files": [(_stream(tiny_png()), "a.png")]})
    r = client.post("/cases/new", data=form, content_type="multipart/form-data")
    assert r.status_code == 422
    page = html(r)
    assert re.search(r'id="f-ext\.call_id-error">格式不正确', page)
    assert re.search(r'id="f-ext\.call_id"[^>]*aria-invalid="true"[^>]*autofocus', page)
    assert f'value="{title}"' in page and 'value="呼叫#1"' in page  # what was typed is kept
    assert "附件未保存，请重新选择" in page
    assert count_cases(app, title) == 0


def test_a_file_of_a_refused_type_stores_nothing(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    title = f"井盖缺失 {marker()}"
    with app.app_context():
        before = session.scalar(select(func.count(Attachment.id)))
    form = intake_form(html(client.get("/cases/new")), title, **{
        "ext.caller_number": "13900001111",
        "files": [(_stream(tiny_png()), "ok.png"), (_stream(b"MZ\x90\x00 an executable"), "photo.jpg")]})
    r = client.post("/cases/new", data=form, content_type="multipart/form-data")
    assert r.status_code == 422
    page = html(r)
    assert re.search(r'id="f-files-error" role="alert">只能上传照片', page)
    assert re.search(r'id="f-files"[^>]*aria-invalid="true"[^>]*autofocus', page)
    assert f'value="{title}"' in page
    assert count_cases(app, title) == 0
    with app.app_context():
        assert session.scalar(select(func.count(Attachment.id))) == before


def test_an_exact_repeat_is_merged_at_once_and_a_similar_report_lands_on_its_candidates(
        app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    place = f"翠湖{marker()}苑"
    seeded = random.Random(place)  # a spot of its own in the city: kilometres from other tests' reports
    lat, lng = 31.26 + seeded.uniform(0, 0.22), 121.10 + seeded.uniform(0, 0.7)
    first = intake_form(html(client.get("/cases/new")), f"{place}工地夜间打桩噪音扰民",
                        description=f"{place}旁工地每天晚上十一点以后还在打桩，噪音很大，居民无法休息",
                        address=f"东湖区{place}东门", reporter_phone="13711112222", lat=f"{lat:.4f}", lng=f"{lng:.4f}",
                        category_code="event:05003")
    assert client.post("/cases/new", data=first).status_code == 302
    master = case_by_title(app, first["title"])

    again = intake_form(html(client.get("/cases/new")), first["title"], **{
        k: first[k] for k in ("description", "address", "reporter_phone", "lat", "lng", "category_code")})
    r = client.post("/cases/new", data=again)
    assert r.status_code == 302
    page = html(client.get(r.headers["Location"]))
    assert "已自动合并至该案件" in page and master.number in page
    assert f"已合并至 {master.number}" in page and f'href="/cases/{master.id}"' in page  # the banner

    similar = intake_form(html(client.get("/cases/new")), f"投诉{place}旁工地半夜打桩", channel="wechat",
                          description=f"{place}旁工地半夜还在打桩，吵得孩子睡不着", address=f"{place}",
                          reporter_phone="13633334444", lat=f"{lat + 0.0002:.4f}", lng=f"{lng + 0.0001:.4f}",
                          category_code="event:05003")
    similar["ext.openid"] = "o_wx_" + marker()
    r = client.post("/cases/new", data=similar)
    assert r.status_code == 302
    page = html(client.get(r.headers["Location"]))
    assert re.search(r"发现 \d+ 个可能重复的案件", page) and "疑似重复案件" in page and master.number in page
    assert "合并到此案件" not in page  # an operator sees the candidates; a dispatcher decides


# ---------------------------------------------------------------------------- the grid worker's report

def test_grid_worker_reports_from_a_phone(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_grid_worker")
    inbox = html(client.get("/inbox"))
    assert 'href="/report"' in inbox and "现场上报" in inbox
    page = html(client.get("/report"))
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert re.search(r'<input id="f-photos" name="photos" type="file" multiple accept="image/\*" '
                     r'capture="environment"', page)
    assert "使用我的位置" in page and "data-locate" in page and "intake.js" in page
    for name in ("title", "description", "category_code", "address", "lat", "lng", "ext.found_at", "ext.severity",
                 "ext.handled_on_site", "ext.site_notes"):
        assert f'name="{name}"' in page, name
    assert 'name="grid_unit"' not in page and "滨江社区" in page  # their own community, shown, not asked

    title = f"暴露垃圾 {marker()}"
    r = client.post("/report", data={
        "csrf_token": csrf(page), "idem": re.search(r'name="idem" value="(\w+)"', page).group(1),  # type: ignore[union-attr]
        "title": title, "description": "垃圾桶满溢，垃圾散落在人行道上", "address": "滨江路 20 号",
        "lat": "31.2301", "lng": "121.4702", "urgency": "normal", "ext.severity": "serious",
        "ext.handled_on_site": "false", "ext.found_at": "2026-11-29T09:30",
        "photos": [(_stream(TINY_JPEG), "IMG_0001.jpg"), (_stream(tiny_png()), "IMG_0002.png")]},
        content_type="multipart/form-data")
    assert r.status_code == 302, html(r)
    case = case_by_title(app, title)
    assert case.channel == "grid" and case.reporter_name and "网格员" in case.reporter_name
    with app.app_context():
        assert session.get(Case, case.id).grid_unit.code == "d1-s1-c1"  # type: ignore[union-attr]
    assert case.extension_data["severity"] == "serious"
    assert case.extension_data["found_at"].startswith("2026-11-29T09:30")
    assert [a.content_type for a in attachments_of(app, case.id)] == ["image/jpeg", "image/png"]
    shown = html(client.get(r.headers["Location"]))
    assert "已上报" in shown and "网格员上报扩展信息" in shown and "严重" in shown


def test_the_report_refuses_bad_input_and_is_for_grid_workers(app: Flask,
                                                              browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_grid_worker")
    page = html(client.get("/report"))
    title = f"x{marker()}"
    r = client.post("/report", data={"csrf_token": csrf(page), "title": title, "description": "",
                                     "address": "滨江路", "ext.severity": "huge",
                                     "photos": [(_stream(b"plain text"), "note.jpg")]},
                    content_type="multipart/form-data")
    assert r.status_code == 422
    out = html(r)
    assert 'id="f-description-error"' in out and 'id="f-ext.severity-error"' in out
    assert "照片未保存，请重新选择" in out
    assert count_cases(app, title) == 0
    r = client.post("/report", data={"csrf_token": csrf(page), "title": title, "description": "路面塌陷",
                                     "address": "滨江路", "photos": [(_stream(b"plain text"), "note.jpg")]},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and re.search(r'id="f-photos-error" role="alert">只能上传照片', html(r))
    assert count_cases(app, title) == 0
    assert browser("demo_operator").get("/report").status_code == 403
    assert "现场上报" not in html(browser("demo_operator").get("/inbox"))


def test_a_grid_worker_of_several_communities_picks_one(app: Flask) -> None:
    from app.orgs.directory import UnitInfo
    from app.web.report import report_schema
    grids = [UnitInfo(1, "x-c1", "甲社区", "Jia", "community", None, "/x/c1/", "x"),
             UnitInfo(2, "x-c2", "乙社区", None, "community", None, "/x/c2/", "x")]
    with app.test_request_context():
        several, one = report_schema(grids), report_schema(grids[:1])
    assert several["properties"]["grid_unit"]["enum"] == ["x-c1", "x-c2"] and "grid_unit" in several["required"]
    assert several["x-order"].index("grid_unit") == several["x-order"].index("address") - 1
    assert "grid_unit" not in one["properties"] and "grid_unit" not in one["x-order"]


# ---------------------------------------------------------------------------- attachments on the case page

def test_upload_on_the_case_page_and_who_may_download(app: Flask, browser: Callable[[str], FlaskClient],
                                                      make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(title=f"树木倒伏 {marker()}")
    dispatcher = browser("demo_dispatcher")
    page = html(dispatcher.get(f"/cases/{case['id']}"))
    assert "暂无照片或附件" in page and "上传照片或附件" in page
    r = dispatcher.post(f"/cases/{case['id']}/attachments", data={
        "csrf_token": csrf(page), "file": [(_stream(tiny_png((10, 160, 60))), "现场.png")]},
        content_type="multipart/form-data")
    assert r.status_code == 302
    (attachment,) = attachments_of(app, case["id"])
    assert attachment.source == "upload"
    shown = html(dispatcher.get(f"/cases/{case['id']}"))
    assert "现场.png" in shown and f'<img src="/attachments/{attachment.id}"' in shown

    bad = dispatcher.post(f"/cases/{case['id']}/attachments", data={
        "csrf_token": csrf(page), "file": [(_stream(b"#!/bin/sh\necho hi\n"), "run.sh")]},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and re.search(r'id="f-file-error" role="alert">只能上传照片', html(bad))
    assert re.search(r'<details class="action" id="upload" open>', html(bad))
    empty = dispatcher.post(f"/cases/{case['id']}/attachments", data={"csrf_token": csrf(page)})
    assert empty.status_code == 422 and "请选择要上传的文件" in html(empty)
    assert len(attachments_of(app, case["id"])) == 1

    # a grid worker of another community sees neither the case nor its files
    outsider = browser("grid_d1_s1_c2")
    assert outsider.get(f"/cases/{case['id']}").status_code == 403
    assert outsider.get(f"/attachments/{attachment.id}").status_code == 403
    assert outsider.post(f"/cases/{case['id']}/attachments", data={
        "csrf_token": token(outsider), "file": [(_stream(tiny_png()), "x.png")]},
        content_type="multipart/form-data").status_code == 403
    assert browser("demo_grid_worker").get(f"/attachments/{attachment.id}").status_code == 200  # its community
    assert dispatcher.get("/attachments/999999999").status_code == 404
    anonymous = app.test_client().get(f"/attachments/{attachment.id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_english_intake_pages(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    client.post("/lang/en", data={"csrf_token": token(client)})
    page = html(client.get("/cases/new?channel=weibo"))
    for text in ("12345 hotline", "Weibo details", "Weibo user ID", "Photos and files", "Switch channel"):
        assert text in page, text
    client.post("/lang/zh", data={"csrf_token": token(client)})


# ---------------------------------------------------------------------------- in a real browser


@pytest.mark.browser
def test_keyboard_driven_hotline_intake(chromium: Any, live_server: str, app: Flask) -> None:
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, "operator_2")
    page.goto(f"{live_server}/cases/new")
    title = f"键盘登记：路灯不亮 {marker()}"

    assert page.evaluate("document.activeElement.id") == "f-title"  # autofocus
    page.keyboard.type(title)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-description"
    page.keyboard.type("小区门口路灯连续三晚不亮")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-address"
    page.keyboard.type("滨江路 8 号")
    page.keyboard.press("Enter")  # Enter moves on in this form, it does not send a half-filled one
    assert page.evaluate("document.activeElement.id") == "f-grid_unit"
    page.select_option("#f-grid_unit", "d1-s1-c1")

    # switch to the mayor's mailbox (accesskey 3) and back: the hotline fields come back as typed
    page.focus('[name="ext.call_id"]')
    page.keyboard.type("CALL-9")
    page.keyboard.press("Alt+3")
    page.wait_for_selector('fieldset[data-channel="mailbox"] [name="ext.email"]')
    assert page.locator('[name="ext.call_id"]').count() == 0
    assert page.locator('.channel-switch').count() == 0  # the no-JavaScript button is gone
    assert page.input_value("#f-title") == title  # nothing typed is lost
    page.keyboard.press("Alt+1")
    page.wait_for_selector('fieldset[data-channel="hotline"]')
    assert page.input_value('[name="ext.call_id"]') == "CALL-9"

    # the caller's number becomes the reporter's phone while that is empty
    page.focus('[name="ext.caller_number"]')
    page.keyboard.type("13900002222")
    assert page.input_value("#f-reporter_phone") == "13900002222"
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    body = page.content()
    assert "工单已登记" in body and title in body and "CALL-9" in body and "13900002222" in body
    case = case_by_title(app, title)
    assert case.reporter_phone == "13900002222" and case.extension_data["call_id"] == "CALL-9"
    context.close()


@pytest.mark.browser
def test_grid_report_at_a_phone_viewport(chromium: Any, live_server: str, app: Flask) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
             "has_touch": True, "locale": "zh-CN"}

    # location refused: a clear message, the address is still there to fill in
    denied = chromium.new_context(**phone)
    page = denied.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, "demo_grid_worker")
    page.goto(f"{live_server}/report")
    page.click("[data-locate-button]")
    page.wait_for_selector(".locate-status.locate-error")
    assert "拒绝了定位权限" in page.inner_text("[data-locate-status]")
    denied.close()

    context = chromium.new_context(**phone, permissions=["geolocation"],
                                   geolocation={"latitude": 31.23012, "longitude": 121.47034, "accuracy": 12})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, "demo_grid_worker")
    page.goto(f"{live_server}/report")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    button = page.locator("[data-locate-button]").bounding_box()
    submit = page.locator("button.btn-big").bounding_box()
    assert button["height"] >= 44 and submit["height"] >= 44 and submit["width"] > 300  # thumb-sized
    page.click("[data-locate-button]")
    page.wait_for_function("() => document.querySelector('#f-lat').value !== ''")  # a function: the CSP forbids eval
    assert page.input_value("#f-lat") == "31.230120" and page.input_value("#f-lng") == "121.470340"
    assert "精度约 12 米" in page.inner_text("[data-locate-status]")

    title = f"手机上报：井盖破损 {marker()}"
    page.set_input_files("#f-photos", files=[{"name": "IMG_1.png", "mimeType": "image/png", "buffer": tiny_png()}])
    assert "IMG_1.png" in page.inner_text("[data-file-list]")
    page.fill("#f-title", title)
    page.fill("#f-description", "人行道井盖破损，有行人踩空的危险")
    page.fill("#f-address", "滨江路 12 号")
    page.tap("button.btn-big")
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    assert "已上报" in page.content()
    page.locator(".attachment img").scroll_into_view_if_needed()  # thumbnails load lazily
    page.wait_for_function("() => { const img = document.querySelector('.attachment img');"
                           " return img && img.complete && img.naturalWidth === 2; }")  # the photo, decoded
    case = case_by_title(app, title)
    assert case.channel == "grid" and abs((case.lat or 0) - 31.23012) < 1e-6
    context.close()
