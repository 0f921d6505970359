"""The cockpit map's page (/cockpit/map) and its partial (cockpit/_map.html, which the cockpit page
includes): for leaders, supervisors and admins over the unit, its options for the script, the
session's access to the map's data (the script calls the API with the page's cookie)."""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import select

from app.core.db import session
from app.orgs.models import OrgUnit
from tests.web.pages import html


def options(page: str) -> dict:
    m = re.search(r"data-cockpit-map='([^']+)'", page)
    assert m, "no data-cockpit-map element"
    return json.loads(m.group(1).replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))


def test_the_page_for_a_city_leader(browser: Callable[[str], FlaskClient]) -> None:
    r = browser("demo_leader").get("/cockpit/map")
    assert r.status_code == 200
    page = html(r)
    assert "案件地图 · 示范市" in page and "vendor/cockpit-map.js" in page and "vendor/cockpit-map.css" in page
    opts = options(page)
    assert opts["unit"] == "city" and opts["wall"] is False and opts["refresh"] == 60
    assert opts["data"] == "/api/v1/cockpit/map" and opts["cases"] == "/api/v1/cockpit/map/cases"
    assert opts["boundaries"] == "/map/boundaries" and opts["tiles"] is None  # no tile server configured
    (south, west), (north, east) = opts["bounds"]
    assert south < 31.2 < north and west < 121.45 < east
    assert opts["texts"]["lights"] == {"green": "正常", "yellow": "临期", "red": "超期", "none": "无时限"}
    for layer in ("clusters", "heat", "boundaries"):
        assert f'data-layer="{layer}"' in page
    assert "<script>" not in page  # the CSP allows no inline script
    wall = html(browser("demo_leader").get("/cockpit/map?wall=1"))
    assert "cockpit-map-wall" in wall and options(wall)["wall"] is True


def test_a_district_leader_gets_their_district_and_no_other(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("leader_d1")
    page = html(client.get("/cockpit/map"))
    assert options(page)["unit"] == "d1" and "东湖区" in page
    (south, _w), (north, _e) = options(page)["bounds"]
    assert north - south < 0.1  # the district, not the whole city
    assert client.get("/cockpit/map?unit=d1-s1").status_code == 200
    assert client.get("/cockpit/map?unit=d2").status_code == 403
    assert client.get("/cockpit/map?unit=city").status_code == 403
    # the script's calls with the page's cookie
    r = client.get("/api/v1/cockpit/map", query_string={"bbox": "31.15,121.35,31.30,121.55", "zoom": 12})
    assert r.status_code == 200 and r.get_json()["unit"]["code"] == "d1"
    assert client.get("/api/v1/cockpit/map", query_string={"bbox": "31.15,121.35,31.30,121.55", "zoom": 12,
                                                           "unit": "d2"}).status_code == 403


def test_other_roles_are_refused(browser: Callable[[str], FlaskClient], client: FlaskClient) -> None:
    for user in ("demo_operator", "demo_handler"):
        assert browser(user).get("/cockpit/map").status_code == 403, user
    assert browser("demo_supervisor").get("/cockpit/map").status_code == 200
    assert browser("demo_admin").get("/cockpit/map").status_code == 200
    r = client.get("/cockpit/map")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_partial_renders_for_the_cockpit_page(app: Flask) -> None:
    """The cockpit page passes an OrgUnit as ``cockpit_unit`` and ``wall``."""
    with app.test_request_context("/cockpit"):
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "d2"))
        out = render_template_string('{% include "cockpit/_map.html" ignore missing %}', cockpit_unit=unit, wall=True)
    assert "cockpit-map-wall" in out
    assert options(out)["unit"] == "d2" and options(out)["wall"] is True
    with app.test_request_context("/cockpit"):
        plain = render_template_string('{% include "cockpit/_map.html" %}', cockpit_unit=unit)
    assert "cockpit-map-wall" not in plain and options(plain)["wall"] is False
