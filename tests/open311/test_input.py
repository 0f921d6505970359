"""What Open311 refuses beyond the spec's own rules (issue 10): a point outside the city's area
(``lat=-0&long=0`` was filed and routed to a community far from it), text with control characters
or with nothing to see. Each is a 400 in GeoReport's format naming the parameters; nothing is stored."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.cases.models import Case
from app.core.db import session
from tests.open311.helpers import xml


def _count(app: Flask) -> int:
    with app.app_context():
        try:
            return int(session.scalar(select(func.count(Case.id))) or 0)
        finally:
            session.remove()


def _descriptions(r: Any, fmt: str) -> list[str]:
    assert r.status_code == 400, r.get_data(as_text=True)
    if fmt == "json":
        return [e["description"] for e in r.get_json() if e["code"] == 400]
    root = xml(r)
    assert root.tag == "errors" and all(e.findtext("code") == "400" for e in root)
    return [e.findtext("description") or "" for e in root]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("lat", "lng"), [("-0", "0"), ("0", "0"), ("39.9042", "116.4074"), ("31.23", "-121.47")])
def test_a_point_outside_the_city_is_refused(app: Flask, post311: Callable[..., Any], fmt: str, lat: str, lng: str) -> None:
    before = _count(app)
    errors = _descriptions(post311(fmt, lat=lat, long=lng, address_string=None), fmt)
    assert any(e.startswith("lat: outside the city's area") for e in errors), errors
    assert any(e.startswith("long: outside the city's area") for e in errors), errors
    assert _count(app) == before


def test_a_point_in_the_city_is_filed_at_its_community(filed: Callable[..., dict[str, Any]], app: Flask) -> None:
    answer = filed(lat="31.2361", long="121.5059", address_string=None)
    with app.app_context():
        try:
            case = session.get(Case, int(answer["service_request_id"]))
            assert case is not None and case.grid_unit is not None and case.grid_unit.code == "d1-s2-c1"
        finally:
            session.remove()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_control_characters_are_refused_and_named(app: Flask, post311: Callable[..., Any], fmt: str) -> None:
    before = _count(app)
    errors = _descriptions(post311(fmt, description="私搭乱建\x1b[0m", first_name="三\x00", device_id="\x85"), fmt)
    assert {e.split(":", 1)[0] for e in errors} == {"description", "first_name", "device_id"}
    assert _count(app) == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_description_with_nothing_to_see_is_refused(app: Flask, post311: Callable[..., Any], fmt: str) -> None:
    before = _count(app)
    errors = _descriptions(post311(fmt, description="\u200b\u200b\ufeff"), fmt)
    assert errors and all(e.startswith("description:") and "invisible" in e for e in errors), errors
    assert _count(app) == before
