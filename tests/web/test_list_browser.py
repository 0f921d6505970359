"""A list in a real headless Chromium: page through the filtered cases, then download the Excel
export of the same list and open it with openpyxl."""
from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from tests.conftest import log_in

pytestmark = pytest.mark.browser


def test_page_through_cases_and_download_the_export(chromium: Any, live_server: str, app: Flask, tmp_path: Path,
                                                     make_case: Callable[..., dict[str, Any]],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], PAGE_SIZE=2))
    word = "翻页" + uuid.uuid4().hex[:6]
    made = [make_case(title=f"{word} 路灯不亮 {i}") for i in range(5)]
    page = chromium.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page.set_default_timeout(15_000)
    log_in(page, live_server, "demo_operator")
    page.goto(f"{live_server}/cases")
    page.fill("input[name=q]", word)
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r".*/cases\?.*q="))
    seen: list[str] = []
    for number in (1, 2, 3):
        assert f"第 {number} / 3 页" in page.locator("nav.pager").inner_text()
        assert page.locator("input[name=q]").input_value() == word  # the filter stays across pages
        seen += page.locator("table tbody td a.mono").all_inner_texts()
        if number < 3:
            page.click("nav.pager a[rel=next]")
            page.wait_for_url(re.compile(rf".*page={number + 1}"))
    assert sorted(seen) == sorted(c["number"] for c in made)

    with page.expect_download() as info:
        page.click("a.export-xlsx")
    download = info.value
    assert download.suggested_filename == "tongguan-cases.xlsx"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    sheet = load_workbook(target, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:2] == ["工单编号", "标题"]
    assert sorted(r[0] for r in rows[1:]) == sorted(c["number"] for c in made)  # every page, not only the last
    assert all(word in r[1] for r in rows[1:])
    page.close()
