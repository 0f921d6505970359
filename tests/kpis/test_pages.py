"""The KPI pages: the ranking, the drill-down list, the monthly report (stored by the scheduler's
job), the cockpit partial, and the case page's evaluation section; scope on every page."""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, render_template
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from app.core.db import session, transaction
from app.kpis.models import KpiReport
from app.orgs.models import OrgUnit
from tests.kpis.conftest import Play, t

Login = Callable[[FlaskClient, str], Any]


def test_ranking_drill_down_and_exports(app: Flask, play: Play, login: Login) -> None:
    case = play.dispatched(t("09:00", 24))
    play.finish(case, t("10:00", 24))
    play.call_back(case, t("11:00", 24))
    client = app.test_client()
    login(client, "demo_leader")
    page = client.get("/kpis?period=month&date=2026-03-24")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "考核排名" in body and 'data-group="districts"' in body and 'data-group="departments"' in body
    counts = re.findall(r"(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)", body)
    assert counts and all("." not in n + d for n, d in counts), "counts read as people count: 1 / 1, not 1.0 / 1.0"
    # the d1-sz row's on-time cell links to the cases it counts
    row = re.search(r'<tr data-unit="d1-sz">(.*?)</tr>', body, re.S)
    assert row is not None
    link = re.search(r'<td class="kpi-\w+" data-kpi="on_time_close_rate"><a href="([^"]+)"', row.group(1))
    assert link is not None
    cases = client.get(link.group(1).replace("&amp;", "&"))
    assert cases.status_code == 200 and f'data-case="{case}"' in cases.get_data(as_text=True)
    xlsx = client.get("/kpis/ranking.xlsx?from=2026-03-01&to=2026-03-31")
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("类别", "单位", "按期结案率") and len(rows) > 2
    csv = client.get("/kpis/cases.csv?unit=d1-sz&key=on_time_close_rate&part=numerator&from=2026-03-24&to=2026-03-24")
    assert csv.status_code == 200 and f"{case:06d}" in csv.data.decode("utf-8-sig")


def test_pages_refuse_other_roles_and_units(app: Flask, login: Login) -> None:
    client = app.test_client()
    login(client, "demo_handler")
    assert client.get("/kpis").status_code == 403
    client = app.test_client()
    login(client, "leader_d2")
    assert client.get("/kpis?unit=d1").status_code == 403
    assert client.get("/kpis/report/d1/2026-03").status_code == 403
    page = client.get("/kpis")
    assert page.status_code == 200 and 'data-unit="d1-sz"' not in page.get_data(as_text=True)
    assert client.get("/kpis/figures.json?unit=d2").get_json()["unit"] == "d2"


def test_monthly_report_is_stored_and_listed(app: Flask, play: Play, login: Login) -> None:
    from app.kpis.reports import store_month
    from datetime import date
    play.at(t("09:00", 31))
    with app.app_context(), transaction():
        assert store_month(date(2026, 3, 1)) >= 2  # the city and every district
    with app.app_context():
        city = session.scalar(select(OrgUnit).where(OrgUnit.code == "city"))
        assert session.scalar(select(KpiReport).where(KpiReport.unit_id == city.id, KpiReport.month == "2026-03"))
    client = app.test_client()
    login(client, "demo_leader")
    listing = client.get("/kpis/reports").get_data(as_text=True)
    assert "/kpis/report/city/2026-03" in listing
    report = client.get("/kpis/report/city/2026-03")
    assert report.status_code == 200 and "月度考核报告" in report.get_data(as_text=True) and "data-print" in report.get_data(as_text=True)
    assert client.get("/kpis/report/d1/2026-02").status_code == 200  # on demand, not stored
    assert client.get("/kpis/report/d1/2026-13").status_code == 404


def test_case_page_shows_why_the_case_counts(app: Flask, play: Play, login: Login, api: Any) -> None:
    case = play.dispatched(t("09:00", 25))
    play.finish(case, t("16:00", 25))  # due 14:30: late
    client = app.test_client()
    login(client, "demo_leader")
    body = client.get(f"/cases/{case}").get_data(as_text=True)
    assert "evaluation-title" in body and 'data-fact="closed_late"' in body and "2026-03-25 14:30" in body
    r = api("demo_leader").get(f"/api/v1/cases/{case}/evaluation").get_json()
    late = [f for f in r["facts"] if f["fact"] == "closed_late"][0]
    assert {e["key"]: e["value"] for e in late["evidence"]} == {"deadline": "2026-03-25 14:30", "finished": "2026-03-25 16:00"}
    assert api("handler_d2_sz").get(f"/api/v1/cases/{case}/evaluation").status_code == 403


def test_the_cockpit_partial_draws_the_kpis(app: Flask) -> None:
    with app.test_request_context("/cockpit"):
        city = session.scalar(select(OrgUnit).where(OrgUnit.code == "city"))
        html = render_template("cockpit/_kpis.html", cockpit_unit=city, cockpit_period="month", wall=True)
    assert 'data-kpi="on_time_close_rate"' in html and "cockpit-kpis-wall" in html
    assert "vendor/cockpit-kpis.js" in html and "<script>" not in html
