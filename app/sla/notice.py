"""Reading the State Council's yearly holiday notice (国务院办公厅关于 YYYY 年部分节假日安排的通知).

The admin gives the notice either as a simple table, one day a line::

    2027-02-05,holiday,春节          (or tab-separated; kinds holiday/放假/休, workday/上班/班)
    2027-02-20,workday,春节调休上班

or as the notice's own sentences, pasted as published::

    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。
    2月14日（周六）、2月28日（周六）上班。

Both may be mixed. Sentences are read for ``M月D日`` dates (a later date of a range inherits the
month, ``YYYY年`` may lead), ranges joined by 至, lists joined by 、, then the word that says what
the dates are (放假 / 上班). What the notice states besides is checked, so a slip shows instead of
becoming a wrong deadline: the weekday in brackets (``（周六）``, ``（星期六）``), the day count
(``共9天``, ``放假1天``) and the year in its title. Lines without any date (title, preamble, closing
paragraph) are skipped and reported as such.

Every message names its line and is written ``'中文 / English'``. Pure parsing: comparing the
result with the law and saving it are :mod:`app.sla.operations`' work.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = ["MAX_BYTES", "NoticeDay", "ParsedNotice", "decode_notice", "parse_notice"]

#: a notice is about 1,500 characters; a bigger input is not one
MAX_BYTES = 64 * 1024
NAME_MAX = 200

_KINDS = {
    "holiday": "holiday", "off": "holiday", "放假": "holiday", "休": "holiday", "休息": "holiday",
    "休息日": "holiday", "假": "holiday", "节假日": "holiday",
    "workday": "workday", "work": "workday", "上班": "workday", "班": "workday", "工作日": "workday",
}
_HEADER_FIELDS = {"date", "day", "日期"}
_WEEKDAYS = "一二三四五六日"
_WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_TABLE_DATE = re.compile(r"[0-9\s/.\-]+")
_ISO_DATE = re.compile(r"\s*(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*")

# One token of a notice sentence, after NFKC (full-width brackets, colons and digits become ASCII).
_TOKEN = re.compile(
    r"(?P<section>(?<![^\s。;])[一二三四五六七八九十]+\s*[、.]\s*(?P<sname>[^:\n。;]{1,30}?)\s*:)"
    r"|(?P<date>(?:(?P<y>\d{4})\s*年\s*)?(?:(?P<m>\d{1,2})\s*月\s*)?(?P<d>\d{1,2})\s*日)"
    r"|(?P<paren>\((?P<ptext>[^)]*)\))"
    r"|(?P<range>至|到|~|—|–)"
    r"|(?P<offcount>放假\s*(?P<n1>\d+)\s*天)"
    r"|(?P<count>共\s*(?P<n2>\d+)\s*天)"
    r"|(?P<off>放假|休假|休息|公休)"
    r"|(?P<work>上班)"
    r"|(?P<end>[。;])"
)
_TITLE_YEAR = re.compile(r"(\d{4})\s*年\s*(?:部分)?节假日|现将\s*(\d{4})\s*年")
_PAREN_WEEKDAY = re.compile(r"(?:周|星期)([一二三四五六日天])")
# the signature's date of publication, alone on its line (国务院办公厅 / 2025年11月4日)
_SIGNATURE_DATE = re.compile(r"[^\d放假上班]*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")


@dataclass(frozen=True)
class NoticeDay:
    """One day of the notice: a day off (``holiday``) or a working day (``workday``, 调休上班)."""

    day: date
    kind: str
    name: str
    line: int


@dataclass
class ParsedNotice:
    """What a notice text says, or why it cannot be read (``errors``: nothing may be saved then)."""

    year: int
    days: list[NoticeDay] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)
    formats: set[str] = field(default_factory=set)  # 'table' and/or 'notice'
    _errors: list[tuple[int, str]] = field(default_factory=list, repr=False)

    def error(self, line: int, zh: str, en: str) -> None:
        """Note a problem of ``line`` (0: of the whole text); :func:`parse_notice` sorts them by line."""
        self._errors.append((line, _err(line, zh, en) if line else f"{zh} / {en}"))

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.days)

    def holidays(self) -> list[NoticeDay]:
        return [d for d in self.days if d.kind == "holiday"]

    def workdays(self) -> list[NoticeDay]:
        return [d for d in self.days if d.kind == "workday"]


def decode_notice(data: bytes) -> str:
    """File bytes as text: UTF-8 (with or without BOM), else GB18030 as Excel saves on Chinese Windows.

    Raises ``ValueError`` with a ``'中文 / English'`` message for what cannot be a notice.
    """
    if len(data) > MAX_BYTES:
        raise ValueError(f"文件超过 {MAX_BYTES // 1024} KB，不像是放假通知 / the file is larger than "
                         f"{MAX_BYTES // 1024} KB: not a holiday notice")
    if b"\x00" in data:
        raise ValueError("文件不是文本文件 / the file is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValueError("文件编码无法识别，请保存为 UTF-8 文本 / unknown encoding: save the file as UTF-8 text") from None


def _err(line: int, zh: str, en: str) -> str:
    """'第 3 行：… / Line 3: …'; text quoted from the input must not add a ' / ' (the halves' separator)."""
    return f"第 {line} 行：{zh.replace(' / ', '/')} / Line {line}: {en}"


def _weekday_zh(d: date) -> str:
    return _WEEKDAY_NAMES[d.weekday()]


class _Collector:
    """Collects days, merging repeats and refusing a date given as both kinds."""

    def __init__(self, parsed: ParsedNotice) -> None:
        self.parsed = parsed
        self.by_day: dict[date, NoticeDay] = {}

    def add(self, day: date, kind: str, name: str, line: int) -> None:
        seen = self.by_day.get(day)
        if seen is None:
            self.by_day[day] = NoticeDay(day, kind, name[:NAME_MAX], line)
        elif seen.kind != kind:
            self.parsed.error(
                line, f"{day.isoformat()} 在第 {seen.line} 行是{'放假' if seen.kind == 'holiday' else '上班'}，"
                      f"这里又是{'放假' if kind == 'holiday' else '上班'}",
                f"{day.isoformat()} is a {'day off' if seen.kind == 'holiday' else 'working day'} on line "
                f"{seen.line} and a {'day off' if kind == 'holiday' else 'working day'} here")
        elif name and not seen.name:
            self.by_day[day] = NoticeDay(day, kind, name[:NAME_MAX], seen.line)


def _table_line(fields: list[str], line: int, year: int, out: _Collector) -> None:
    """``date,kind[,name]``: a line of the simple table."""
    parsed = out.parsed
    m = _ISO_DATE.fullmatch(fields[0])
    day: date | None = None
    if m is not None:
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            day = None
    if day is None:
        parsed.error(line, f"“{fields[0].strip()}”不是日期，请写作 {year}-02-05",
                                  f"{fields[0].strip()!r} is not a date; write it as {year}-02-05")
        return
    kind_text = fields[1].strip().lower() if len(fields) > 1 else ""
    kind = _KINDS.get(kind_text)
    if kind is None:
        parsed.error(line, f"第二列须为 holiday（放假）或 workday（上班），这里是“{kind_text}”",
                                  f"the second column must be holiday or workday, not {kind_text!r}")
        return
    name = ",".join(fields[2:]).strip()
    if len(name) > NAME_MAX:
        parsed.error(line, f"名称最多 {NAME_MAX} 个字", f"the name can have at most {NAME_MAX} characters")
        return
    out.add(day, kind, name, line)


def _split_table(text: str) -> list[str] | None:
    """The fields of a table line, or ``None`` when the line is a sentence (or prose) instead."""
    fields = text.split("\t") if "\t" in text else text.split(",")
    if len(fields) < 2:
        return None
    first = fields[0].strip()
    if first.lower() in _HEADER_FIELDS:
        return []  # the header line
    if (first and _TABLE_DATE.fullmatch(first) and first[0].isdigit()) or fields[1].strip().lower() in _KINDS:
        return fields
    return None


@dataclass
class _Group:
    start: date
    end: date
    line: int


class _SentenceReader:
    """Reads the notice's sentences from the text of all non-table lines joined by newlines."""

    def __init__(self, year: int, parsed: ParsedNotice, out: _Collector, starts: list[int], numbers: list[int]) -> None:
        self.year, self.parsed, self.out = year, parsed, out
        self.starts, self.numbers = starts, numbers  # offset where each joined line starts, and its number
        self.section = ""
        self.used_lines: set[int] = set()
        self._reset_sentence()

    def line_at(self, pos: int) -> int:
        return self.numbers[bisect.bisect_right(self.starts, pos) - 1]

    def _reset_sentence(self) -> None:
        self.pending: list[_Group] = []
        self.range_open = False
        self.year_in_sentence: int | None = None
        self.month_in_sentence: int | None = None
        self.last_was_date = False
        self.flushed_days: int | None = None  # days off of the last 放假 in this sentence, for 共N天

    def _close_sentence(self, line: int) -> None:
        if self.pending:
            first = self.pending[0]
            self.parsed.error(
                first.line, f"{first.start.month}月{first.start.day}日 后面没有说“放假”还是“上班”",
                f"{first.start.isoformat()} is followed by neither 放假 (days off) nor 上班 (working days)")
        self._reset_sentence()

    def _date(self, m: re.Match[str], line: int) -> None:
        y = int(m.group("y")) if m.group("y") else (self.year_in_sentence or self.year)
        if m.group("y"):
            self.year_in_sentence = y
        if m.group("m"):
            month = int(m.group("m"))
        elif self.month_in_sentence is not None:
            month = self.month_in_sentence
        else:
            self.parsed.error(line, f"“{m.group('date')}”缺少月份", f"{m.group('date')!r} has no month")
            self.last_was_date = False
            return
        try:
            day = date(y, month, int(m.group("d")))
        except ValueError:
            self.parsed.error(line, f"{y}年{month}月{m.group('d')}日 不存在",
                                           f"{y}-{month:02d}-{int(m.group('d')):02d} does not exist")
            self.last_was_date = False
            self.range_open = False
            return
        self.month_in_sentence = month
        if self.range_open and self.pending:
            group = self.pending[-1]
            if day < group.start or (day - group.start).days > 31:
                self.parsed.error(
                    line, f"{group.start.month}月{group.start.day}日至{month}月{day.day}日 不是一段假期",
                    f"{group.start.isoformat()} to {day.isoformat()} is not a holiday period")
            else:
                group.end = day
        else:
            self.pending.append(_Group(day, day, line))
        self.range_open = False
        self.last_was_date = True

    def _weekday(self, text: str, line: int) -> None:
        if not self.last_was_date or not self.pending:
            return
        wm = _PAREN_WEEKDAY.search(text)
        if wm is None:
            return
        said = 6 if wm.group(1) in "日天" else _WEEKDAYS.index(wm.group(1))
        day = self.pending[-1].end
        if day.weekday() != said:
            self.parsed.error(
                line, f"{day.year}年{day.month}月{day.day}日 是{_weekday_zh(day)}，通知写的是{_WEEKDAY_NAMES[said]}"
                      f"（年份对吗？）",
                f"{day.isoformat()} is a {_EN_WEEKDAYS[day.weekday()]}, the notice says {_EN_WEEKDAYS[said]} "
                "(is it the right year?)")

    def _flush(self, kind: str) -> int:
        days = 0
        for group in self.pending:
            d = group.start
            while d <= group.end:
                self.out.add(d, kind, self.section if kind == "holiday" else
                             (f"{self.section}调休上班" if self.section else "调休上班"), group.line)
                d += timedelta(days=1)
                days += 1
        self.pending = []
        self.range_open = False
        return days

    def _count(self, n: int, line: int) -> None:
        if self.flushed_days is not None and self.flushed_days != n:
            self.parsed.error(line, f"通知写“共{n}天”，所列放假日期却是 {self.flushed_days} 天",
                                           f"the notice says {n} days, the dates listed give {self.flushed_days}")

    def read(self, text: str) -> None:
        for m in _TOKEN.finditer(text):
            line = self.line_at(m.start())
            kind = m.lastgroup
            if kind == "section":
                self._close_sentence(line)
                self.section = re.sub(r"\s+", "", m.group("sname"))
                continue
            if kind == "date":
                self.used_lines.add(line)
                self._date(m, line)
                continue
            if kind == "paren":
                self._weekday(m.group("ptext"), line)
                continue  # a bracket keeps the date "last": 23日（周一）至…
            if kind == "range":
                if self.last_was_date:
                    self.range_open = True
                self.last_was_date = False
                continue
            self.last_was_date = False
            if kind in ("off", "offcount"):
                if self.pending:
                    self.used_lines.add(line)
                    self.flushed_days = self._flush("holiday")
                if kind == "offcount":
                    self._count(int(m.group("n1")), line)
            elif kind == "work":
                if self.pending:
                    self.used_lines.add(line)
                    self._flush("workday")
            elif kind == "count":
                self._count(int(m.group("n2")), line)
            elif kind == "end":
                self._close_sentence(line)
        self._close_sentence(self.numbers[-1] if self.numbers else 0)


def parse_notice(text: str, year: int) -> ParsedNotice:
    """Read a notice for ``year`` given as a table, as the notice's sentences, or both."""
    parsed = ParsedNotice(year)
    out = _Collector(parsed)
    prose: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = unicodedata.normalize("NFKC", raw).strip()
        if not line or line.startswith("#"):
            continue
        fields = _split_table(line)
        if fields == []:
            continue
        if fields is not None:
            parsed.formats.add("table")
            _table_line(fields, number, year, out)
            continue
        if _SIGNATURE_DATE.fullmatch(line):
            parsed.skipped_lines.append(number)
            continue
        title = _TITLE_YEAR.search(line)
        if title is not None:
            said = int(title.group(1) or title.group(2))
            if said != year:
                parsed.error(number, f"这是 {said} 年的通知，不是 {year} 年的",
                                          f"this is the notice for {said}, not {year}")
        prose.append((number, line))

    if prose:
        starts, numbers, pieces, offset = [], [], [], 0
        for number, line in prose:
            starts.append(offset)
            numbers.append(number)
            pieces.append(line)
            offset += len(line) + 1
        reader = _SentenceReader(year, parsed, out, starts, numbers)
        reader.read("\n".join(pieces))
        parsed.skipped_lines = sorted(parsed.skipped_lines + [n for n, _ in prose if n not in reader.used_lines])
        if reader.used_lines:
            parsed.formats.add("notice")

    parsed.days = sorted(out.by_day.values(), key=lambda d: d.day)
    for d in parsed.days:
        if not (d.day.year == year or (d.day.year == year - 1 and d.day.month == 12)):
            parsed.error(d.line, f"{d.day.isoformat()} 不在 {year} 年（上一年 12 月的元旦安排除外）",
                         f"{d.day.isoformat()} is not in {year} (only December of {year - 1} may belong to its "
                         "New Year holiday)")
    if not parsed._errors and not parsed.days:
        parsed.error(0, "没有读到任何日期：请粘贴通知的正文，或每行写“日期,holiday,名称”“日期,workday,名称”",
                     "no dates found: paste the notice's text, or one 'date,holiday|workday,name' a line")
    elif not parsed._errors and not any(d.kind == "holiday" and d.day.year == year for d in parsed.days):
        parsed.error(0, f"没有 {year} 年的放假日期", f"no day off in {year}")
    parsed.errors = [message for _, message in sorted(parsed._errors, key=lambda item: item[0])]
    return parsed
