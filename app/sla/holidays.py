"""Statutory holidays computed from the law, for years the ``chinesecalendar`` package does not know.

The days off themselves are fixed by 《全国年节及纪念日放假办法》 (as revised in 2024, in force
from 2025): 元旦 1 day, 春节 4 days from 除夕, 清明 1 day, 劳动节 May 1–2, 端午 1 day, 中秋 1 day,
国庆 Oct 1–3. Its Article 6: a holiday of all citizens that falls on a Saturday or Sunday is
made up on working days (补假), taken — as every State Council notice does — on the next working
day(s) after the holiday. The lunar dates (除夕, 端午, 中秋) and the 清明 solar term come from
``lunar-python``.

What the law cannot tell is the yearly 调休 swap (extra days off bridged by weekend working days):
only the State Council's notice has it, so a computed year is "holidays and 补假, no 调休"
until the admin imports the notice (:mod:`app.sla.notice`). Pure computation, no database.

``tests/sla/test_holidays.py`` checks the rule against every year the package knows since the
revision took effect: every statutory day off the package lists is predicted, except the 调休 swaps.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from lunar_python import Lunar, Solar

__all__ = [
    "FIRST_LAW_YEAR",
    "FestivalRule",
    "LegalHoliday",
    "RULES_2025",
    "legal_holidays",
    "legal_rest_days",
]

_DAY = timedelta(days=1)

#: the 2024 revision applies from this year on; earlier years are the package's business
FIRST_LAW_YEAR = 2025


def _solar(year: int, month: int, day: int) -> date:
    return date(year, month, day)


def _lunar(year: int, month: int, day: int) -> date:
    """The Gregorian date of a lunar month/day of the lunar year that starts in ``year``."""
    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def _new_years_eve(year: int) -> date:
    """除夕: the last day of the twelfth lunar month (29th or 30th), the eve of 正月初一."""
    return _lunar(year, 1, 1) - _DAY


def _qingming(year: int) -> date:
    """The day of the 清明 solar term (Beijing time), April 4, 5 or 6."""
    s = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    return date(s.getYear(), s.getMonth(), s.getDay())


@dataclass(frozen=True)
class FestivalRule:
    """One holiday of the law: its name, its first day in a year, and how many days it has."""

    key: str
    name: str
    first_day: Callable[[int], date]
    days: int


#: 《全国年节及纪念日放假办法》 as revised in 2024 (Article 2, the holidays of all citizens)
RULES_2025: tuple[FestivalRule, ...] = (
    FestivalRule("new_year", "元旦", lambda y: _solar(y, 1, 1), 1),
    FestivalRule("spring_festival", "春节", _new_years_eve, 4),
    FestivalRule("tomb_sweeping", "清明节", _qingming, 1),
    FestivalRule("labour_day", "劳动节", lambda y: _solar(y, 5, 1), 2),
    FestivalRule("dragon_boat", "端午节", lambda y: _lunar(y, 5, 5), 1),
    FestivalRule("mid_autumn", "中秋节", lambda y: _lunar(y, 8, 15), 1),
    FestivalRule("national_day", "国庆节", lambda y: _solar(y, 10, 1), 3),
)


@dataclass(frozen=True)
class LegalHoliday:
    """A holiday of one year: the days the law gives and the 补假 days that make up its weekend days."""

    key: str
    name: str
    days: tuple[date, ...]
    make_up: tuple[date, ...]

    @property
    def all_days(self) -> tuple[date, ...]:
        return self.days + self.make_up


def _is_weekend(d: date) -> bool:
    return d.weekday() >= 5


def compute_holidays(year: int, rules: tuple[FestivalRule, ...]) -> tuple[LegalHoliday, ...]:
    """The holidays of ``rules`` in ``year`` with Article 6's 补假, in date order.

    Each holiday day is owed on a working day. A day that falls on a Saturday or Sunday, or on a
    day another holiday already takes (中秋 on October 1), is owed again: it is made up on the
    next working day(s) after the holiday, skipping weekends, the other holidays' days and 补假
    days given before.
    """
    spans = sorted(((rule, tuple(rule.first_day(year) + n * _DAY for n in range(rule.days))) for rule in rules),
                   key=lambda item: item[1][0])
    holiday_days = {d for _, days in spans for d in days}
    taken: set[date] = set()  # days off given so far: holiday days and 补假 days
    out: list[LegalHoliday] = []
    for rule, days in spans:
        owed = sum(1 for d in days if _is_weekend(d) or d in taken)
        taken.update(days)
        make_up: list[date] = []
        d = days[-1]
        while len(make_up) < owed:
            d += _DAY
            if not _is_weekend(d) and d not in holiday_days and d not in taken:
                make_up.append(d)
                taken.add(d)
        out.append(LegalHoliday(rule.key, rule.name, days, tuple(make_up)))
    return tuple(out)


@lru_cache(maxsize=64)
def legal_holidays(year: int) -> tuple[LegalHoliday, ...]:
    """The holidays of the current law in ``year`` (from 2025 on), with their 补假 days."""
    if year < FIRST_LAW_YEAR:
        raise ValueError(f"the 2024 holiday law applies from {FIRST_LAW_YEAR}; {year} is before it")
    return compute_holidays(year, RULES_2025)


@lru_cache(maxsize=64)
def legal_rest_days(year: int) -> Mapping[date, str]:
    """Every day off by law in ``year`` → its name (``'春节'``, ``'春节补假'``, ``'国庆节、中秋节'``),
    weekend days included. Read-only: it is cached and shared."""
    out: dict[date, str] = {}
    for holiday in legal_holidays(year):
        for d in holiday.days:
            out[d] = f"{out[d]}、{holiday.name}" if d in out else holiday.name
        for d in holiday.make_up:
            out[d] = f"{holiday.name}补假"
    return MappingProxyType(out)
