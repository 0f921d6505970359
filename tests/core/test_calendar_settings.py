"""The working-time settings (office hours, calendar zone) are checked when the settings load."""
from __future__ import annotations

from datetime import time

import pytest

from app.config import ConfigError, load_settings


def test_defaults() -> None:
    settings = load_settings({"ENV": "testing"})
    assert settings.WORK_PERIODS == "09:00-12:00,13:30-17:30" and settings.CALENDAR_TZ == "Asia/Shanghai"
    assert settings.work_periods == ((time(9), time(12)), (time(13, 30), time(17, 30)))


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGGUAN_WORK_PERIODS", "08:30-12:00, 14:00-17:30")
    monkeypatch.setenv("TONGGUAN_CALENDAR_TZ", "Asia/Urumqi")
    settings = load_settings({"ENV": "testing"})
    assert settings.work_periods == ((time(8, 30), time(12)), (time(14), time(17, 30)))
    assert settings.CALENDAR_TZ == "Asia/Urumqi"


@pytest.mark.parametrize("periods,message", [
    ("9-12", r"TONGGUAN_WORK_PERIODS '9-12' is invalid: .*HH:MM-HH:MM"),
    ("", "TONGGUAN_WORK_PERIODS '' is invalid"),
    ("13:30-17:30,09:00-12:00", "ordered and non-overlapping"),
    ("09:00-12:00,11:00-14:00", "overlaps"),
    ("12:00-09:00", "start must be before end"),
    ("09:00-25:00", "impossible time"),
])
def test_bad_work_periods_are_refused(periods: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"ENV": "testing", "WORK_PERIODS": periods})


@pytest.mark.parametrize("zone", ["Beijing", "", "../etc/passwd"])
def test_bad_calendar_zone_is_refused(zone: str) -> None:
    with pytest.raises(ConfigError, match="TONGGUAN_CALENDAR_TZ must be an IANA time zone"):
        load_settings({"ENV": "testing", "CALENDAR_TZ": zone})
