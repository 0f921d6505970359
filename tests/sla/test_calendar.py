"""Working-time calendar: deadlines across weekends, statutory holidays, 调休 and years without data."""
from __future__ import annotations

import logging
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.sla import calendar as cal_mod
from app.sla.calendar import DEFAULT_CALENDAR, WorkingCalendar, parse_limit

SH = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
CAL = DEFAULT_CALENDAR


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A Beijing-time moment, the way operators read deadlines."""
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def due(start: datetime, limit: str | int, cal: WorkingCalendar = CAL) -> datetime:
    """Due moment back in Beijing time, after checking it comes out in UTC."""
    result = cal.add(start, limit)
    assert result.tzinfo is UTC
    return result.astimezone(SH)


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which unknown years were already warned about, so each test sees its warning."""
    monkeypatch.setattr(cal_mod, "_warned_years", set())


# -- parse_limit ---------------------------------------------------------------------------


def test_parse_limit_hours_and_days() -> None:
    assert parse_limit("1h") == 60
    assert parse_limit("24h") == 1440
    assert parse_limit("1d") == 420
    assert parse_limit("3d") == parse_limit("21h") == 1260
    assert parse_limit(" 2d ") == 840


@pytest.mark.parametrize(
    "text", ["", "h", "0h", "0d", "-1d", "+2h", "1.5h", "3", "3m", "3 h", "3H", "2w", "３h", "1d2h"]
)
def test_parse_limit_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="time limit"):
        parse_limit(text)


def test_parse_limit_stops_at_a_year_of_working_days() -> None:
    """A longer limit is a typing error; its deadline would walk the calendar for centuries."""
    assert parse_limit("365d") == 365 * 420 and parse_limit("2555h") == 2555 * 60
    assert parse_limit("0000000000001d") == 420  # leading zeros make it no longer
    for text in ("366d", "2556h", "9999999d", "9" * 5000 + "h"):
        with pytest.raises(ValueError, match="at most 365 working days"):
            parse_limit(text)


def test_parse_limit_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="time limit"):
        parse_limit(None)  # type: ignore[arg-type]


def test_day_length_follows_periods() -> None:
    cal = WorkingCalendar(periods=((time(8, 0), time(12, 0)), (time(14, 0), time(18, 0))))
    assert cal.day_length_minutes == 480
    assert parse_limit("3d", cal) == 1440
    assert cal.limit_minutes("1d") == 480
    assert CAL.day_length_minutes == 420


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "periods",
    [
        (),
        ((time(12, 0), time(9, 0)),),
        ((time(9, 0), time(9, 0)),),
        ((time(9, 0), time(12, 0)), (time(11, 0), time(17, 0))),
        ((time(13, 30), time(17, 30)), (time(9, 0), time(12, 0))),
        ((time(9, 0, 30), time(12, 0)),),
        ((time(9, 0), time(12, 0), time(13, 0)),),
        (("09:00", "12:00"),),
    ],
)
def test_invalid_periods_rejected(periods: tuple) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(periods=periods)


def test_adjacent_periods_allowed_and_config_is_hashable() -> None:
    lists = [[time(9, 0), time(12, 0)], [time(12, 0), time(13, 0)]]
    cal = WorkingCalendar(periods=lists)  # type: ignore[arg-type]
    assert cal.day_length_minutes == 240
    assert hash(cal) == hash(WorkingCalendar(periods=((time(9), time(12)), (time(12), time(13)))))


def test_invalid_zone_and_dates_rejected() -> None:
    with pytest.raises(ValueError, match="time zone"):
        WorkingCalendar(tz="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="extra_holidays"):
        WorkingCalendar(extra_holidays=frozenset({datetime(2025, 6, 10, 0, 0)}))


def test_naive_and_bad_limits_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add(datetime(2025, 6, 9, 10, 0), "1h")
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_minutes_between(sh(2025, 6, 9, 10), datetime(2025, 6, 9, 11, 0))
    with pytest.raises(ValueError):
        CAL.add(sh(2025, 6, 9, 10), -5)
    with pytest.raises(ValueError):
        CAL.add(sh(2025, 6, 9, 10), True)
    with pytest.raises(ValueError):
        CAL.add(sh(2025, 6, 9, 10), "2x")


# -- days ----------------------------------------------------------------------------------


def test_is_workday_statutory_data() -> None:
    assert CAL.is_workday(date(2025, 6, 9))  # Monday
    assert not CAL.is_workday(date(2025, 6, 7))  # Saturday
    for d in range(1, 9):
        assert not CAL.is_workday(date(2025, 10, d)), f"2025-10-0{d} is National Day"
    assert CAL.is_workday(date(2025, 9, 28))  # Sunday, make-up workday
    assert CAL.is_workday(date(2025, 10, 11))  # Saturday, make-up workday
    # Spring Festival 2026 (chinesecalendar 1.11): 02-15..02-23 off, Saturdays 02-14, 02-28 worked.
    for d in range(15, 24):
        assert not CAL.is_workday(date(2026, 2, d))
    assert CAL.is_workday(date(2026, 2, 14))
    assert CAL.is_workday(date(2026, 2, 28))
    with pytest.raises(ValueError):
        CAL.is_workday(datetime(2025, 6, 9, 10, 0))


def test_extra_days_override_statutory_calendar() -> None:
    cal = WorkingCalendar(
        extra_holidays=frozenset({date(2025, 6, 10), date(2025, 10, 3)}),
        extra_workdays=frozenset({date(2025, 10, 3), date(2025, 6, 14)}),
    )
    assert not cal.is_workday(date(2025, 6, 10))  # Tuesday made a holiday
    assert cal.is_workday(date(2025, 6, 14))  # Saturday made a workday
    assert cal.is_workday(date(2025, 10, 3))  # listed in both: the workday wins
    assert due(sh(2025, 6, 9, 17), "1h", cal) == sh(2025, 6, 11, 9, 30)
    assert due(sh(2025, 9, 30, 17), "1h", cal) == sh(2025, 10, 3, 9, 30)
    assert due(sh(2025, 6, 13, 17), "1h", cal) == sh(2025, 6, 14, 9, 30)


def test_a_year_without_data_uses_the_law_with_one_warning(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=cal_mod.__name__)
    # The package does not know 2031: 元旦 (Wednesday 01-01) comes from the law, no 调休.
    assert not CAL.is_workday(date(2031, 1, 1))
    assert CAL.is_workday(date(2031, 1, 2)) and not CAL.is_workday(date(2031, 1, 4))
    assert due(sh(2031, 1, 3, 17), "1h") == sh(2031, 1, 6, 9, 30)
    assert due(sh(2031, 1, 3, 9), "5d") == sh(2031, 1, 9, 17, 30)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "2031" in message and "补假" in message and "Import the notice" in message
    assert due(sh(2030, 12, 31, 17), "1h") == sh(2031, 1, 2, 9, 30)  # 2030 warns once for itself
    # The admin list still overrides it.
    cal = WorkingCalendar(extra_holidays=frozenset({date(2031, 1, 6)}), extra_workdays=frozenset({date(2031, 1, 1)}))
    assert due(sh(2031, 1, 3, 17), "1h", cal) == sh(2031, 1, 7, 9, 30)
    assert due(sh(2030, 12, 31, 17), "1h", cal) == sh(2031, 1, 1, 9, 30)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_a_year_before_the_law_and_the_package_counts_monday_to_friday(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=cal_mod.__name__)
    assert CAL.is_workday(date(2003, 1, 1))  # before chinesecalendar's data and before the 2024 law
    assert CAL.day_source(date(2003, 1, 1)).source == "weekdays"
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 1 and "Monday-Friday" in messages[0] and "2003" in messages[0]


def test_each_unknown_year_warned_separately(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=cal_mod.__name__)
    CAL.working_minutes_between(sh(2032, 12, 1), sh(2033, 2, 1))
    years = sorted(m for r in caplog.records for m in ("2032", "2033") if m in r.getMessage())
    assert years == ["2032", "2033"]


# -- add -----------------------------------------------------------------------------------


def test_lunch_break_is_skipped() -> None:
    assert due(sh(2025, 6, 9, 11), "2h") == sh(2025, 6, 9, 14, 30)


def test_limit_ending_at_period_end_stays_there() -> None:
    assert due(sh(2025, 6, 9, 11), "1h") == sh(2025, 6, 9, 12, 0)
    assert due(sh(2025, 6, 9, 9), "3h") == sh(2025, 6, 9, 12, 0)
    assert due(sh(2025, 6, 9, 9), "1d") == sh(2025, 6, 9, 17, 30)
    assert due(sh(2025, 6, 9, 9), 181) == sh(2025, 6, 9, 13, 31)
    # Starting exactly at 12:00 the clock waits for 13:30.
    assert due(sh(2025, 6, 9, 12), "1h") == sh(2025, 6, 9, 14, 30)


def test_start_outside_working_time() -> None:
    assert due(sh(2025, 6, 9, 7, 15), "1h") == sh(2025, 6, 9, 10, 0)  # before office hours
    assert due(sh(2025, 6, 9, 12, 45), "1h") == sh(2025, 6, 9, 14, 30)  # lunch
    assert due(sh(2025, 6, 9, 17, 30), "1h") == sh(2025, 6, 10, 10, 0)  # at closing time
    assert due(sh(2025, 6, 9, 19, 0), "2h") == sh(2025, 6, 10, 11, 0)  # evening
    assert due(sh(2025, 6, 7, 10, 0), "2h") == sh(2025, 6, 9, 11, 0)  # Saturday


def test_across_weekend() -> None:
    assert due(sh(2025, 6, 13, 16), "4h") == sh(2025, 6, 16, 11, 30)  # Fri → Mon
    assert due(sh(2025, 6, 13, 10), "3d") == sh(2025, 6, 18, 10, 0)  # Fri → Wed
    assert due(sh(2025, 6, 13, 10), "3d") == due(sh(2025, 6, 13, 10), "21h")


def test_national_day_2025() -> None:
    assert due(sh(2025, 9, 30, 16), "1d") == sh(2025, 10, 9, 16, 0)
    assert due(sh(2025, 9, 27, 10), "2h") == sh(2025, 9, 28, 11, 0)  # Sat → make-up Sunday
    assert due(sh(2025, 10, 10, 17), "1h") == sh(2025, 10, 11, 9, 30)  # Fri → make-up Saturday
    assert due(sh(2025, 10, 3, 10), "1h") == sh(2025, 10, 9, 10, 0)  # filed during the holiday


def test_spring_festival_2026() -> None:
    assert due(sh(2026, 2, 13, 17), "2h") == sh(2026, 2, 14, 10, 30)  # make-up Saturday 02-14
    assert due(sh(2026, 2, 14, 17), "1h") == sh(2026, 2, 24, 9, 30)  # nine days off
    assert due(sh(2026, 2, 27, 17), "1h") == sh(2026, 2, 28, 9, 30)  # make-up Saturday 02-28


def test_year_end() -> None:
    # 90 min on 12-31, New Year 01-01..03 off, Sunday 01-04 is a make-up workday.
    assert due(sh(2025, 12, 31, 16), "1d") == sh(2026, 1, 4, 16, 0)


def test_any_input_zone_result_in_utc() -> None:
    start = datetime(2025, 6, 9, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    assert CAL.add(start, "1h") == datetime(2025, 6, 9, 2, 0, tzinfo=UTC)
    ny = datetime(2025, 6, 8, 21, 0, tzinfo=ZoneInfo("America/New_York"))  # Mon 09:00 Beijing
    assert CAL.add(ny, "1h") == datetime(2025, 6, 9, 2, 0, tzinfo=UTC)
    assert CAL.add(start, 0) == start


def test_long_limit() -> None:
    start = sh(2025, 9, 1, 9)
    end = due(start, "60d")
    days = (date(2025, 9, 1) + timedelta(n) for n in range(120))
    workdays = [d for d in days if CAL.is_workday(d)]
    assert end == datetime.combine(workdays[59], time(17, 30), tzinfo=SH)
    assert CAL.working_minutes_between(start, end) == 60 * 420


# -- working_minutes_between -----------------------------------------------------------------


def test_working_minutes_between_basics() -> None:
    assert CAL.working_minutes_between(sh(2025, 6, 9, 11), sh(2025, 6, 9, 14, 30)) == 120
    assert CAL.working_minutes_between(sh(2025, 6, 9, 14), sh(2025, 6, 9, 11)) == 0
    assert CAL.working_minutes_between(sh(2025, 6, 9, 11), sh(2025, 6, 9, 11)) == 0
    assert CAL.working_minutes_between(sh(2025, 6, 7, 0), sh(2025, 6, 9, 0)) == 0  # weekend
    assert CAL.working_minutes_between(sh(2025, 9, 30, 16), sh(2025, 10, 9, 16)) == 420
    two_minutes_less_a_second = sh(2025, 6, 9, 9) + timedelta(seconds=119)
    assert CAL.working_minutes_between(sh(2025, 6, 9, 9), two_minutes_less_a_second) == 1
    # A year: every workday counts 7 hours.
    year = [date(2025, 1, 1) + timedelta(n) for n in range(365)]
    expected = sum(CAL.is_workday(d) for d in year) * 420
    assert CAL.working_minutes_between(sh(2025, 1, 1), sh(2026, 1, 1)) == expected


def _brute_add(cal: WorkingCalendar, start: datetime, minutes: int) -> datetime:
    """Reference: walk minute by minute in Beijing time (whole-minute starts only)."""
    t = start.astimezone(SH).replace(tzinfo=None)
    while minutes > 0:
        if not cal.is_workday(t.date()):
            t = datetime.combine(t.date() + timedelta(days=1), time(0, 0))
            continue
        if any(s <= t.time() < e for s, e in cal.periods):
            minutes -= 1
        t += timedelta(minutes=1)
    return t.replace(tzinfo=SH)


def _random_start(rng: random.Random) -> datetime:
    base = datetime(2024, 12, 20, tzinfo=UTC)
    zone = rng.choice([SH, UTC, ZoneInfo("America/New_York"), ZoneInfo("Europe/London")])
    return (base + timedelta(minutes=rng.randrange(0, 400 * 24 * 60))).astimezone(zone)


def test_add_matches_minute_by_minute_reference() -> None:
    rng = random.Random(12345)
    for _ in range(60):
        start = _random_start(rng)
        minutes = rng.randint(1, 2 * 420)
        assert CAL.add(start, minutes) == _brute_add(CAL, start, minutes), (start, minutes)


def test_working_minutes_between_inverts_add() -> None:
    rng = random.Random(20251001)
    limits = ["1h", "2h", "3h", "4h", "7h", "8h", "1d", "2d", "3d", "5d", "10d", "20d", "60d"]
    for _ in range(300):
        start = _random_start(rng)
        limit: str | int = rng.choice(limits) if rng.random() < 0.5 else rng.randint(1, 30 * 420)
        minutes = CAL.limit_minutes(limit)
        end = CAL.add(start, limit)
        assert end >= start
        assert CAL.working_minutes_between(start, end) == minutes, (start, limit)
        # Splitting a limit in two gives the same due moment.
        first = rng.randint(1, minutes) if minutes > 1 else 1
        if first < minutes:
            assert CAL.add(CAL.add(start, first), minutes - first) == end, (start, limit, first)


# -- 2026: National Day, make-up working days, the year end into a year without data ---------------


def test_statutory_data_for_2026() -> None:
    # National Day and Mid-autumn 2026 (chinesecalendar 1.11): 10-01..10-07 off, Sunday 09-20 and
    # Saturday 10-10 are make-up working days; Saturday 05-09 makes up for Labour Day.
    for d in range(1, 8):
        assert not CAL.is_workday(date(2026, 10, d)), f"2026-10-0{d} is National Day"
    assert CAL.is_workday(date(2026, 10, 8)) and CAL.is_workday(date(2026, 10, 9))
    for make_up in (date(2026, 9, 20), date(2026, 10, 10), date(2026, 5, 9), date(2026, 1, 4)):
        assert make_up.weekday() >= 5 and CAL.is_workday(make_up), make_up
    assert cal_mod.statutory_workday(date(2026, 10, 10)) is True
    assert cal_mod.statutory_workday(date(2026, 10, 5)) is False
    assert cal_mod.statutory_workday(date(2027, 1, 4)) is None  # a year the package does not know
    assert cal_mod.statutory_years() == (2004, 2026)


def test_national_day_2026() -> None:
    assert due(sh(2026, 9, 30, 16), "1d") == sh(2026, 10, 8, 16, 0)  # 90 min, a week off, 330 min
    assert due(sh(2026, 9, 30, 16, 30), "10h") == sh(2026, 10, 9, 11, 0)
    assert due(sh(2026, 10, 2, 10), "2h") == sh(2026, 10, 8, 11, 0)  # filed during the holiday
    assert due(sh(2026, 10, 9, 17), "1h") == sh(2026, 10, 10, 9, 30)  # Fri → make-up Saturday
    assert due(sh(2026, 9, 18, 17), "2h") == sh(2026, 9, 20, 10, 30)  # Fri → make-up Sunday 09-20
    assert due(sh(2026, 9, 24, 17), "1h") == sh(2026, 9, 28, 9, 30)  # Mid-autumn Friday 09-25 off
    assert CAL.working_minutes_between(sh(2026, 9, 30, 9), sh(2026, 10, 9, 9)) == 2 * 420


def test_lunch_break_on_a_make_up_day() -> None:
    assert due(sh(2026, 10, 10, 11), "2h") == sh(2026, 10, 10, 14, 30)
    # Sat 10-10 from lunch: 4 h; Sunday off; Mon–Wed 3 × 7 h; Thu 10-15 5 h → 15:30.
    assert due(sh(2026, 10, 10, 12, 15), "30h") == sh(2026, 10, 15, 15, 30)


def test_year_end_into_a_year_without_data(fresh_warnings: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=cal_mod.__name__)
    # Thu 12-31 90 min; 元旦 2027 (Friday 01-01) is computed from the law; Mon 01-04 330 → Tue 01-05.
    assert due(sh(2026, 12, 31, 16), "2d") == sh(2027, 1, 5, 16, 0)
    assert due(sh(2026, 12, 31, 16), "1d") == sh(2027, 1, 4, 16, 0)  # the case: not on 元旦
    assert due(sh(2026, 12, 31, 17), "1h") == sh(2027, 1, 4, 9, 30)
    assert CAL.working_minutes_between(sh(2026, 12, 31, 9), sh(2027, 1, 5, 9)) == 2 * 420
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "2027" in warnings[0].getMessage() and "without the yearly 调休" in warnings[0].getMessage()
    # An admin who makes New Year's Day 2027 a working day wins over the law, still one warning.
    listed = WorkingCalendar(extra_workdays=frozenset({date(2027, 1, 1)}))
    assert due(sh(2026, 12, 31, 16), "2d", listed) == sh(2027, 1, 4, 16, 0)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


# -- WORK_PERIODS notation -----------------------------------------------------------------


def test_parse_periods() -> None:
    assert cal_mod.parse_periods("09:00-12:00,13:30-17:30") == cal_mod.DEFAULT_PERIODS
    assert cal_mod.parse_periods(" 8:00 - 12:00 , 14:00-18:00 ") == ((time(8), time(12)), (time(14), time(18)))
    assert cal_mod.format_periods(cal_mod.DEFAULT_PERIODS) == "09:00-12:00,13:30-17:30"


@pytest.mark.parametrize("text,message", [
    ("", "09:00-12:00"),
    ("9-12", "HH:MM-HH:MM"),
    ("09:00-12:00;13:30-17:30", "HH:MM-HH:MM"),
    ("09:00-12:00,", "HH:MM-HH:MM"),
    ("09:00-24:00", "impossible time"),
    ("09:60-12:00", "impossible time"),
    ("０９:00-12:00", "HH:MM-HH:MM"),
])
def test_parse_periods_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cal_mod.parse_periods(text)


def test_parsed_periods_drive_the_calendar() -> None:
    cal = WorkingCalendar(periods=cal_mod.parse_periods("08:00-12:00,14:00-18:00"))
    assert cal.day_length_minutes == 480
    assert due(sh(2026, 10, 9, 11), "2h", cal) == sh(2026, 10, 9, 15, 0)
