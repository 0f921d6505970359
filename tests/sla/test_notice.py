"""Reading the State Council's holiday notice: as published, as a table, and what is refused (by line)."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from app.sla.calendar import WorkingCalendar
from app.sla.notice import MAX_BYTES, decode_notice, parse_notice

DATA = Path(__file__).parent.parent / "data"


def notice(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def days(text: str, year: int) -> dict[str, str]:
    parsed = parse_notice(text, year)
    assert parsed.errors == []
    return {d.day.isoformat(): d.kind for d in parsed.days}


@pytest.mark.parametrize("year,skipped", [(2025, [1, 2, 3, 10, 11, 12]), (2026, [1, 2, 3, 11, 12, 13])])
def test_the_published_notice_gives_the_packages_calendar(year: int, skipped: list[int]) -> None:
    """The real notices, pasted whole, give every day of their year as chinesecalendar has it."""
    parsed = parse_notice(notice(f"holiday_notice_{year}.txt"), year)
    assert parsed.errors == [] and parsed.formats == {"notice"}
    assert parsed.skipped_lines == skipped  # title, addressees, preamble, closing paragraph, signature
    cal = WorkingCalendar(notice_holidays=frozenset(d.day for d in parsed.holidays()),
                          notice_workdays=frozenset(d.day for d in parsed.workdays()), notice_years=frozenset({year}))
    day = date(year, 1, 1)
    while day.year == year:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        assert cal.day_source(day).source == "notice"
        day += timedelta(days=1)


def test_names_lines_and_ranges_of_the_2026_notice() -> None:
    parsed = parse_notice(notice("holiday_notice_2026.txt"), 2026)
    by_day = {d.day: d for d in parsed.days}
    assert len(parsed.holidays()) == 33 and len(parsed.workdays()) == 6
    spring = [d for d in parsed.holidays() if d.name == "春节"]
    assert [d.day for d in spring] == [date(2026, 2, 15) + timedelta(n) for n in range(9)]  # 2月15日至23日
    assert by_day[date(2026, 2, 14)].kind == "workday" and by_day[date(2026, 2, 14)].name == "春节调休上班"
    assert by_day[date(2026, 2, 14)].line == 5 and by_day[date(2026, 10, 10)].line == 10


def test_a_range_across_months_and_a_joint_section_2025() -> None:
    d = days(notice("holiday_notice_2025.txt"), 2025)
    assert [k for k in d if k.startswith("2025-05-3") or k.startswith("2025-06-0")] == \
        ["2025-05-31", "2025-06-01", "2025-06-02"]  # 5月31日（周六）至6月2日（周一）
    parsed = parse_notice(notice("holiday_notice_2025.txt"), 2025)
    assert {x.name for x in parsed.days if x.day.month == 10} == {"国庆节、中秋节", "国庆节、中秋节调休上班"}


def test_the_issues_example_sentences() -> None:
    """The issue's example: 春节 is 2026's, but 2026-01-01 was a Thursday, and the weekday check says so."""
    spring = ("二、春节：2月15日（农历腊月二十八）至23日（农历正月初七）放假调休，共9天。"
              "2月14日（周六）、2月28日（周六）上班。")
    d = days(spring, 2026)
    assert [k for k, v in d.items() if v == "holiday"] == [f"2026-02-{n}" for n in range(15, 24)]
    assert [k for k, v in d.items() if v == "workday"] == ["2026-02-14", "2026-02-28"]
    parsed = parse_notice("一、元旦：1月1日（周五）放假1天…  " + spring, 2026)
    assert parsed.errors == ["第 1 行：2026年1月1日 是星期四，通知写的是星期五（年份对吗？） / Line 1: 2026-01-01 is "
                             "a Thursday, the notice says Friday (is it the right year?)"]
    assert days("一、元旦：1月1日（周五）放假1天，不调休。", 2027) == {"2027-01-01": "holiday"}


def test_a_table_in_any_usual_spelling() -> None:
    text = ("# 2027 年放假安排（表格）\n"
            "日期,类型,名称\n"
            "2027-02-05,holiday,春节\n"
            "2027-2-6\t放假\t春节\n"
            "2027/02/20，上班，春节调休上班\n"  # a Chinese comma, slashes, a Chinese kind
            "2027-02-21,workday\n"
            "\n"
            "2027-02-05,休,春节（重复的同一天）\n")
    parsed = parse_notice(text, 2027)
    assert parsed.errors == [] and parsed.formats == {"table"}
    assert [(d.day.isoformat(), d.kind, d.name, d.line) for d in parsed.days] == [
        ("2027-02-05", "holiday", "春节", 3), ("2027-02-06", "holiday", "春节", 4),
        ("2027-02-20", "workday", "春节调休上班", 5), ("2027-02-21", "workday", "", 6)]


def test_table_and_sentences_together_and_a_wrapped_sentence() -> None:
    text = ("一、元旦：1月1日（周五）至3日\n（周日）放假，共3天。\n"  # wrapped in the middle, as a PDF copy does
            "2027-02-20,workday,调休上班\n"
            "二、春节：2月5日（农历除夕、周五）至\n13日（周六）放假调休，共9天。\n1月31日（周日）上班。")
    parsed = parse_notice(text, 2027)
    assert parsed.errors == [] and parsed.formats == {"table", "notice"}
    got = {d.day.isoformat(): (d.kind, d.line) for d in parsed.days}
    assert got["2027-01-03"] == ("holiday", 1) and got["2027-01-31"] == ("workday", 6)
    assert got["2027-02-13"] == ("holiday", 4) and got["2027-02-20"] == ("workday", 3)
    assert len(parsed.holidays()) == 3 + 9
    # the same day in the table and in a sentence, as different kinds, is refused
    clash = parse_notice(text.replace("2027-02-20,workday", "2027-02-06,workday"), 2027)
    assert clash.errors == ["第 4 行：2027-02-06 在第 3 行是上班，这里又是放假 / Line 4: 2027-02-06 is a working day on "
                            "line 3 and a day off here"]


def test_a_new_year_holiday_starting_in_december_2019() -> None:
    text = "一、元旦：2018年12月30日至2019年1月1日放假调休，共3天。2018年12月29日（星期六）上班。"
    assert days(text, 2019) == {"2018-12-29": "workday", "2018-12-30": "holiday", "2018-12-31": "holiday",
                                "2019-01-01": "holiday"}


@pytest.mark.parametrize("text,year,message", [
    ("2027-02-30,holiday,春节", 2027, "第 1 行：“2027-02-30”不是日期"),
    ("2027-02-05,vacation,春节", 2027, "第 1 行：第二列须为 holiday（放假）或 workday（上班），这里是“vacation”"),
    ("20270205,holiday", 2027, "第 1 行：“20270205”不是日期"),
    ("2027-02-05,holiday\n2027-02-05,workday", 2027, "第 2 行：2027-02-05 在第 1 行是放假，这里又是上班"),
    ("2028-01-01,holiday", 2027, "第 1 行：2028-01-01 不在 2027 年"),
    ("2027-02-05,holiday," + "长" * 201, 2027, "第 1 行：名称最多 200 个字"),
    ("二、春节：2月5日（周四）至8日放假。", 2027, "第 1 行：2027年2月5日 是星期五，通知写的是星期四（年份对吗？）"),
    ("二、春节：2月5日至8日放假调休，共9天。", 2027, "第 1 行：通知写“共9天”，所列放假日期却是 4 天"),
    ("一、元旦：\n1月1日至3日。", 2027, "第 2 行：1月1日 后面没有说“放假”还是“上班”"),
    ("二、春节：2月30日放假。", 2027, "第 1 行：2027年2月30日 不存在"),
    ("国务院办公厅关于2026年部分节假日安排的通知\n一、元旦：1月1日放假。", 2027, "第 1 行：这是 2026 年的通知，不是 2027 年的"),
    ("二、春节：2月10日至5日放假。", 2027, "Line 1: 2027-02-10 to 2027-02-05 is not a holiday period"),
    ("各部门要妥善安排好值班工作。", 2027, "没有读到任何日期"),
    ("", 2027, "没有读到任何日期"),
    ("2026-12-31,holiday", 2027, "没有 2027 年的放假日期"),
])
def test_bad_lines_are_named(text: str, year: int, message: str) -> None:
    parsed = parse_notice(text, year)
    assert not parsed.ok
    assert any(message in e for e in parsed.errors), parsed.errors


def test_every_bad_line_is_reported_in_line_order() -> None:
    parsed = parse_notice("2027-02-05,holiday\nx,holiday\n2027-02-06,holiday\n2027-13-01,workday\n", 2027)
    assert [e.split("：")[0] for e in parsed.errors] == ["第 2 行", "第 4 行"]
    assert parsed.errors[0].endswith("Line 2: 'x' is not a date; write it as 2027-02-05")


def test_the_wrong_years_notice_is_caught_by_its_weekdays() -> None:
    parsed = parse_notice(notice("holiday_notice_2026.txt").replace("2026年", "2027年"), 2027)
    assert len(parsed.errors) > 10 and all("年份对吗" in e for e in parsed.errors)


def test_decode_a_file() -> None:
    text = "2027-02-05,holiday,春节\n"
    assert decode_notice(text.encode("utf-8")) == text
    assert decode_notice(b"\xef\xbb\xbf" + text.encode("utf-8")) == text  # Excel's BOM
    assert decode_notice(text.encode("gbk")) == text  # Excel on a Chinese Windows
    with pytest.raises(ValueError, match="not a text file"):
        decode_notice(b"PK\x03\x04\x00\x00")
    with pytest.raises(ValueError, match="larger than 64 KB"):
        decode_notice(b"x" * (MAX_BYTES + 1))
