"""The cockpit page for each role: a leader lands on it, the navigation offers it to leaders,
supervisors and administrators (and no one else), scope refusals are pages (403 / 422), the
wall-screen mode has no navigation, the page exports its tables, and the case list shows the
narrowing a cockpit link brings."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.pages import html


def test_a_leader_lands_on_the_cockpit(app: Flask, login: Callable[..., Any]) -> None:
    r = login(app.test_client(), "demo_leader")
    assert r.status_code == 302 and r.headers["Location"].endswith("/cockpit")
    r = login(app.test_client(), "leader_d2")
    assert r.headers["Location"].endswith("/cockpit")
    for user in ("demo_operator", "demo_supervisor", "demo_admin"):
        assert login(app.test_client(), user).headers["Location"].endswith("/inbox"), user


@pytest.mark.parametrize("user, unit", [("demo_leader", "示范市"), ("leader_d1", "东湖区"), ("demo_supervisor", "示范市"),
                                        ("supervisor_d1_s1", "湖滨街道"), ("demo_admin", "示范市")])
def test_the_page_for_each_cockpit_role(browser: Callable[[str], FlaskClient], user: str, unit: str) -> None:
    client = browser(user)
    r = client.get("/cockpit")
    page = html(r)
    assert r.status_code == 200, page
    assert f'<span class="cockpit-unit">{unit}</span>' in page
    assert 'href="/cockpit"' in page and "驾驶舱" in page  # in the navigation
    assert "data-cockpit='" in page and "vendor/cockpit.js" in page
    for key in ("received", "closed", "open", "overdue", "escalated", "parked"):
        assert f'data-figure="{key}"' in page
    for key in ("channels", "lights", "tiers", "categories", "trend"):
        assert f'data-chart="{key}"' in page and f'data-table="{key}"' in page
    assert "<script>" not in page  # no inline script (CSP)
    assert "更新于" in page and "大屏模式" in page


@pytest.mark.parametrize("user", ["demo_operator", "demo_handler", "demo_dispatcher", "demo_designer", "demo_grid_worker"])
def test_other_roles_get_no_cockpit(browser: Callable[[str], FlaskClient], user: str) -> None:
    client = browser(user)
    assert client.get("/cockpit").status_code == 403
    assert 'href="/cockpit"' not in html(client.get("/inbox"))


def test_scope_refusals_and_bad_input_are_pages(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("leader_d1")
    assert client.get("/cockpit?unit=d2").status_code == 403
    assert client.get("/cockpit?unit=city").status_code == 403
    assert client.get("/cockpit?unit=d1-s2").status_code == 200
    r = client.get("/cockpit?unit=nowhere")
    assert r.status_code == 422 and "nowhere" in html(r)
    assert client.get("/cockpit?period=decade").status_code == 422
    picker = html(client.get("/cockpit"))
    assert 'value="d1-s1"' in picker and 'value="d2"' not in picker  # only the units below the district
    assert 'value="d1-s1-c1"' not in picker  # communities are left out of the picker


def test_wall_screen_has_no_navigation(browser: Callable[[str], FlaskClient]) -> None:
    page = html(browser("demo_leader").get("/cockpit?wall=1"))
    assert 'class="cockpit-body cockpit-wall"' in page
    assert 'class="topbar"' not in page and "mainnav" not in page
    assert '"wall": true' in page.replace("&#34;", '"') or '"wall":true' in page.replace("&#34;", '"')
    assert "退出大屏" in page and 'name="wall" value="1"' in page


def test_page_exports_and_language(browser: Callable[[str], FlaskClient]) -> None:
    from openpyxl import load_workbook
    import io
    client = browser("demo_leader")
    r = client.get("/cockpit?format=xlsx&period=month")
    assert r.status_code == 200
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.get_data())).active.iter_rows()]
    assert rows[0] == ["栏目", "项目", "数量"] and rows[1][:2] == ["受理", "合计"]
    csv = client.get("/cockpit?format=csv").get_data(as_text=True)
    assert csv.startswith("\ufeff栏目,项目,数量")
    from tests.web.pages import csrf
    client.post("/lang/en", data={"csrf_token": csrf(html(client.get("/inbox")))})
    page = html(client.get("/cockpit"))
    assert "Cockpit" in page and "Cases in" in page and "驾驶舱" not in page.split("<main")[1]


def test_case_list_shows_the_narrowing(browser: Callable[[str], FlaskClient],
                                       make_case: Callable[..., dict[str, Any]]) -> None:
    make_case()  # in d1-s1-c1: the unit's list has a case, so it offers its export
    page = html(browser("demo_leader").get("/cases?unit=d1&created_from=2031-03-01&created_to=2031-03-31"
                                           "&escalated=1&category=component:01002"))
    assert "data-narrowing" in page and "东湖区" in page and "2031-03-01 – 2031-03-31" in page
    for key, value in (("unit", "d1"), ("created_from", "2031-03-01"), ("escalated", "1"), ("category", "component:01002")):
        assert f'<input type="hidden" name="{key}" value="{value}">' in page
    with_cases = html(browser("demo_leader").get("/cases?unit=d1"))
    assert "export.csv?" in with_cases and "unit=d1" in with_cases.split("export.csv?")[1].split('"')[0]
    plain = html(browser("demo_leader").get("/cases?unit=nowhere&created_from=yesterday"))
    assert "data-narrowing" not in plain  # what the list does not offer is ignored, as before
