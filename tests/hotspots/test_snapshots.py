"""Stored hot spot lists (app/hotspots/snapshots.py): served while fresh, computed again when old,
refreshed by the scheduler for the lists asked for, never served from a clock set back."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.core import clock
from app.core.db import session, transaction
from app.hotspots.models import HotspotSnapshot
from app.hotspots.snapshots import refresh
from app.scheduler import hotspot_job
from tests.hotspots.test_api import NOISE

START = date(2031, 9, 1)  # a window no other test files cases in


@pytest.fixture()
def stored(app: Flask) -> Iterator[None]:
    """The lists kept for five minutes, as in production (the suite computes them every time)."""
    settings = app.config["SETTINGS"]
    settings.HOTSPOT_MAX_AGE = 300
    yield
    settings.HOTSPOT_MAX_AGE = 0
    with app.app_context(), transaction():
        session.execute(delete(HotspotSnapshot))


def _noise(make_case: Callable[..., dict[str, Any]], n: int, first: int = 0) -> list[int]:
    """``n`` reports of one noise problem, each from another caller (a caller's exact repeat is merged at once)."""
    return [make_case(**NOISE, reporter={"name": f"业主{i}", "phone": f"13809{clock.now():%d%H}{i:02d}"})["id"]
            for i in range(first, first + n)]


def test_a_fresh_list_is_served_until_it_ages_out(stored: None, api: Callable[[str], Any], at_time: Callable[[str], Any],
                                                  make_case: Callable[..., dict[str, Any]]) -> None:
    at_time(f"{START}T09:00:00+08:00")
    ids = _noise(make_case, 2)
    at_time(f"{START}T10:00:00+08:00")
    first = api("leader_d1").get("/api/v1/hotspots?days=3").get_json()
    assert [sorted(h["case_ids"]) for h in first["hotspots"]] == [ids]
    assert first["computed_at"].startswith(f"{START}T02:00:00")  # UTC
    ids += _noise(make_case, 1, first=2)  # a third report, filed at 10:00 too
    at_time(f"{START}T10:04:00+08:00")
    again = api("leader_d1").get("/api/v1/hotspots?days=3").get_json()
    assert again == first  # the stored list: 4 minutes old
    assert api("leader_d1").get("/cockpit/hotspots?days=3").status_code in (200, 302)
    at_time(f"{START}T10:06:00+08:00")
    later = api("leader_d1").get("/api/v1/hotspots?days=3").get_json()
    assert [sorted(h["case_ids"]) for h in later["hotspots"]] == [sorted(ids)] and later["hotspots"][0]["reports"] == 3
    assert later["computed_at"].startswith(f"{START}T02:06:00")


def test_exports_and_answers_of_a_stored_list_hold_the_same_figures(stored: None, api: Callable[[str], Any],
                                                                    at_time: Callable[[str], Any],
                                                                    make_case: Callable[..., dict[str, Any]]) -> None:
    at_time(f"{START + timedelta(days=5)}T09:00:00+08:00")
    ids = _noise(make_case, 3)
    at_time(f"{START + timedelta(days=5)}T10:00:00+08:00")
    body = api("leader_d1").get("/api/v1/hotspots?days=2").get_json()  # computed and stored
    stored_csv = api("leader_d1").get("/api/v1/hotspots?days=2&format=csv").get_data(as_text=True)  # from the store
    [row] = [line for line in stored_csv.splitlines()[1:] if line]
    assert row.startswith("1,") and " ".join(map(str, sorted(ids))) in row and ",3,3," in row
    assert body["hotspots"][0]["first_at"] == api("leader_d1").get("/api/v1/hotspots?days=2").get_json()["hotspots"][0]["first_at"]


def test_a_list_from_a_later_clock_is_not_served(stored: None, api: Callable[[str], Any], at_time: Callable[[str], Any],
                                                 make_case: Callable[..., dict[str, Any]]) -> None:
    at_time(f"{START + timedelta(days=10)}T09:00:00+08:00")
    _noise(make_case, 2)
    at_time(f"{START + timedelta(days=10)}T10:00:00+08:00")
    assert len(api("leader_d1").get("/api/v1/hotspots?days=3").get_json()["hotspots"]) == 1
    at_time(f"{START + timedelta(days=10)}T08:00:00+08:00")  # set back: before the cases were filed
    assert api("leader_d1").get("/api/v1/hotspots?days=3").get_json()["hotspots"] == []


def test_the_scheduler_refreshes_what_was_asked_for_and_drops_what_nobody_wants(
        stored: None, app: Flask, api: Callable[[str], Any], at_time: Callable[[str], Any],
        make_case: Callable[..., dict[str, Any]]) -> None:
    day = START + timedelta(days=15)
    at_time(f"{day}T09:00:00+08:00")
    ids = _noise(make_case, 2)
    at_time(f"{day}T10:00:00+08:00")
    api("leader_d1").get("/api/v1/hotspots?days=3")
    ids += _noise(make_case, 1, first=2)
    at_time(f"{day}T10:03:00+08:00")  # past half the age (150 s): due
    hotspot_job(app)
    with app.app_context():
        [row] = session.execute(select(HotspotSnapshot)).scalars().all()
        assert row.computed_at == clock.now() and str(sorted(ids)[-1]) in row.payload
        assert refresh(clock.now()) == (0, 0)  # fresh now: nothing due
        session.remove()
    at_time(f"{day}T10:04:00+08:00")
    body = api("leader_d1").get("/api/v1/hotspots?days=3").get_json()  # served from the refreshed list
    assert body["computed_at"].startswith(f"{day}T02:03:00") and body["hotspots"][0]["reports"] == 3
    at_time(f"{day + timedelta(days=3)}T10:00:00+08:00")
    with app.app_context():
        assert refresh(clock.now()) == (0, 0)  # asked for 3 days ago: no longer refreshed, kept
        session.remove()
    at_time(f"{day + timedelta(days=8)}T10:00:00+08:00")
    with app.app_context():
        assert refresh(clock.now()) == (0, 1)  # asked for over a week ago: dropped
        assert session.execute(select(HotspotSnapshot)).first() is None
        session.remove()


def test_zero_max_age_stores_nothing(app: Flask, api: Callable[[str], Any]) -> None:
    assert app.config["SETTINGS"].HOTSPOT_MAX_AGE == 0
    assert api("leader_d1").get("/api/v1/hotspots?days=3").status_code == 200
    with app.app_context():
        assert session.execute(select(HotspotSnapshot)).first() is None
        assert refresh(clock.now()) == (0, 0)
        session.remove()
