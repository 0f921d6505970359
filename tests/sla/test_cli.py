"""``flask sla``: the due time as the product computes it, and the holiday list."""
from __future__ import annotations

import pytest
from flask import Flask

pytestmark = pytest.mark.usefixtures("holiday_list")


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["sla", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("start,limit,expected", [
    ("2026-09-30T16:30", "10h", "2026-10-09T11:00:00+08:00"),  # naive: Beijing time; National Day off
    ("2026-09-30T08:30:00Z", "10h", "2026-10-09T11:00:00+08:00"),  # the same moment in UTC
    ("2026-09-30T16:00:00+08:00", "1d", "2026-10-08T16:00:00+08:00"),
    ("2026-10-09T17:00", "1h", "2026-10-10T09:30:00+08:00"),  # make-up Saturday
    ("2026-09-30T12:15", "1h", "2026-09-30T14:30:00+08:00"),  # lunch break
    ("2026-12-31T16:00", "2d", "2027-01-05T16:00:00+08:00"),  # 2027: 元旦 computed from the law
])
def test_due(app: Flask, start: str, limit: str, expected: str) -> None:
    assert run(app, "due", "--start", start, "--limit", limit) == (0, expected + "\n")


@pytest.mark.parametrize("start,expected", [
    ("2026-12-31T16:00:00+08:00", "2027-01-04T16:00:00+08:00"),  # the issue: was 2027-01-01, on 元旦
    ("2027-02-04T16:00+08:00", "2027-02-11T16:00:00+08:00"),  # 春节 02-05..08, 补假 02-09, 02-10
    ("2027-09-30T16:00+08:00", "2027-10-06T16:00:00+08:00"),  # 国庆 10-01..03, 补假 10-04, 10-05
    ("2030-02-01T16:00+08:00", "2030-02-08T16:00:00+08:00"),  # 春节 02-02..05, 补假 02-06, 02-07
])
def test_due_in_years_the_package_does_not_know(app: Flask, start: str, expected: str) -> None:
    assert run(app, "due", "--start", start, "--limit", "1d") == (0, expected + "\n")


@pytest.mark.parametrize("args,message", [
    (["--start", "yesterday", "--limit", "3d"], "Invalid value for '--start'"),
    (["--start", "2026-09-30T16:30", "--limit", "3x"], "Invalid value for '--limit'"),
    (["--start", "2026-09-30T16:30", "--limit", "0h"], "positive integer"),
    (["--start", "2026-09-30T16:30"], "Missing option '--limit'"),
])
def test_due_refuses_bad_input(app: Flask, args: list[str], message: str) -> None:
    code, output = run(app, "due", *args)
    assert code == 2 and message in output


def test_holiday_list_changes_the_due_time(app: Flask) -> None:
    assert run(app, "holidays", "list") == (0, "no days listed: the statutory calendar applies\n")
    assert run(app, "holidays", "add", "2026-10-08", "--kind", "holiday", "--note", "加休") == \
        (0, "2026-10-08 listed as holiday\n")
    assert run(app, "holidays", "add", "2026-10-05", "--kind", "workday") == (0, "2026-10-05 listed as workday\n")
    code, output = run(app, "holidays", "list")
    lines = output.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split() == ["2026-10-05", "Mon", "workday", "statutory:", "holiday"]
    assert lines[1].split() == ["2026-10-08", "Thu", "holiday", "statutory:", "workday", "加休"]
    assert run(app, "due", "--start", "2026-10-02T10:00", "--limit", "2h") == (0, "2026-10-05T11:00:00+08:00\n")
    assert run(app, "due", "--start", "2026-09-30T16:30", "--limit", "10h") == (0, "2026-10-09T11:00:00+08:00\n")

    code, output = run(app, "holidays", "add", "2026-10-08", "--kind", "workday")
    assert code == 2 and "2026-10-08 is already listed (as a day off)" in output
    assert run(app, "holidays", "remove", "2026-10-08") == (0, "2026-10-08 removed from the list\n")
    code, output = run(app, "holidays", "remove", "2026-10-08")
    assert code == 2 and "2026-10-08 is not listed" in output
    assert run(app, "holidays", "remove", "2026-10-05")[0] == 0
    assert run(app, "due", "--start", "2026-10-02T10:00", "--limit", "2h") == (0, "2026-10-08T11:00:00+08:00\n")


@pytest.mark.parametrize("args,message", [
    (["add", "2026-10-40", "--kind", "holiday"], "Invalid value for 'DATE'"),
    (["add", "2026-10-08", "--kind", "vacation"], "Invalid value for '--kind'"),
    (["add", "2026-10-08"], "Missing option '--kind'"),
    (["add", "1926-10-08", "--kind", "holiday"], "between 2000 and 2100"),
])
def test_holidays_refuse_bad_input(app: Flask, args: list[str], message: str) -> None:
    code, output = run(app, "holidays", *args)
    assert code == 2 and message in output
    assert run(app, "holidays", "list")[1] == "no days listed: the statutory calendar applies\n"


def test_help_texts(app: Flask) -> None:
    code, output = run(app, "--help")
    assert code == 0 and "due" in output and "holidays" in output
    code, output = run(app, "due", "--help")
    assert code == 0 and "<N>h working hours or <N>d" in output and "Asia/Shanghai" in output
    code, output = run(app, "holidays", "add", "--help")
    assert code == 0 and "[holiday|workday]" in output
    code, output = run(app, "holidays", "--help")
    assert code == 0 and all(c in output for c in ("import", "status", "remove-notice", "list"))
    code, output = run(app, "holidays", "import", "--help")
    assert code == 0 and "--year" in output and "--dry-run" in output and "2027-02-05,holiday,春节" in output
