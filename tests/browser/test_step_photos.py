"""Photos inside a step form in real headless Chromium: the grid worker picks a photo in 现场核实,
the refused form keeps it, the completed step shows it on the case page."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.conftest import log_in, tiny_png

pytestmark = pytest.mark.browser


def loaded_width(img: Any) -> int:
    """The natural width of an image once the browser loaded it (thumbnails load lazily: scroll to it)."""
    img.scroll_into_view_if_needed()
    img.evaluate("img => img.complete && img.naturalWidth ? null : new Promise(r => img.addEventListener('load', r))")
    return int(img.evaluate("img => img.naturalWidth"))


def test_a_photo_chosen_in_the_step_form_is_on_the_case_page(chromium: Any, live_server: str, api: Callable[[str], Any],
                                                             make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(title="浏览器测试：井盖缺失拍照")
    task_id = case["current_tasks"][0]["id"]
    page = chromium.new_page(viewport={"width": 390, "height": 844})  # a phone: the grid worker on site
    page.set_default_timeout(15_000)
    log_in(page, live_server, "demo_grid_worker")

    page.goto(f"{live_server}/tasks/{task_id}")
    page.click(".claim-box button[type=submit]")
    page.wait_for_url(f"{live_server}/tasks/{task_id}**")
    photo = tiny_png(64, 48)
    page.set_input_files("#f-site_photos", files=[{"name": "井盖缺失.png", "mimeType": "image/png", "buffer": photo}])
    assert "井盖缺失.png" in page.locator("[data-field=site_photos] [data-file-list]").inner_text()  # intake.js lists it
    page.check("input[name=confirmed][value=false]")  # not confirmed, and no notes: refused
    page.click("form.schema-form button[type=submit]")
    page.wait_for_selector("#f-verify_notes-error")
    held = page.locator("[data-field=site_photos] .held-photo img")
    assert held.count() == 1
    assert loaded_width(held) == 64  # the held photo is shown

    page.fill("textarea[name=verify_notes]", "现场未见井盖缺失，已拍照存档")
    page.click("form.schema-form button[type=submit]")
    page.wait_for_url(f"{live_server}/cases/{case['id']}**")
    thumbs = page.locator('.step-photos [data-step="verify_on_site"] [data-tag="before"] img')
    assert thumbs.count() == 1
    assert loaded_width(thumbs.first) == 64
    assert thumbs.first.get_attribute("alt") == "井盖缺失.png"
    link = page.locator('.step-photos [data-step="verify_on_site"] a.thumb').first.get_attribute("href")
    assert page.request.get(f"{live_server}{link}").body() == photo

    listed = api("demo_grid_worker").get(f"/api/v1/cases/{case['id']}/attachments").get_json()["items"]
    assert [(a["step"], a["field"], a["tag"], a["filename"]) for a in listed] == [
        ("verify_on_site", "site_photos", "before", "井盖缺失.png")]
    page.close()
