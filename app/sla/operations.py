"""Changes to the working calendar's data: the admin holiday list and the imported State Council
notices. Operations validate, audit and flush; the caller commits.

Once the caller's transaction commits, :func:`app.sla.service.current_calendar` rebuilds the
calendar in this process at once and in other processes within ``TTL`` seconds.

Messages are written ``'中文 / English'`` (the web shows the half of the user's language).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select

from app.core.audit import record
from app.core.db import session, utcnow
from app.core.errors import ValidationFailed
from app.sla.holidays import FIRST_LAW_YEAR, legal_holidays, legal_rest_days
from app.sla.models import DAY_KINDS, NOTE_MAX, CalendarDay, HolidayNotice, HolidayNoticeDay
from app.sla.notice import MAX_BYTES, NoticeDay, ParsedNotice, parse_notice
from app.sla.service import invalidate_calendar_after_commit

__all__ = [
    "NoticePreview",
    "PreviewRow",
    "add_calendar_day",
    "import_holiday_notice",
    "preview_holiday_notice",
    "remove_calendar_day",
    "remove_holiday_notice",
]

#: a typing slip such as 0026 or 2206 is refused rather than stored
FIRST_YEAR, LAST_YEAR = 2000, 2100

KIND_NAMES = {"holiday": "休息日 / day off", "workday": "工作日 / working day"}


def _bilingual_kind(kind: str) -> tuple[str, str]:
    zh, en = KIND_NAMES[kind].split(" / ")
    return zh, en


def _check_day(day: Any) -> list[str]:
    if isinstance(day, datetime) or not isinstance(day, date):
        return ["请填写日期（年-月-日） / Enter a date (year-month-day)."]
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return [f"日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间 / The date must be between {FIRST_YEAR} and {LAST_YEAR}."]
    return []


def add_calendar_day(day: date, kind: str, note: str = "", actor: Any = None) -> CalendarDay:
    """Make ``day`` a holiday or a working day whatever the statutory calendar says.

    A date can be listed once; to change its kind, remove it and add it again (both audited).
    """
    errors: dict[str, list[str]] = {}
    if day_errors := _check_day(day):
        errors["day"] = day_errors
    if kind not in DAY_KINDS:
        errors["kind"] = ["请选择“休息日”或“工作日” / Choose day off or working day."]
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [f"备注最多 {NOTE_MAX} 个字 / The note can have at most {NOTE_MAX} characters."]
    if errors:
        raise ValidationFailed("日历日期有误 / invalid calendar day", errors=errors)
    # INSERT … ON CONFLICT DO NOTHING: a date listed already, even by a request committing at this
    # very moment (a double submit), is a validation error, not an integrity error and a 500
    values = {"day": day, "kind": kind, "note": note, "created_at": utcnow(), "created_by_id": getattr(actor, "id", None)}
    new_id = session.execute(_insert_ignoring_duplicates().values(values)).scalar()
    if new_id is None:
        existing = session.scalar(select(CalendarDay.kind).where(CalendarDay.day == day)) or kind
        zh, en = _bilingual_kind(existing)
        raise ValidationFailed("日历日期有误 / invalid calendar day", errors={"day": [
            f"{day.isoformat()} 已在列表中（{zh}），请先删除再添加 / "
            f"{day.isoformat()} is already listed (as a {en}); remove it first to change it."]})
    record("calendar_day_added", actor=actor, day=day.isoformat(), kind=kind, note=note)
    session.flush()
    row = session.get(CalendarDay, new_id)
    assert row is not None
    invalidate_calendar_after_commit()
    return row


def _insert_ignoring_duplicates() -> Any:
    """``INSERT INTO calendar_days … ON CONFLICT (day) DO NOTHING RETURNING id`` for this database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    table = CalendarDay.__table__
    return dialect_insert(table).on_conflict_do_nothing(index_elements=["day"]).returning(table.c.id)


def remove_calendar_day(day: date, actor: Any = None) -> None:
    """Take ``day`` off the list: the statutory calendar (or Monday–Friday) applies to it again."""
    if day_errors := _check_day(day):
        raise ValidationFailed("日历日期有误 / invalid calendar day", errors={"day": day_errors})
    row = session.execute(select(CalendarDay.id, CalendarDay.kind, CalendarDay.note)
                          .where(CalendarDay.day == day)).first()
    deleted = 0
    if row is not None:
        deleted = session.execute(delete(CalendarDay).where(CalendarDay.id == row.id)
                                  .execution_options(synchronize_session="fetch")).rowcount
    if not deleted:  # not listed, or removed by someone else meanwhile
        raise ValidationFailed("日历日期有误 / invalid calendar day",
                               errors={"day": [f"{day.isoformat()} 不在列表中 / {day.isoformat()} is not listed."]})
    record("calendar_day_removed", actor=actor, day=day.isoformat(), kind=row.kind, note=row.note)
    session.flush()
    invalidate_calendar_after_commit()


# ---------------------------------------------------------------------------- State Council notices

#: what a day of the preview is, measured against the law (``app.sla.holidays``)
ROLES = {
    "law": "法定假日 / statutory holiday",
    "make_up": "补假 / make-up day off (补假)",
    "weekend": "周末 / weekend",
    "swap": "调休放假 / swapped day off (调休)",
    "swap_workday": "调休上班 / make-up working day (调休)",
    "plain_workday": "本来就是工作日 / already a working day",
    "missing_law": "按法律放假，通知未列 / a statutory day off the notice does not list",
    "missing_make_up": "按法律补假，通知未列 / a 补假 day the notice does not list",
}


@dataclass(frozen=True)
class PreviewRow:
    """One day of the preview: what the notice says (``kind`` None: not listed) and what the law says."""

    day: date
    kind: str | None
    name: str
    line: int
    role: str
    law_name: str = ""


@dataclass
class NoticePreview:
    """A notice read and checked, before saving: the days, and errors (nothing is saved) or warnings."""

    year: int
    parsed: ParsedNotice
    rows: list[PreviewRow] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    replaces: HolidayNotice | None = None
    overridden: list[CalendarDay] = field(default_factory=list)  # the admin's extra days of that year

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, kind: str) -> int:
        return sum(1 for d in self.parsed.days if d.kind == kind)


def _check_year(year: Any) -> list[str]:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_LAW_YEAR <= year <= LAST_YEAR:
        return [f"年份须在 {FIRST_LAW_YEAR}–{LAST_YEAR} 之间 / The year must be between {FIRST_LAW_YEAR} "
                f"and {LAST_YEAR}."]
    return []


def _compare_with_law(year: int, days: list[NoticeDay]) -> tuple[list[PreviewRow], list[str], list[str]]:
    """The notice's days beside the law's: rows, errors (a statutory day missing) and warnings."""
    law = legal_rest_days(year)
    make_up = {d for h in legal_holidays(year) for d in h.make_up}
    listed = {d.day: d for d in days}
    rows: list[PreviewRow] = []
    errors: list[str] = []
    warnings: list[str] = []
    for d in days:
        weekend = d.day.weekday() >= 5
        law_name = law.get(d.day, "")
        if d.kind == "holiday":
            role = "make_up" if d.day in make_up else "law" if law_name else "weekend" if weekend else "swap"
        else:
            role = "swap_workday" if weekend else "plain_workday"
            if law_name and d.day not in make_up:
                errors.append(f"{d.day.isoformat()}（{law_name}）按法律放假，通知第 {d.line} 行却写上班 / "
                              f"{d.day.isoformat()} ({law_name}) is a statutory day off; line {d.line} makes it "
                              "a working day")
            elif role == "plain_workday":
                warnings.append(f"第 {d.line} 行：{d.day.isoformat()} 是周一至周五，本来就上班 / Line {d.line}: "
                                f"{d.day.isoformat()} is a weekday, a working day anyway")
        rows.append(PreviewRow(d.day, d.kind, d.name, d.line, role, law_name))
    for day, law_name in law.items():
        if day in listed or day.weekday() >= 5:
            continue  # a weekend day of a holiday is off anyway, listed or not
        if day in make_up:
            rows.append(PreviewRow(day, None, "", 0, "missing_make_up", law_name))
            warnings.append(f"按法律 {day.isoformat()} 是{law_name}，通知未列为放假；保存后这天上班 / By law "
                            f"{day.isoformat()} is a {law_name} (make-up day off); the notice does not list it, "
                            "so it will be a working day")
        else:
            rows.append(PreviewRow(day, None, "", 0, "missing_law", law_name))
            errors.append(f"通知没有 {day.isoformat()}（{law_name}），按法律这天放假：请粘贴完整的通知 / The notice "
                          f"does not list {day.isoformat()} ({law_name}), a statutory day off: paste the whole "
                          "notice")
    extra_off = sum(1 for r in rows if r.kind == "holiday" and r.day.weekday() < 5 and r.role == "swap") \
        - sum(1 for r in rows if r.role == "missing_make_up")
    worked = sum(1 for r in rows if r.role == "swap_workday")
    if extra_off != worked:
        warnings.append(f"通知比法律多放 {extra_off} 个工作日，调休上班却是 {worked} 天：请核对 / The notice gives "
                        f"{extra_off} more weekdays off than the law but has {worked} make-up working days: check it")
    rows.sort(key=lambda r: r.day)
    return rows, errors, warnings


def preview_holiday_notice(year: Any, text: str) -> NoticePreview:
    """Read and check a notice for ``year`` without saving it (the admin's preview; the import runs it too).

    Errors: the year, the text (line by line), a statutory day the notice lacks (a partial paste),
    a day another year's notice says otherwise. Warnings need a look but do not stop the import.
    """
    year_errors = _check_year(year)
    text = text or ""
    if len(text.encode("utf-8")) > MAX_BYTES:
        text_errors = [f"内容超过 {MAX_BYTES // 1024} KB，不像是放假通知 / More than {MAX_BYTES // 1024} KB: "
                       "not a holiday notice."]
    elif not text.strip():
        text_errors = ["请粘贴通知正文或表格，或选择文件 / Paste the notice or a table, or choose a file."]
    else:
        text_errors = []
    if year_errors or text_errors:
        errors = {k: v for k, v in (("year", year_errors), ("text", text_errors)) if v}
        return NoticePreview(year if isinstance(year, int) else 0, ParsedNotice(0), errors=errors)
    parsed = parse_notice(text, year)
    preview = NoticePreview(year, parsed)
    if parsed.errors:
        preview.errors["text"] = list(parsed.errors)
        preview.rows = [PreviewRow(d.day, d.kind, d.name, d.line, "") for d in parsed.days]
        return preview
    preview.rows, law_errors, preview.warnings = _compare_with_law(year, parsed.days)
    conflicts = _conflicts_with_other_notices(year, parsed.days)
    if law_errors or conflicts:
        preview.errors["text"] = law_errors + conflicts
    preview.replaces = session.scalar(select(HolidayNotice).where(HolidayNotice.year == year))
    first, last = date(year - 1, 12, 1), date(year, 12, 31)
    preview.overridden = list(session.scalars(select(CalendarDay).where(CalendarDay.day.between(first, last))
                                              .order_by(CalendarDay.day)))
    return preview


def _conflicts_with_other_notices(year: int, days: list[NoticeDay]) -> list[str]:
    """A December day of the New Year holiday may also be in the previous year's notice: it must agree."""
    december = {d.day: d for d in days if d.day.year == year - 1}
    if not december:
        return []
    rows = session.execute(select(HolidayNoticeDay.day, HolidayNoticeDay.kind)
                           .join(HolidayNotice, HolidayNotice.id == HolidayNoticeDay.notice_id)
                           .where(HolidayNotice.year != year, HolidayNoticeDay.day.in_(list(december)))).all()
    return [f"第 {december[day].line} 行：{day.isoformat()} 在 {year - 1} 年的通知中是"
            f"{'放假' if kind == 'holiday' else '上班'} / Line {december[day].line}: {day.isoformat()} is a "
            f"{'day off' if kind == 'holiday' else 'working day'} in the notice of {year - 1}"
            for day, kind in rows if kind != december[day].kind]


@dataclass(frozen=True)
class ImportResult:
    notice: HolidayNotice
    replaced: bool
    preview: NoticePreview


def import_holiday_notice(year: Any, text: str, actor: Any = None, filename: str = "") -> ImportResult:
    """Save ``year``'s notice, replacing the one imported before (idempotent): all its days or none.

    Raises :class:`ValidationFailed` with the preview's errors (``year``, ``text``) and saves nothing.
    """
    preview = preview_holiday_notice(year, text)
    if not preview.ok:
        raise ValidationFailed("放假通知无法导入 / the holiday notice cannot be imported", errors=preview.errors)
    filename = (filename or "")[:200]
    previous = session.execute(
        select(HolidayNotice.id, func.count(HolidayNoticeDay.id))
        .outerjoin(HolidayNoticeDay, HolidayNoticeDay.notice_id == HolidayNotice.id)
        .where(HolidayNotice.year == year).group_by(HolidayNotice.id)).first()
    values = {"year": year, "source": text, "filename": filename, "imported_at": utcnow(),
              "imported_by_id": getattr(actor, "id", None)}
    # INSERT … ON CONFLICT (year) DO UPDATE: two admins importing the same year at once end with one notice
    notice_id = session.execute(_upsert_notice(values)).scalar_one()
    session.execute(delete(HolidayNoticeDay).where(HolidayNoticeDay.notice_id == notice_id)
                    .execution_options(synchronize_session=False))
    session.add_all(HolidayNoticeDay(notice_id=notice_id, day=d.day, kind=d.kind, name=d.name, line=d.line)
                    for d in preview.parsed.days)
    record("holiday_notice_imported", actor=actor, year=year, holidays=preview.count("holiday"),
           workdays=preview.count("workday"), replaced=previous is not None,
           previous_days=previous[1] if previous is not None else 0, filename=filename,
           sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), warnings=len(preview.warnings))
    session.flush()
    notice = session.get(HolidayNotice, notice_id, populate_existing=True)
    assert notice is not None
    session.expire(notice, ["days"])
    invalidate_calendar_after_commit()
    return ImportResult(notice, previous is not None, preview)


def _upsert_notice(values: dict[str, Any]) -> Any:
    table = HolidayNotice.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table).values(values)
    update = {k: stmt.excluded[k] for k in ("source", "filename", "imported_at", "imported_by_id")}
    return stmt.on_conflict_do_update(index_elements=["year"], set_=update).returning(table.c.id)


def remove_holiday_notice(year: Any, actor: Any = None) -> None:
    """Take ``year``'s notice away: the package's data or the computed law applies to that year again."""
    if errors := _check_year(year):
        raise ValidationFailed("放假通知有误 / invalid holiday notice", errors={"year": errors})
    notice_id = session.scalar(select(HolidayNotice.id).where(HolidayNotice.year == year))
    days = 0
    if notice_id is not None:
        days = session.execute(delete(HolidayNoticeDay).where(HolidayNoticeDay.notice_id == notice_id)
                               .execution_options(synchronize_session=False)).rowcount
        deleted = session.execute(delete(HolidayNotice).where(HolidayNotice.id == notice_id)
                                  .execution_options(synchronize_session="fetch")).rowcount
    if notice_id is None or not deleted:
        raise ValidationFailed("放假通知有误 / invalid holiday notice", errors={"year": [
            f"{year} 年没有导入的通知 / No notice is imported for {year}."]})
    record("holiday_notice_removed", actor=actor, year=year, days=days)
    session.flush()
    invalidate_calendar_after_commit()
