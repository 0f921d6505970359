"""Input the pages refuse (issue 10): an unknown channel on the intake form, titles with nothing to
see, points outside the city, ids out of range in forms, deadlines past the year 9999 — each a 4xx
with the form shown again and its message, never a 500, never a stored case."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.cases.models import Case
from app.core.db import session
from tests.web.pages import csrf, html


def _count(app: Flask) -> int:
    with app.app_context():
        try:
            return int(session.scalar(select(func.count(Case.id))) or 0)
        finally:
            session.remove()


def _form(client: FlaskClient, **overrides: Any) -> dict[str, Any]:
    page = html(client.get("/cases/new"))
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', page)
    assert idem
    form = {"csrf_token": csrf(page), "idem": idem.group(1), "channel": "hotline", "title": "路灯不亮（渠道）",
            "description": "小区门口路灯连续三晚不亮", "address": "滨江路 8 号", "grid_unit": "d1-s1-c1",
            "urgency": "normal", "reporter_name": "李女士", "reporter_phone": "13900001111", "lat": "", "lng": ""}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


@pytest.mark.parametrize("channel", ["x", "open311", "", None])
def test_an_unknown_channel_is_422_with_the_form_again(app: Flask, browser: Callable[[str], FlaskClient],
                                                      channel: str | None) -> None:
    client = browser("demo_operator")
    before = _count(app)
    r = client.post("/cases/new", data=_form(client, channel=channel))
    assert r.status_code == 422
    page = html(r)
    assert 'id="f-channel-error"' in page and 'aria-invalid="true"' in page
    assert ("没有这个渠道" in page) if channel else ("请选择来源渠道" in page)
    assert 'value="路灯不亮（渠道）"' in page and "表单有误" in page  # what was typed is kept
    assert _count(app) == before


def test_switching_to_an_unknown_channel_is_422(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    r = client.post("/cases/new", data=_form(client, channel="x", action="switch"))
    assert r.status_code == 422 and 'id="f-channel-error"' in html(r)


@pytest.mark.parametrize("title", ["\u200b\u200b\u200b", "\ufeff\ufeff", "\u3164\u3164"])
def test_an_invisible_title_is_refused_on_the_page(app: Flask, browser: Callable[[str], FlaskClient], title: str) -> None:
    client = browser("demo_operator")
    before = _count(app)
    r = client.post("/cases/new", data=_form(client, title=title))
    assert r.status_code == 422
    assert 'id="f-title-error"' in html(r) and "不可见字符" in html(r)
    assert _count(app) == before


def test_a_point_outside_the_city_is_refused_on_the_page(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    before = _count(app)
    r = client.post("/cases/new", data=_form(client, lat="-0", lng="0"))
    assert r.status_code == 422
    page = html(r)
    assert 'id="f-lat-error"' in page and 'id="f-lng-error"' in page and "不在本市范围内" in page
    assert _count(app) == before
    r = client.post("/cases/new", data=_form(client, lat="nan", lng="inf"))
    assert r.status_code == 422 and 'id="f-lat-error"' in html(r)


def test_a_nul_in_a_form_is_refused_before_any_view(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    before = _count(app)
    r = client.post("/cases/new", data=_form(client, title="路灯\x00不亮"))
    assert r.status_code == 422 and "<code>title</code>" in html(r) and "U+0000" in html(r)
    assert _count(app) == before


def test_ids_out_of_range_in_forms_are_refused_without_a_500(browser: Callable[[str], FlaskClient],
                                                            make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    dispatcher = browser("demo_dispatcher")
    page = html(dispatcher.get(f"/cases/{case['id']}"))
    r = dispatcher.post(f"/cases/{case['id']}/merge", data={"csrf_token": csrf(page), "into": "99999999999999999999"})
    assert r.status_code == 302
    assert "请选择要合并到的案件" in html(dispatcher.get(r.headers["Location"]))
    r = dispatcher.post("/notifications/read", data={"csrf_token": csrf(page), "id": "99999999999999999999"})
    assert r.status_code == 302


@pytest.mark.parametrize(("start", "limit"), [("9999-12-31T16:00", "3d"), ("2026-09-30T16:30", "9999999d"),
                                              ("2026-09-30T16:30", "9" * 400 + "h")])
def test_a_deadline_that_cannot_be_computed_is_a_field_error(browser: Callable[[str], FlaskClient],
                                                            start: str, limit: str) -> None:
    r = browser("demo_admin").get(f"/admin/calendar?start={start}&limit={limit}")
    assert r.status_code == 200 and 'class="field-error"' in html(r)
