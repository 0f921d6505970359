"""Working-time calendar for task deadlines (办结时限).

Limits on user tasks are written as ``'<N>h'`` (working hours) or ``'<N>d'`` (working days), so a
deadline depends on office hours, weekends, statutory holidays and make-up working days (调休).
Which days are working days, strongest first (``docs/calendar.md``):

1. the admin's single extra days (``extra_holidays`` / ``extra_workdays``);
2. the State Council's yearly notice, where the admin imported it for that year (``notice_*``):
   its days off and make-up working days, every other day Monday to Friday;
3. the ``chinesecalendar`` package's data, as is, for the years it knows;
4. the law's holidays with their 补假, computed (:mod:`app.sla.holidays`), for later years: right
   except for the yearly 调休 swaps, which only the notice has.

This module is pure computation; the product's calendar (office hours from the settings plus the
lists in the database) is :func:`app.sla.service.current_calendar`.

Time is counted on the wall clock of the calendar's zone (``Asia/Shanghai`` has no DST); inputs
may be in any zone, results are aware datetimes in UTC, as stored in the database.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from app.sla.holidays import FIRST_LAW_YEAR, legal_rest_days

__all__ = [
    "DEFAULT_CALENDAR",
    "DEFAULT_PERIODS",
    "DaySource",
    "WorkingCalendar",
    "format_periods",
    "parse_limit",
    "parse_periods",
    "statutory_workday",
    "statutory_years",
]

log = logging.getLogger(__name__)

Period = tuple[time, time]

#: Office hours of the operations centre: morning and afternoon, lunch break in between.
DEFAULT_PERIODS: tuple[Period, ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

_LIMIT_RE = re.compile(r"\s*([0-9]+)([hd])\s*")
#: the longest time limit: a year of working days. A longer one is a typing error, and computing
#: its deadline would walk the calendar for centuries (the year 9999 overflows a datetime)
MAX_LIMIT_DAYS = 365
_PERIOD_RE = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})\s*")
_ONE_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)

# Years for which the "no notice, no package data" warning was already logged in this process: one
# warning per year is enough to alert the admins without flooding the log on every deadline.
_warned_years: set[int] = set()
_warned_lock = threading.Lock()


@lru_cache(maxsize=8192)
def _statutory_workday(d: date) -> bool | None:
    """``chinese_calendar``'s verdict for ``d``, or ``None`` for a year it has no data for.

    Cached because the package recomputes its supported year range on every call.
    """
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # the package's "no available data for year N" error
        return None


def statutory_workday(d: date) -> bool | None:
    """The statutory calendar's verdict for ``d`` (holidays and 调休 included), ``None`` if unknown.

    For showing the admin what an extra day overrides; deadlines use :meth:`WorkingCalendar.is_workday`.
    """
    if isinstance(d, datetime) or not isinstance(d, date):
        raise ValueError(f"statutory_workday() takes a date, got {d!r}")
    return _statutory_workday(d)


def _package_name(d: date) -> str:
    """The package's Chinese name of the holiday ``d`` belongs to (a day off or a make-up working day)."""
    english = chinese_calendar.holidays.get(d) or chinese_calendar.workdays.get(d)
    try:
        name = chinese_calendar.Holiday(english).chinese if english else ""
    except ValueError:  # a name this version's enum does not have
        name = str(english or "")
    if name and d in chinese_calendar.workdays:
        return f"{name}调休上班"
    if name and d in chinese_calendar.in_lieu_days:
        return f"{name}调休"
    return name


@lru_cache(maxsize=1)
def statutory_years() -> tuple[int, int]:
    """First and last year the installed ``chinesecalendar`` has statutory data for."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def _warn_unknown_year(year: int) -> None:
    """Log once per year and process that a year's deadlines use the computed law, or Monday–Friday."""
    if year in _warned_years:  # the hot path: already said, no lock needed to read a set
        return
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    version = getattr(chinese_calendar, "__version__", "?")
    if year >= FIRST_LAW_YEAR:
        log.warning(
            "No statutory holiday data for %d in chinesecalendar %s and no State Council notice imported: "
            "using the holidays of the law with their make-up days (补假), computed, without the yearly "
            "调休 swaps, for %d. Import the notice (flask sla holidays import, or /admin/calendar).",
            year, version, year,
        )
    else:
        log.warning(
            "No statutory holiday data for %d in chinesecalendar %s: treating Monday-Friday as working days "
            "for %d. Add that year's holidays and make-up working days (调休) in the admin holiday list.",
            year, version, year,
        )


def parse_limit(text: str, calendar: WorkingCalendar | None = None) -> int:
    """Convert a task limit ``'<N>h'`` / ``'<N>d'`` into working minutes.

    A working day is the calendar's day length (default calendar: 7 h, so ``'3d'`` == 1260),
    because limits in days mean "N full office days", not N × 24 h.
    """
    if not isinstance(text, str):
        raise ValueError(f"time limit must be a string like '4h' or '3d', got {text!r}")
    m = _LIMIT_RE.fullmatch(text)
    if m is None:
        raise ValueError(
            f"invalid time limit {text!r}: expected '<N>h' (working hours) or '<N>d' "
            "(working days) with N a positive integer"
        )
    digits = m.group(1).lstrip("0")
    if len(digits) > 7:  # int() of thousands of digits is refused; any such limit is too long anyway
        digits = "9" * 8
    n = int(digits or "0")
    if n <= 0:
        raise ValueError(f"invalid time limit {text!r}: N must be a positive integer")
    cal = calendar if calendar is not None else DEFAULT_CALENDAR
    minutes = n * 60 if m.group(2) == "h" else n * cal.day_length_minutes
    if minutes > MAX_LIMIT_DAYS * cal.day_length_minutes:
        raise ValueError(f"invalid time limit {text!r}: at most {MAX_LIMIT_DAYS} working days "
                         f"({MAX_LIMIT_DAYS * cal.day_length_minutes // 60}h)")
    return minutes


def parse_periods(text: str) -> tuple[Period, ...]:
    """Read office hours written as ``'09:00-12:00,13:30-17:30'`` (the ``WORK_PERIODS`` setting).

    Only the syntax is checked here; order, overlap and whole minutes are checked by
    :class:`WorkingCalendar`, so build one to validate a setting completely.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("working periods must be written like '09:00-12:00,13:30-17:30'")
    periods: list[Period] = []
    for part in text.split(","):
        m = _PERIOD_RE.fullmatch(part)
        if m is None:
            raise ValueError(
                f"working period {part.strip()!r} must be written HH:MM-HH:MM, "
                "e.g. '09:00-12:00,13:30-17:30'"
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        try:
            periods.append((time(h1, m1), time(h2, m2)))
        except ValueError:
            raise ValueError(
                f"working period {part.strip()!r} has an impossible time "
                "(hours 00-23, minutes 00-59; a period cannot run past midnight)"
            ) from None
    return tuple(periods)


def format_periods(periods: Iterable[Period]) -> str:
    """Office hours back in the ``WORK_PERIODS`` notation, for pages and messages."""
    return ",".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in periods)


def _check_dates(name: str, values: Iterable[date]) -> frozenset[date]:
    """Normalise an extra-days collection; datetimes are refused because they never equal a date."""
    out = frozenset(values)
    for v in out:
        if isinstance(v, datetime) or not isinstance(v, date):
            raise ValueError(f"{name} must contain datetime.date values, got {v!r}")
    return out


@dataclass(frozen=True)
class DaySource:
    """Why a day is or is not a working day: for the admin page and ``flask sla holidays status``.

    ``source`` is ``'admin'`` (the extra days), ``'notice'`` (an imported State Council notice),
    ``'package'`` (chinesecalendar), ``'law'`` (computed holidays and 补假) or ``'weekdays'``
    (Monday to Friday, for years before the law's computation starts that the package lacks).
    """

    workday: bool
    source: str
    name: str = ""


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours plus working days; computes due moments and working time spent.

    ``periods`` are the daily working periods in local wall-clock time (whole minutes, ordered,
    non-overlapping, not crossing midnight). ``extra_workdays`` win over ``extra_holidays``, which
    win over an imported notice (``notice_workdays``/``notice_holidays``, and Monday–Friday on the
    other days of the ``notice_years``), which wins over the package's data, which wins over the law.
    """

    periods: tuple[Period, ...] = DEFAULT_PERIODS
    tz: str = "Asia/Shanghai"
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    notice_holidays: frozenset[date] = frozenset()
    notice_workdays: frozenset[date] = frozenset()
    notice_years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        """Validate the configuration up front: a bad admin setting fails at load, not per task."""
        try:
            periods = tuple(tuple(p) for p in self.periods)
        except TypeError as exc:
            raise ValueError(f"periods must be (start, end) pairs of datetime.time: {exc}") from exc
        if any(len(p) != 2 for p in periods):
            raise ValueError("periods must be (start, end) pairs of datetime.time")
        if not periods:
            raise ValueError("periods must contain at least one (start, end) working period")
        prev_end: time | None = None
        for start, end in periods:
            if not isinstance(start, time) or not isinstance(end, time):
                raise ValueError(f"period ({start!r}, {end!r}) must be a pair of datetime.time")
            for t in (start, end):
                if t.tzinfo is not None:
                    raise ValueError(f"period time {t} must be naive (wall clock of {self.tz})")
                if t.second or t.microsecond:
                    raise ValueError(f"period time {t} must be on a whole minute")
            if not start < end:
                raise ValueError(f"period {start:%H:%M}-{end:%H:%M}: start must be before end")
            if prev_end is not None and start < prev_end:
                raise ValueError(
                    f"period {start:%H:%M}-{end:%H:%M} overlaps or precedes the previous one "
                    f"(ending {prev_end:%H:%M}); periods must be ordered and non-overlapping"
                )
            prev_end = end
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {self.tz!r}") from exc
        object.__setattr__(self, "periods", periods)
        object.__setattr__(
            self, "extra_holidays", _check_dates("extra_holidays", self.extra_holidays)
        )
        object.__setattr__(
            self, "extra_workdays", _check_dates("extra_workdays", self.extra_workdays)
        )
        for name in ("notice_holidays", "notice_workdays"):
            object.__setattr__(self, name, _check_dates(name, getattr(self, name)))
        years = frozenset(self.notice_years)
        if any(isinstance(y, bool) or not isinstance(y, int) for y in years):
            raise ValueError(f"notice_years must contain int years, got {sorted(years, key=repr)!r}")
        object.__setattr__(self, "notice_years", years)

    # -- days -------------------------------------------------------------------------------

    @cached_property
    def zone(self) -> ZoneInfo:
        """The calendar's zone: office hours and day boundaries are on its wall clock."""
        return ZoneInfo(self.tz)

    @cached_property
    def day_length_minutes(self) -> int:
        """Minutes in one working day: the unit of ``'<N>d'`` limits."""
        total = timedelta()
        for start, end in self.periods:
            total += datetime.combine(date.min, end) - datetime.combine(date.min, start)
        return total // _MINUTE

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day: admin days, notice, package data, law (see the class)."""
        if isinstance(d, datetime):
            raise ValueError(
                "is_workday() takes a date: convert the datetime to the calendar zone first"
            )
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        return self._statutory(d)

    def _statutory(self, d: date) -> bool:
        """The verdict without the admin's extra days (the hot path of :meth:`is_workday`)."""
        if d in self.notice_workdays:
            return True
        if d in self.notice_holidays:
            return False
        if d.year in self.notice_years:
            return d.weekday() < 5
        verdict = _statutory_workday(d)
        if verdict is not None:
            return verdict
        _warn_unknown_year(d.year)
        if d.year >= FIRST_LAW_YEAR:
            return d.weekday() < 5 and d not in legal_rest_days(d.year)
        return d.weekday() < 5

    def day_source(self, d: date, *, with_extra_days: bool = True) -> DaySource:
        """Whether ``d`` is a working day and which layer decides it; ``with_extra_days=False`` tells
        what an admin's extra day overrides."""
        if isinstance(d, datetime) or not isinstance(d, date):
            raise ValueError(f"day_source() takes a date, got {d!r}")
        if with_extra_days and d in self.extra_workdays:
            return DaySource(True, "admin")
        if with_extra_days and d in self.extra_holidays:
            return DaySource(False, "admin")
        if d in self.notice_workdays or d in self.notice_holidays or d.year in self.notice_years:
            return DaySource(self._statutory(d), "notice")
        verdict = _statutory_workday(d)
        if verdict is not None:
            return DaySource(verdict, "package", _package_name(d))
        if d.year >= FIRST_LAW_YEAR:
            name = legal_rest_days(d.year).get(d, "")
            return DaySource(d.weekday() < 5 and not name, "law", name)
        return DaySource(d.weekday() < 5, "weekdays")

    def year_source(self, year: int) -> str:
        """Where a year's holidays come from: ``'notice'``, ``'package'``, ``'law'`` or ``'weekdays'``."""
        if year in self.notice_years:
            return "notice"
        first, last = statutory_years()
        if first <= year <= last:
            return "package"
        return "law" if year >= FIRST_LAW_YEAR else "weekdays"

    def limit_minutes(self, limit: str | int) -> int:
        """Working minutes of a limit given as ``'<N>h'``/``'<N>d'`` or as an int of minutes."""
        if isinstance(limit, bool):
            raise ValueError(f"time limit must be a string or int minutes, got {limit!r}")
        if isinstance(limit, int):
            if limit < 0:
                raise ValueError(f"time limit in minutes must not be negative, got {limit}")
            return limit
        return parse_limit(limit, self)

    # -- time -------------------------------------------------------------------------------

    def _to_local(self, moment: datetime, name: str) -> datetime:
        """Naive wall-clock time in the calendar zone; naive input is refused as ambiguous."""
        if not isinstance(moment, datetime):
            raise ValueError(f"{name} must be a datetime, got {moment!r}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _to_utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc)

    def _working_in_day(self, day: date, lo: datetime | None, hi: datetime | None) -> timedelta:
        """Working time on ``day`` (assumed a workday) within [lo, hi); None means unbounded."""
        total = timedelta()
        for start, end in self.periods:
            seg_start = datetime.combine(day, start)
            seg_end = datetime.combine(day, end)
            if lo is not None and lo > seg_start:
                seg_start = lo
            if hi is not None and hi < seg_end:
                seg_end = hi
            if seg_end > seg_start:
                total += seg_end - seg_start
        return total

    def add(self, start: datetime, limit: str | int) -> datetime:
        """Due moment (aware, UTC) of a task started at ``start`` with ``limit`` working time.

        Outside office hours the clock starts at the next period start; a limit that runs out
        exactly at a period end returns that end (12:00, not 13:30). Whole working days are
        skipped by day length, so long limits cost one step per calendar day.
        """
        minutes = self.limit_minutes(limit)
        local = self._to_local(start, "start")
        if minutes == 0:
            return start.astimezone(timezone.utc)
        remaining = timedelta(minutes=minutes)
        day_length = timedelta(minutes=self.day_length_minutes)
        day = local.date()
        lo: datetime | None = local  # only the first day is cut by the start moment
        while True:
            if self.is_workday(day):
                if lo is None and remaining > day_length:
                    remaining -= day_length
                else:
                    for p_start, p_end in self.periods:
                        seg_start = datetime.combine(day, p_start)
                        seg_end = datetime.combine(day, p_end)
                        if lo is not None and lo > seg_start:
                            seg_start = lo
                        if seg_end <= seg_start:
                            continue
                        available = seg_end - seg_start
                        if remaining <= available:
                            return self._to_utc(seg_start + remaining)
                        remaining -= available
            day += _ONE_DAY
            lo = None

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes in [a, b) (0 if b <= a): the share of a limit already used."""
        local_a = self._to_local(a, "a")
        local_b = self._to_local(b, "b")
        if local_b <= local_a:
            return 0
        first, last = local_a.date(), local_b.date()
        if first == last:
            if not self.is_workday(first):
                return 0
            return self._working_in_day(first, local_a, local_b) // _MINUTE
        day_length = timedelta(minutes=self.day_length_minutes)
        total = timedelta()
        if self.is_workday(first):
            total += self._working_in_day(first, local_a, None)
        day = first + _ONE_DAY
        while day < last:
            if self.is_workday(day):
                total += day_length
            day += _ONE_DAY
        if self.is_workday(last):
            total += self._working_in_day(last, None, local_b)
        return total // _MINUTE


#: The operations centre's calendar: 09:00–12:00 and 13:30–17:30 Beijing time, statutory holidays.
DEFAULT_CALENDAR = WorkingCalendar()
