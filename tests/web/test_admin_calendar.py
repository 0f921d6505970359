"""The working-calendar admin page: list, add and remove days, check a deadline."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
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
