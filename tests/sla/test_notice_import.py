"""Importing a year's State Council notice: checked against the law, all or nothing, replaced on
re-import, audited; the calendar uses it at once; ``flask sla holidays import|status|remove-notice``."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core import clock
from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.core.errors import ValidationFailed
from app.sla.calendar import WorkingCalendar
from app.sla.models import HolidayNotice, HolidayNoticeDay
from app.sla.operations import import_holiday_notice, preview_holiday_notice, remove_holiday_notice
from app.sla.service import current_calendar, missing_arrangements

SH = ZoneInfo("Asia/Shanghai")
DATA = Path(__file__).parent.parent / "data"
EXAMPLE_2027 = (DATA / "holiday_notice_2027_example.txt").read_text(encoding="utf-8")

pytestmark = pytest.mark.usefixtures("holiday_list")


def _law_table(year: int) -> str:
    from app.sla.holidays import legal_rest_days
    return "\n".join(f"{d.isoformat()},holiday,{name}" for d, name in sorted(legal_rest_days(year).items()))


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def due(start: datetime, limit: str = "1d") -> datetime:
    return current_calendar().add(start, limit).astimezone(SH)


def stored(app: Flask) -> dict[int, int]:
    with app.app_context():
        return dict(session.execute(select(HolidayNotice.year, func.count(HolidayNoticeDay.id))
                                    .outerjoin(HolidayNoticeDay).group_by(HolidayNotice.year)).all())


def audits(app: Flask, action: str) -> list[dict]:
    with app.app_context():
        return [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                  .order_by(AuditEvent.id))]


def test_an_imported_notice_decides_its_year_at_once(app: Flask) -> None:
    with app.app_context():
        # the law alone: 春节 02-05..08, 补假 02-09..10; 国庆 10-01..03, 补假 10-04..05
        assert due(sh(2027, 2, 4, 16)) == sh(2027, 2, 11, 16) and due(sh(2027, 9, 30, 16)) == sh(2027, 10, 6, 16)
        before = len(audits(app, "holiday_notice_imported"))
        with transaction():
            result = import_holiday_notice(2027, EXAMPLE_2027, filename="2027.txt")
        assert not result.replaced and result.preview.count("holiday") == 29 and result.preview.count("workday") == 5
        cal = current_calendar()
        assert cal.notice_years == {2027} and cal.year_source(2027) == "notice"
        # the notice's 调休: 02-11, 02-12 off too, Sunday 01-31 and Saturday 02-20 worked
        assert due(sh(2027, 2, 4, 16)) == sh(2027, 2, 15, 16)
        assert due(sh(2027, 1, 29, 17), "1h") == sh(2027, 1, 31, 9, 30)
        assert due(sh(2027, 9, 30, 16)) == sh(2027, 10, 8, 16)  # 10-01..07 off
        assert cal.is_workday(date(2027, 10, 9)) and not cal.is_workday(date(2027, 10, 16))  # a plain Saturday
        assert cal.day_source(date(2027, 2, 11)).source == "notice"
    assert stored(app) == {2027: 34}
    detail = audits(app, "holiday_notice_imported")[before:]
    assert len(detail) == 1 and detail[0]["year"] == 2027 and detail[0]["holidays"] == 29
    assert detail[0]["workdays"] == 5 and detail[0]["replaced"] is False and detail[0]["filename"] == "2027.txt"


def test_a_second_import_replaces_the_year(app: Flask) -> None:
    with app.app_context():
        with transaction():
            import_holiday_notice(2027, EXAMPLE_2027)
        with transaction():
            again = import_holiday_notice(2027, EXAMPLE_2027)
        assert again.replaced
        assert stored(app) == {2027: 34}  # idempotent: the same days once
        changed = EXAMPLE_2027.replace("七、国庆节：10月1日（周五）至7日（周四）放假调休，共7天。9月26日（周日）、10月9日（周六）上班。",
                                       "七、国庆节：10月1日（周五）至5日（周二）放假，共5天。")
        with transaction():
            import_holiday_notice(2027, changed)
        assert stored(app) == {2027: 34 - 4}  # 10-06, 10-07, 09-26, 10-09 gone
        assert due(sh(2027, 9, 30, 16)) == sh(2027, 10, 6, 16)
    assert [d["replaced"] for d in audits(app, "holiday_notice_imported")[-3:]] == [False, True, True]


@pytest.mark.parametrize("year,text,field,message", [
    (2027, "2027-02-05,holiday\nx,workday", "text", "第 2 行"),
    (2024, EXAMPLE_2027, "year", "年份须在 2025–2100 之间"),
    (2027, "   ", "text", "请粘贴通知正文或表格"),
    (2027, "x" * (64 * 1024 + 1), "text", "不像是放假通知"),
    # a partial paste: only 春节 — the other statutory days off would silently become working days
    (2027, "二、春节：2月5日（周五）至13日（周六）放假调休，共9天。1月31日（周日）、2月20日（周六）上班。", "text",
     "通知没有 2027-01-01（元旦），按法律这天放假：请粘贴完整的通知"),
    (2027, _law_table(2027).replace("2027-10-01,holiday", "2027-10-01,workday"), "text",
     "2027-10-01（国庆节）按法律放假，通知第 15 行却写上班"),
])
def test_nothing_is_saved_from_a_refused_notice(app: Flask, year: int, text: str, field: str, message: str) -> None:
    before = len(audits(app, "holiday_notice_imported"))
    with app.app_context():
        with pytest.raises(ValidationFailed) as refused:
            with transaction():
                import_holiday_notice(year, text)
        assert any(message in m for m in refused.value.errors[field]), refused.value.errors
    assert stored(app) == {} and len(audits(app, "holiday_notice_imported")) == before


def test_a_previous_import_survives_a_refused_one(app: Flask) -> None:
    with app.app_context():
        with transaction():
            import_holiday_notice(2027, EXAMPLE_2027)
        with pytest.raises(ValidationFailed):
            with transaction():
                import_holiday_notice(2027, EXAMPLE_2027 + "\n2027-13-01,holiday")
    assert stored(app) == {2027: 34}


def test_the_preview_compares_with_the_law(app: Flask) -> None:
    with app.app_context():
        preview = preview_holiday_notice(2027, EXAMPLE_2027)
        assert preview.ok and preview.warnings == [] and preview.replaces is None
        roles = {r.day.isoformat(): r.role for r in preview.rows}
        assert roles["2027-02-05"] == "law" and roles["2027-02-09"] == "make_up" and roles["2027-02-11"] == "swap"
        assert roles["2027-02-13"] == "weekend" and roles["2027-01-31"] == "swap_workday"
        # a notice that puts 国庆's 补假 elsewhere: allowed (the notice decides), but the admin is told
        moved = EXAMPLE_2027.replace("10月1日（周五）至7日（周四）放假调休，共7天。9月26日（周日）、10月9日（周六）上班。",
                                     "10月1日（周五）至4日（周一）放假，共4天。10月8日（周五）放假。")
        preview = preview_holiday_notice(2027, moved)
        assert preview.ok
        assert any("按法律 2027-10-05 是国庆节补假，通知未列为放假" in w for w in preview.warnings)
        assert {r.day.isoformat(): r.role for r in preview.rows}["2027-10-05"] == "missing_make_up"
        # a weekday listed as a working day changes nothing: said so
        preview = preview_holiday_notice(2027, EXAMPLE_2027 + "\n2027-03-03,workday")
        assert any("2027-03-03 是周一至周五，本来就上班" in w for w in preview.warnings)


def test_a_december_day_must_agree_with_the_previous_years_notice(app: Flask) -> None:
    with app.app_context():
        with transaction():
            import_holiday_notice(2027, EXAMPLE_2027 + "\n2027-12-31,holiday,元旦调休")
        preview = preview_holiday_notice(2028, "2027-12-31,workday\n" + _law_table(2028))
        assert preview.errors["text"] == ["第 1 行：2027-12-31 在 2027 年的通知中是放假 / Line 1: 2027-12-31 is a day off "
                                          "in the notice of 2027"]


def test_remove_a_notice(app: Flask) -> None:
    with app.app_context():
        with transaction():
            import_holiday_notice(2027, EXAMPLE_2027)
        with transaction():
            remove_holiday_notice(2027)
        assert current_calendar().year_source(2027) == "law" and due(sh(2027, 2, 4, 16)) == sh(2027, 2, 11, 16)
        with pytest.raises(ValidationFailed, match="invalid holiday notice"):
            remove_holiday_notice(2027)
    assert stored(app) == {}
    assert audits(app, "holiday_notice_removed")[-1] == {"year": 2027, "days": 34}


def test_the_admins_extra_days_still_win(app: Flask) -> None:
    from app.sla.operations import add_calendar_day
    with app.app_context():
        with transaction():
            import_holiday_notice(2027, EXAMPLE_2027)
            add_calendar_day(date(2027, 2, 11), "workday", "值班")
        preview = preview_holiday_notice(2027, EXAMPLE_2027)
        assert [d.day for d in preview.overridden] == [date(2027, 2, 11)] and preview.replaces is not None
        assert due(sh(2027, 2, 4, 16)) == sh(2027, 2, 11, 16)


# -- which years need a notice -----------------------------------------------------------------

@pytest.mark.parametrize("today,missing", [
    (date(2026, 10, 31), []),  # October: next year's notice is not due yet
    (date(2026, 11, 1), [2027]),
    (date(2026, 12, 31), [2027]),
    (date(2027, 1, 1), [2027]),  # and once in that year, all year long
    (date(2027, 10, 31), [2027]),
    (date(2027, 11, 1), [2027, 2028]),
    (date(2025, 11, 20), []),  # 2026 is in chinesecalendar
])
def test_missing_arrangements(today: date, missing: list[int]) -> None:
    assert missing_arrangements(today, WorkingCalendar()) == missing


def test_an_imported_notice_is_no_longer_missing() -> None:
    cal = WorkingCalendar(notice_holidays=frozenset({date(2027, 1, 1)}), notice_years=frozenset({2027}))
    assert missing_arrangements(date(2026, 11, 1), cal) == []
    assert missing_arrangements(date(2027, 11, 1), cal) == [2028]


# -- the command line --------------------------------------------------------------------------

def run(app: Flask, *args: str, input: str | None = None) -> tuple[int, str]:
    """Exit code and output (standard output and error, as a terminal shows them)."""
    result = app.test_cli_runner().invoke(args=["sla", "holidays", *args], input=input)
    return result.exit_code, result.output


def test_cli_import_status_and_remove(app: Flask, tmp_path: Path) -> None:
    notice = tmp_path / "国务院2027.txt"
    notice.write_bytes(EXAMPLE_2027.encode("gbk"))
    with clock.frozen(sh(2026, 12, 2, 10)):
        code, out = run(app, "status")
        assert code == 0 and "2026  package   chinesecalendar 1.11" in out
        assert "2027  law       computed from the law: statutory holidays and 补假, no 调休" in out

        code, out = run(app, "import", str(notice), "--year", "2027", "--dry-run")
        assert code == 0 and out.endswith("2027: 29 days off, 5 make-up working days; nothing saved (--dry-run)\n")
        assert "2027-02-09  Tue  holiday  make-up day off (补假)          春节" in out
        assert "2027-02-11  Thu  holiday  swapped day off (调休)          春节" in out
        assert "lines without dates, not read: 1, 2, 3, 12, 13" in out
        assert stored(app) == {}

        code, out = run(app, "import", str(notice), "--year", "2027")
        assert code == 0 and out.endswith("2027: notice imported, 29 days off, 5 make-up working days\n")
        code, out = run(app, "import", "-", "--year", "2027", input=EXAMPLE_2027)
        assert code == 0 and out.endswith("(replaced the previous import)\n")
        assert stored(app) == {2027: 34}

        code, out = run(app, "status", "--year", "2027")
        assert code == 0 and "2027  notice    State Council notice imported 2026-12-02 10:00 (29 days off, 5 make-up" in out
        assert "2027-02-11  Thu  holiday  notice" in out and "2027-01-31  Sun  workday  notice" in out
        assert "warning" not in out

        code, out = run(app, "remove-notice", "--year", "2027")
        assert (code, out) == (0, "2027: notice removed\n")
        code, out = run(app, "status", "--year", "2027")
        assert "2027-02-09  Tue  holiday  law       春节补假" in out and "2027-02-11" not in out
        assert "warning: no holiday arrangement for 2027" in out


def test_cli_refuses_a_bad_notice_by_line(app: Flask) -> None:
    code, out = run(app, "import", "-", "--year", "2027", input="2027-02-05,holiday\n2027-02-31,workday\n")
    assert code == 2 and "Line 2: '2027-02-31' is not a date" in out
    code, out = run(app, "import", "-", "--year", "2027", input="二、春节：2月5日（周五）至8日（周一）放假。\n")
    assert code == 2 and "The notice does not list 2027-01-01 (元旦), a statutory day off" in out
    code, out = run(app, "remove-notice", "--year", "2027")
    assert code == 2 and "No notice is imported for 2027." in out
    assert stored(app) == {}


def test_cli_help() -> None:
    from app.cli import holidays_import
    assert "2027-02-05,holiday,春节" in (holidays_import.help or "")


def test_cli_list_names_what_a_listed_day_overrides(app: Flask) -> None:
    with app.app_context():
        with transaction():
            import_holiday_notice(2027, EXAMPLE_2027)
    app.test_cli_runner().invoke(args=["sla", "holidays", "add", "2027-02-11", "--kind", "workday"])
    app.test_cli_runner().invoke(args=["sla", "holidays", "add", "2028-01-03", "--kind", "workday"])
    code, out = run(app, "list")
    assert code == 0 and out.splitlines() == [
        "2027-02-11  Thu  workday  statutory: holiday (notice)",
        "2028-01-03  Mon  workday  statutory: holiday (law: 元旦补假)"]


def test_simultaneous_imports_of_a_year_leave_one_notice(app: Flask) -> None:
    """Two admins importing the same year at once: INSERT … ON CONFLICT DO UPDATE and the row lock
    leave one notice with one set of days, whichever commits last."""
    import threading
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def importer() -> None:
        try:
            with app.app_context():
                start.wait(10)
                for _ in range(4):
                    with transaction():
                        import_holiday_notice(2027, EXAMPLE_2027)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and stored(app) == {2027: 34}
