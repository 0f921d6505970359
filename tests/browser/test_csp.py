"""Every page under the Content-Security-Policy in a real headless Chromium: no script or style is
blocked, nothing logs an error. (The CSP allows 'self' only: no inline code, no eval.)"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import log_in

pytestmark = pytest.mark.browser

WATCH = """document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations = (window.__violations || []).concat([e.violatedDirective + ' ' + e.blockedURI]);
});"""


def watched_page(chromium: Any, width: int = 1366, height: int = 900) -> tuple[Any, Any, list[str]]:
    """A new context and page whose console errors and page errors are collected in the list
    returned; CSP violations are kept in ``window.__violations``."""
    context = chromium.new_context(viewport={"width": width, "height": height})
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    return context, page, errors


def _walk(chromium: Any, live_server: str, username: str, paths: list[str],
          act: Callable[[Any], None] | None = None) -> list[str]:
    """Log in as ``username``, open each path; returns every console error and CSP violation."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    log_in(page, live_server, username)
    for path in paths:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        assert "default-src 'self'" in response.headers["content-security-policy"]
        if "/new" in path or path == "/report":  # these pages fetch parts of their form after loading
            page.wait_for_load_state("networkidle")
        if act is not None:
            act(page)
        problems += [f"{path}: CSP blocked {v}" for v in page.evaluate("() => window.__violations || []")]
    context.close()
    return problems


def test_every_page_works_under_the_csp(chromium: Any, live_server: str,
                                        make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="hotline", title="CSP 测试：路灯不亮")
    task_id = case["current_tasks"][0]["id"]
    problems = _walk(chromium, live_server, "demo_operator", [
        "/inbox", "/inbox?tab=claimable", "/cases", f"/cases/{case['id']}", "/cases/new", "/cases/new?channel=grid",
        "/notifications", "/account"])
    problems += _walk(chromium, live_server, "demo_dispatcher", [f"/tasks/{task_id}", f"/cases/{case['id']}"])
    problems += _walk(chromium, live_server, "demo_supervisor", ["/supervision", "/supervision?light=red"])
    problems += _walk(chromium, live_server, "demo_grid_worker", ["/report"])
    problems += _walk(chromium, live_server, "demo_admin", [
        "/admin/incidents", "/admin/calendar", "/admin/catalog", "/admin/api-keys"])
    assert problems == []


def test_scripts_run_under_the_csp(chromium: Any, live_server: str) -> None:
    """The static scripts do their work: the category picker opens its list (its styles come from
    app.css now) and password fields show and hide what was typed, so a blocked script or style
    would show here."""
    def pick(page: Any) -> None:
        field = page.locator("#f-category_code")
        field.click()
        field.type("jg")
        page.wait_for_selector("#f-category_code-list [role=option]")
        listbox = page.locator("#f-category_code-list")
        assert listbox.evaluate("el => getComputedStyle(el).position") == "absolute"  # the .picker-list rule
    assert _walk(chromium, live_server, "demo_operator", ["/cases/new"], act=pick) == []

    def reveal(page: Any) -> None:
        field = page.locator("#f-password")
        field.fill("a passphrase to check")
        button = page.locator(".reveal-btn").nth(1)
        assert button.inner_text() == "显示密码" and field.get_attribute("type") == "password"
        button.click()
        assert field.get_attribute("type") == "text" and button.get_attribute("aria-pressed") == "true"
        button.click()
        assert field.get_attribute("type") == "password" and button.inner_text() == "显示密码"
    assert _walk(chromium, live_server, "demo_operator", ["/account"], act=reveal) == []


@pytest.mark.parametrize("width", [1366, 390])
def test_the_login_password_field_keeps_its_width_beside_its_button(chromium: Any, live_server: str, width: int) -> None:
    """The login card's full-width button rule must not stretch the show/hide button over the field."""
    context = chromium.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    field, button = page.locator("#password").bounding_box(), page.locator(".reveal-btn").bounding_box()
    card = page.locator(".login-card").bounding_box()
    context.close()
    assert field["width"] > 2 * button["width"], (field, button)
    assert button["x"] + button["width"] <= card["x"] + card["width"], (button, card)  # inside the card
