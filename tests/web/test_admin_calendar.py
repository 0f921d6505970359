"""The working-calendar admin page: list, add and remove days, check a deadline, import the State
Council's notice (preview, confirm, replace, remove), and the banner that asks for next year's."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update

from app.core import clock
from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.orgs.models import User
from app.sla.models import CalendarDay, HolidayNotice, HolidayNoticeDay
from app.sla.service import current_calendar, invalidate_calendar
from tests.web.pages import csrf, html


def _clear(app: Flask) -> None:
    with app.app_context(), transaction() as s:
        s.execute(delete(CalendarDay))
        s.execute(delete(HolidayNoticeDay))
        s.execute(delete(HolidayNotice))
    invalidate_calendar()


@pytest.fixture()
def holiday_list(app: Flask) -> Iterator[None]:
    """An empty list and no notice around the test: they would change every later test's deadlines."""
    _clear(app)
    yield
    _clear(app)


@pytest.fixture()
def as_user(app: Flask, login: Callable[..., Any]) -> Callable[[str], FlaskClient]:
    def make(username: str) -> FlaskClient:
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client
    return make


@pytest.fixture()
def admin(as_user: Callable[[str], FlaskClient], holiday_list: None) -> Iterator[FlaskClient]:
    with clock.frozen(datetime(2026, 9, 15, 2, 0, tzinfo=timezone.utc)):  # 2026-09-15 10:00 in Beijing
        yield as_user("demo_admin")


def listed(app: Flask) -> dict[date, str]:
    with app.app_context():
        return {row.day: row.kind for row in session.scalars(select(CalendarDay))}


def test_only_admins_see_the_page(as_user: Callable[[str], FlaskClient], app: Flask) -> None:
    dispatcher = as_user("demo_dispatcher")
    assert dispatcher.get("/admin/calendar").status_code == 403
    token = csrf(html(dispatcher.get("/inbox")))
    r = dispatcher.post("/admin/calendar/days", data={"csrf_token": token, "day": "2026-10-08", "kind": "holiday"})
    assert r.status_code == 403 and listed(app) == {}
    assert 'href="/admin/calendar"' not in html(dispatcher.get("/inbox"))
    assert app.test_client().get("/admin/calendar").status_code == 302  # to the login page


def test_add_list_and_remove(app: Flask, admin: FlaskClient) -> None:
    page = html(admin.get("/admin/calendar"))
    assert "没有调整的日期" in page and "09:00-12:00, 13:30-17:30" in page and "2004–2026" in page
    assert "data-missing-year" not in page  # September: next year's notice is not due yet
    assert 'data-year="2027" data-source="law"' in page and 'data-year="2026" data-source="package"' in page
    assert 'href="/admin/calendar" aria-current="page"' in page  # the nav link
    for day, kind, note in (("2026-10-10", "holiday", "调休取消"), ("2026-09-06", "workday", "过去的一天"),
                            ("2027-01-01", "holiday", "元旦")):
        r = admin.post("/admin/calendar/days", data={"csrf_token": csrf(page), "day": day, "kind": kind, "note": note})
        assert r.status_code == 302 and r.headers["Location"].endswith("/admin/calendar")
    assert listed(app) == {date(2026, 10, 10): "holiday", date(2026, 9, 6): "workday", date(2027, 1, 1): "holiday"}

    page = html(admin.get("/admin/calendar"))
    assert "已将 2027-01-01 设为休息日" in page  # the flash
    rows = re.findall(r'<tr(?: class="muted")? data-day="([0-9-]+)">(.*?)</tr>', page, re.S)
    assert [d for d, _ in rows] == ["2026-10-10", "2027-01-01", "2026-09-06"]  # upcoming first, then the past
    cells = {d: re.sub(r"<[^>]+>", " ", body) for d, body in rows}
    assert "星期六" in cells["2026-10-10"] and "工作日" in cells["2026-10-10"]  # statutory: make-up Saturday
    assert "休息日" in cells["2026-10-10"] and "调休取消" in cells["2026-10-10"]
    assert "休息日（按法律推算，无调休：元旦）" in cells["2027-01-01"] and "星期五" in cells["2027-01-01"]
    assert "星期日" in cells["2026-09-06"]
    with app.app_context():
        assert date(2026, 10, 10) in current_calendar().extra_holidays  # at once, no waiting for the TTL
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(3)).all()
        assert actions == ["calendar_day_added"] * 3

    r = admin.post("/admin/calendar/days/2026-10-10/remove", data={"csrf_token": csrf(page)})
    assert r.status_code == 302
    assert listed(app) == {date(2026, 9, 6): "workday", date(2027, 1, 1): "holiday"}
    assert "已从列表中删除 2026-10-10" in html(admin.get("/admin/calendar"))
    r = admin.post("/admin/calendar/days/2026-10-10/remove", data={"csrf_token": csrf(page)})
    assert r.status_code == 302 and "2026-10-10 不在列表中" in html(admin.get("/admin/calendar"))
    assert admin.post("/admin/calendar/days/not-a-day/remove", data={"csrf_token": csrf(page)}).status_code == 404


@pytest.mark.parametrize("form,field", [
    ({"day": "", "kind": "holiday"}, "day"),
    ({"day": "2026-13-01", "kind": "holiday"}, "day"),
    ({"day": "2026-10-08", "kind": "vacation"}, "kind"),
    ({"day": "2026-10-08", "kind": "holiday", "note": "长" * 201}, "note"),
])
def test_invalid_input_is_shown_and_changes_nothing(app: Flask, admin: FlaskClient, form: dict[str, str],
                                                    field: str) -> None:
    token = csrf(html(admin.get("/admin/calendar")))
    with app.app_context():
        audits = session.scalar(select(func.count(AuditEvent.id)))
    r = admin.post("/admin/calendar/days", data={"csrf_token": token, **form})
    assert r.status_code == 422
    page = html(r)
    assert f'id="f-{field}-error"' in page and 'aria-invalid="true"' in page and "表单有误" in page
    assert f'value="{form["day"]}"' in page  # the input is kept
    assert listed(app) == {}
    with app.app_context():
        assert session.scalar(select(func.count(AuditEvent.id))) == audits


def test_a_listed_date_cannot_be_added_twice(app: Flask, admin: FlaskClient) -> None:
    token = csrf(html(admin.get("/admin/calendar")))
    data = {"csrf_token": token, "day": "2026-10-08", "kind": "holiday"}
    assert admin.post("/admin/calendar/days", data=data).status_code == 302
    r = admin.post("/admin/calendar/days", data={**data, "kind": "workday"})
    assert r.status_code == 422 and "2026-10-08 已在列表中（休息日）" in html(r)
    assert listed(app) == {date(2026, 10, 8): "holiday"}


def test_the_form_needs_a_csrf_token(app: Flask, admin: FlaskClient) -> None:
    r = admin.post("/admin/calendar/days", data={"day": "2026-10-08", "kind": "holiday"})
    assert r.status_code == 400 and listed(app) == {}


def test_check_a_deadline(app: Flask, admin: FlaskClient) -> None:
    page = html(admin.get("/admin/calendar?start=2026-09-30T16:30&limit=10h"))
    assert 'data-due="2026-10-09T11:00:00+08:00"' in page and "2026-10-09 11:00" in page and "星期五" in page
    assert "600 分钟" in page
    token = csrf(page)
    admin.post("/admin/calendar/days", data={"csrf_token": token, "day": "2026-10-09", "kind": "holiday"})
    page = html(admin.get("/admin/calendar?start=2026-09-30T16:30&limit=10h"))
    assert 'data-due="2026-10-10T11:00:00+08:00"' in page  # the added day counts at once

    page = html(admin.get("/admin/calendar?start=soon&limit=3x"))
    assert 'id="f-start-error"' in page and 'id="f-limit-error"' in page and "data-due" not in page


@pytest.fixture()
def back_to_chinese(app: Flask) -> Iterator[None]:
    """The language switch is stored on the user: give demo_admin Chinese back for later tests."""
    yield
    with app.app_context(), transaction():
        session.execute(update(User).where(User.username == "demo_admin").values(locale="zh"))


def test_the_page_in_english(admin: FlaskClient, back_to_chinese: None) -> None:
    admin.post("/lang/en", data={"csrf_token": csrf(html(admin.get("/admin/calendar"))), "next": "/admin/calendar"})
    page = html(admin.get("/admin/calendar?start=2026-09-30T16:30&limit=1d"))
    assert "Working calendar" in page and "Check a deadline" in page and "Thursday" in page
    assert "工作日历" not in page
    assert "Holiday arrangements by year" in page and "Computed from the law: statutory holidays" in page
    preview = html(admin.post("/admin/calendar/notice/preview", data={"csrf_token": csrf(page), "year": "2027",
                                                                       "text": EXAMPLE_2027}))
    assert "Import the holiday notice for 2027: preview" in preview and "make-up day off (补假)" in preview
    assert "swapped day off (调休)" in preview and "Tuesday" in preview


# ---------------------------------------------------------------------------- State Council notice

EXAMPLE_2027 = (Path(__file__).parent.parent / "data" / "holiday_notice_2027_example.txt").read_text(encoding="utf-8")


def notices(app: Flask) -> dict[int, int]:
    with app.app_context():
        return {n.year: len(n.days) for n in session.scalars(select(HolidayNotice))}


def test_paste_preview_and_import_a_notice(app: Flask, admin: FlaskClient) -> None:
    page = html(admin.get("/admin/calendar"))
    assert 'id="f-year"' in page and 'value="2027"' in page and 'enctype="multipart/form-data"' in page
    r = admin.post("/admin/calendar/notice/preview", data={"csrf_token": csrf(page), "year": "2027", "text": EXAMPLE_2027})
    assert r.status_code == 200
    preview = html(r)
    assert "导入 2027 年放假通知：预览" in preview and 'data-count="holiday">29 天' in preview
    assert 'data-count="workday">5 天' in preview and "第 1、2、3、12、13 行" in preview
    rows = dict(re.findall(r'<tr data-day="([0-9-]+)" data-kind="[a-z]*" data-role="([a-z_]+)">', preview))
    assert rows["2027-02-09"] == "make_up" and rows["2027-02-11"] == "swap" and rows["2027-01-31"] == "swap_workday"
    assert "补假 / make-up" not in preview and "调休放假" in preview  # the Chinese half of the role
    assert notices(app) == {}  # a preview saves nothing

    confirm = re.search(r'<form method="post" action="/admin/calendar/notice" class="filters" id="confirm-import">'
                        r'(.*?)</form>', preview, re.S)
    assert confirm is not None
    text = re.search(r'<textarea name="text" hidden aria-hidden="true">\n(.*?)</textarea>', confirm.group(1), re.S)
    assert text is not None and unescape(text.group(1)) == EXAMPLE_2027  # carried as pasted, newlines included
    r = admin.post("/admin/calendar/notice", data={"csrf_token": csrf(preview), "year": "2027",
                                                    "text": unescape(text.group(1)), "filename": ""})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/calendar")
    assert notices(app) == {2027: 34}
    page = html(admin.get("/admin/calendar"))
    assert "已导入 2027 年放假通知：放假 29 天，调休上班 5 天" in page
    assert 'data-year="2027" data-source="notice"' in page and "国务院通知（放假 29 天，调休上班 5 天）" in page
    with app.app_context():
        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)).all() == \
            ["holiday_notice_imported"]
    page = html(admin.get("/admin/calendar?start=2027-02-04T16:00&limit=1d"))
    assert 'data-due="2027-02-15T16:00:00+08:00"' in page  # the notice's 调休 counts at once

    # importing the same year again replaces it, and says so before and after
    preview = html(admin.post("/admin/calendar/notice/preview", data={"csrf_token": csrf(page), "year": "2027",
                                                                       "text": EXAMPLE_2027}))
    assert "确认导入（替换" in preview and "已有导入的通知，保存后将被替换" in preview
    r = admin.post("/admin/calendar/notice", data={"csrf_token": csrf(page), "year": "2027", "text": EXAMPLE_2027})
    assert r.status_code == 302 and "（替换了之前导入的通知）" in html(admin.get("/admin/calendar"))
    assert notices(app) == {2027: 34}

    page = html(admin.get("/admin/calendar"))
    r = admin.post("/admin/calendar/notice/2027/remove", data={"csrf_token": csrf(page)})
    assert r.status_code == 302 and notices(app) == {}
    page = html(admin.get("/admin/calendar"))
    assert "已删除 2027 年的放假通知" in page and 'data-year="2027" data-source="law"' in page
    r = admin.post("/admin/calendar/notice/2027/remove", data={"csrf_token": csrf(page)})
    assert r.status_code == 302 and "2027 年没有导入的通知" in html(admin.get("/admin/calendar"))


def test_upload_a_table_file(app: Flask, admin: FlaskClient) -> None:
    token = csrf(html(admin.get("/admin/calendar")))
    from app.sla.holidays import legal_rest_days
    table = "日期,类型,名称\n" + "\n".join(f"{d},holiday,{n}" for d, n in sorted(legal_rest_days(2027).items()))
    r = admin.post("/admin/calendar/notice/preview", content_type="multipart/form-data",
                   data={"csrf_token": token, "year": "2027", "text": "",
                         "file": (io.BytesIO(table.encode("gb18030")), "2027放假.csv")})
    assert r.status_code == 200
    preview = html(r)
    assert 'data-count="holiday">19 天' in preview and 'name="filename" value="2027放假.csv"' in preview
    text = unescape(re.search(r'<textarea name="text" hidden aria-hidden="true">\n(.*?)</textarea>', preview, re.S)
                    .group(1))  # type: ignore[union-attr]
    r = admin.post("/admin/calendar/notice", data={"csrf_token": token, "year": "2027", "text": text,
                                                    "filename": "2027放假.csv"})
    assert r.status_code == 302 and notices(app) == {2027: 19}
    assert "2027放假.csv" in html(admin.get("/admin/calendar"))


@pytest.mark.parametrize("data,field,message", [
    ({"year": "2027", "text": "2027-02-05,holiday\n2027-02-31,workday"}, "text", "第 2 行：“2027-02-31”不是日期"),
    ({"year": "二〇二七", "text": EXAMPLE_2027}, "year", "请填写年份"),
    ({"year": "2024", "text": EXAMPLE_2027}, "year", "年份须在 2025–2100 之间"),
    ({"year": "2027", "text": ""}, "text", "请粘贴通知正文或表格"),
    ({"year": "2027", "text": "二、春节：2月5日（周五）至13日（周六）放假调休，共9天。"}, "text",
     "通知没有 2027-01-01（元旦），按法律这天放假"),
])
@pytest.mark.parametrize("url", ["/admin/calendar/notice/preview", "/admin/calendar/notice"])
def test_a_bad_notice_is_refused_with_line_numbers(app: Flask, admin: FlaskClient, data: dict[str, str], field: str,
                                                    message: str, url: str) -> None:
    token = csrf(html(admin.get("/admin/calendar")))
    with app.app_context():
        before = session.scalar(select(func.count(AuditEvent.id)))
    r = admin.post(url, data={"csrf_token": token, **data})
    assert r.status_code == 422
    page = html(r)
    assert message in page and "无法导入，什么也没有保存" in page
    assert f'id="f-{field}-error"' in page and 'aria-invalid="true"' in page
    assert 'id="confirm-import"' not in page  # nothing to confirm
    assert notices(app) == {}
    with app.app_context():
        assert session.scalar(select(func.count(AuditEvent.id))) == before


def test_a_bad_file_is_refused(app: Flask, admin: FlaskClient) -> None:
    token = csrf(html(admin.get("/admin/calendar")))
    r = admin.post("/admin/calendar/notice/preview", content_type="multipart/form-data",
                   data={"csrf_token": token, "year": "2027", "file": (io.BytesIO(b"\x89PNG\x00\x00"), "x.png")})
    assert r.status_code == 422 and 'id="f-file-error"' in html(r) and "文件不是文本文件" in html(r)


def test_notice_forms_need_admin_and_csrf(app: Flask, admin: FlaskClient, as_user: Callable[[str], FlaskClient]) -> None:
    data = {"year": "2027", "text": EXAMPLE_2027}
    assert admin.post("/admin/calendar/notice", data=data).status_code == 400  # no CSRF token
    assert admin.post("/admin/calendar/notice/preview", data=data).status_code == 400
    dispatcher = as_user("demo_dispatcher")
    token = csrf(html(dispatcher.get("/inbox")))
    for url in ("/admin/calendar/notice/preview", "/admin/calendar/notice", "/admin/calendar/notice/2027/remove"):
        assert dispatcher.post(url, data={"csrf_token": token, **data}).status_code == 403
    assert notices(app) == {}


@pytest.mark.parametrize("moment,shown", [
    (datetime(2026, 10, 31, 15, 59, tzinfo=timezone.utc), False),  # 2026-10-31 23:59 in Beijing
    (datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc), True),  # 2026-11-01 00:00 in Beijing
    (datetime(2027, 6, 1, 2, 0, tzinfo=timezone.utc), True),  # in 2027 itself
])
def test_the_banner_for_admins(app: Flask, as_user: Callable[[str], FlaskClient], holiday_list: None,
                               moment: datetime, shown: bool) -> None:
    with clock.frozen(moment):
        admin = as_user("demo_admin")
        dispatcher = as_user("demo_dispatcher")
        page = html(admin.get("/inbox"))
        assert ('data-calendar-banner="2027"' in page) is shown
        if shown:
            assert "尚未导入 2027 年的放假安排：2027 年的时限按法定节假日（含补假）推算，不含调休。" in page
            assert 'href="/admin/calendar#import-title"' in page
            assert 'data-calendar-banner="2027"' in html(admin.get("/cases"))  # every page
        calendar_page = html(admin.get("/admin/calendar"))
        assert 'data-calendar-banner' not in calendar_page  # the page says it itself, in full
        assert ('data-missing-year="2027"' in calendar_page) is shown
        assert "data-calendar-banner" not in html(dispatcher.get("/inbox"))  # admins only


def test_the_banner_goes_once_the_notice_is_imported(app: Flask, as_user: Callable[[str], FlaskClient],
                                                     holiday_list: None) -> None:
    with clock.frozen(datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)):
        admin = as_user("demo_admin")
        page = html(admin.get("/inbox"))
        assert 'data-calendar-banner="2027"' in page
        admin.post("/admin/calendar/notice", data={"csrf_token": csrf(page), "year": "2027", "text": EXAMPLE_2027})
        assert "data-calendar-banner" not in html(admin.get("/inbox"))
        assert "data-missing-year" not in html(admin.get("/admin/calendar"))
