"""The holidays of the law (2024 revision) and Article 6's 补假, computed, checked against the package.

The computation stands in for the State Council's notice in years ``chinesecalendar`` does not
know. It is proven on the years the package knows since the revision took effect (2025, 2026):
every statutory day off the package lists is predicted, and what the package has besides is
exactly its 调休 swaps (days off bridged by weekend working days), which no rule can predict.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from app.sla import holidays as holidays_mod
from app.sla.calendar import DEFAULT_CALENDAR as CAL
from app.sla.holidays import FIRST_LAW_YEAR, legal_holidays, legal_rest_days

SH = ZoneInfo("Asia/Shanghai")


def table(year: int) -> dict[str, tuple[list[str], list[str]]]:
    """name → (days, 补假 days) as MM-DD, to compare with the law read by hand."""
    return {h.name: ([f"{d:%m-%d}" for d in h.days], [f"{d:%m-%d}" for d in h.make_up]) for h in legal_holidays(year)}


def test_2027() -> None:
    assert table(2027) == {
        "元旦": (["01-01"], []),  # Friday
        "春节": (["02-05", "02-06", "02-07", "02-08"], ["02-09", "02-10"]),  # 除夕 Fri 02-05; Sat, Sun made up
        "清明节": (["04-05"], []),  # Monday
        "劳动节": (["05-01", "05-02"], ["05-03", "05-04"]),  # Saturday and Sunday
        "端午节": (["06-09"], []),
        "中秋节": (["09-15"], []),
        "国庆节": (["10-01", "10-02", "10-03"], ["10-04", "10-05"]),  # Fri, Sat, Sun
    }


def test_2030() -> None:
    assert table(2030) == {
        "元旦": (["01-01"], []),
        "春节": (["02-02", "02-03", "02-04", "02-05"], ["02-06", "02-07"]),  # 除夕 is a Saturday
        "清明节": (["04-05"], []),
        "劳动节": (["05-01", "05-02"], []),
        "端午节": (["06-05"], []),
        "中秋节": (["09-12"], []),
        "国庆节": (["10-01", "10-02", "10-03"], []),  # Tuesday to Thursday: nothing to make up
    }


def test_make_up_days_skip_weekends_and_other_holidays() -> None:
    # 2028: 国庆 Sun 10-01..Tue 10-03 and 中秋 on Tue 10-03 itself: two days owed, Wed 10-04 and Thu 10-05.
    assert table(2028)["国庆节"] == (["10-01", "10-02", "10-03"], ["10-04"])
    assert table(2028)["中秋节"] == (["10-03"], ["10-05"])
    assert legal_rest_days(2028)[date(2028, 10, 3)] == "国庆节、中秋节"
    # 2031: 中秋 on 10-01 itself; 国庆 Wed..Fri owes that day, made up after the weekend on Mon 10-06.
    assert table(2031)["中秋节"] == (["10-01"], [])
    assert table(2031)["国庆节"] == (["10-01", "10-02", "10-03"], ["10-06"])
    # 2031: 春节 ends on Saturday 01-25, the next working day is Monday 01-27; 清明 Sat 04-05 → Mon 04-07.
    assert table(2031)["春节"][1] == ["01-27"] and table(2031)["清明节"][1] == ["04-07"]
    # 2028: 元旦 Saturday → Monday 01-03; 端午 Sunday 05-28 → Monday 05-29.
    assert table(2028)["元旦"][1] == ["01-03"] and table(2028)["端午节"][1] == ["05-29"]
    # 2033: 国庆 Sat..Mon owes two days, Tue 10-04 and Wed 10-05.
    assert table(2033)["国庆节"] == (["10-01", "10-02", "10-03"], ["10-04", "10-05"])
    # Every year: as many 补假 days as holiday days on a weekend or on another holiday's day.
    for year in range(FIRST_LAW_YEAR, 2101):
        holidays = legal_holidays(year)
        owed = seen = 0
        taken: set[date] = set()
        for h in holidays:
            owed += sum(1 for d in h.days if d.weekday() >= 5 or d in taken)
            taken.update(h.days)
            seen += len(h.make_up)
            assert all(d.weekday() < 5 for d in h.make_up), (year, h)
            assert all(m > h.days[-1] for m in h.make_up), (year, h)
        assert owed == seen, year
        assert len({d for h in holidays for d in h.make_up}) == seen, year  # no day made up twice


def test_the_law_starts_in_2025() -> None:
    with pytest.raises(ValueError, match="applies from 2025"):
        legal_holidays(2024)


def _weekday_days_off(year: int) -> set[date]:
    return {d for d in legal_rest_days(year) if d.weekday() < 5}


# The package's 调休 swaps of 2025 and 2026 (from the State Council's notices): the extra weekdays off
# and the weekend days worked for them. Nothing else of the package's days off is left unexplained.
SWAPS = {
    2025: (["02-03", "02-04", "05-05", "10-07", "10-08"], ["01-26", "02-08", "04-27", "09-28", "10-11"]),
    2026: (["01-02", "02-20", "02-23", "05-05", "10-06", "10-07"],
           ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"]),
}
# The 补假 days the law demands in those years, which the notices gave as the next working day.
MAKE_UP = {2025: ["06-02"], 2026: ["04-06", "05-04", "10-05"]}


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_rule_predicts_the_packages_statutory_days(year: int) -> None:
    days = [date(year, 1, 1) + timedelta(n) for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    package_off = {d for d in days if d.weekday() < 5 and not chinese_calendar.is_workday(d)}
    package_worked = {d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)}
    in_lieu = {d for d in days if chinese_calendar.is_in_lieu(d)}
    computed = _weekday_days_off(year)

    # What matches: every weekday the law gives off is off in the package, and is not one of its swaps.
    assert computed <= package_off and not computed & in_lieu
    # Every weekend holiday day of the law is off in the package too.
    assert not any(chinese_calendar.is_workday(d) for d in legal_rest_days(year))
    # What differs: exactly the package's 调休 swaps, balanced by as many weekend working days.
    swapped, worked = SWAPS[year]
    assert sorted(f"{d:%m-%d}" for d in package_off - computed) == swapped
    assert package_off - computed == in_lieu
    assert sorted(f"{d:%m-%d}" for d in package_worked) == worked and len(worked) == len(swapped)
    assert sorted(f"{d:%m-%d}" for h in legal_holidays(year) for d in h.make_up) == MAKE_UP[year]


# Where the package names another holiday (or none) for a festival's date: 中秋 2020 fell on 国庆's
# first day; 端午 2012 was a Saturday the package leaves unnamed (the notice gave Friday 06-22 off).
NAMED_OTHERWISE = {(2020, "Mid-autumn Festival"): "National Day", (2012, "Dragon Boat Festival"): None}


def test_lunar_dates_and_qingming_match_the_package() -> None:
    """lunar-python gives the festival dates the package has, back to 2008 (清明, 端午, 中秋 since then)."""
    for year in range(2008, 2027):
        for name, day in (("Spring Festival", holidays_mod._lunar(year, 1, 1)),
                          ("Tomb-sweeping Day", holidays_mod._qingming(year)),
                          ("Dragon Boat Festival", holidays_mod._lunar(year, 5, 5)),
                          ("Mid-autumn Festival", holidays_mod._lunar(year, 8, 15))):
            expected = NAMED_OTHERWISE.get((year, name), name)
            assert chinese_calendar.get_holiday_detail(day) == (True, expected), (year, name, day)
    for year in (2025, 2026):  # and 除夕, a holiday since the 2024 revision
        eve = holidays_mod._new_years_eve(year)
        assert chinese_calendar.get_holiday_detail(eve) == (True, "Spring Festival")
        assert eve + timedelta(days=1) == holidays_mod._lunar(year, 1, 1)


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.mark.parametrize("start,expected", [
    (sh(2026, 12, 31, 16), sh(2027, 1, 4, 16)),  # 元旦 Friday, then the weekend
    (sh(2027, 2, 4, 16), sh(2027, 2, 11, 16)),  # 春节 02-05..08 and 补假 02-09, 02-10
    (sh(2027, 9, 30, 16), sh(2027, 10, 6, 16)),  # 国庆 10-01..03 and 补假 10-04, 10-05
    (sh(2030, 2, 1, 16), sh(2030, 2, 8, 16)),  # 春节 02-02..05 and 补假 02-06, 02-07
    (sh(2030, 9, 30, 16), sh(2030, 10, 4, 16)),  # 国庆 Tuesday to Thursday
])
def test_deadlines_in_years_without_data(start: datetime, expected: datetime) -> None:
    assert CAL.add(start, "1d").astimezone(SH) == expected


def test_day_source_names_the_layer() -> None:
    assert CAL.day_source(date(2027, 2, 9)).__dict__ == {"workday": False, "source": "law", "name": "春节补假"}
    assert CAL.day_source(date(2027, 2, 11)).__dict__ == {"workday": True, "source": "law", "name": ""}
    assert CAL.day_source(date(2026, 10, 6)).__dict__ == {"workday": False, "source": "package", "name": "国庆节调休"}
    assert CAL.day_source(date(2026, 10, 10)).__dict__ == {"workday": True, "source": "package",
                                                           "name": "国庆节调休上班"}
    assert (CAL.year_source(2026), CAL.year_source(2027), CAL.year_source(2003)) == ("package", "law", "weekdays")
