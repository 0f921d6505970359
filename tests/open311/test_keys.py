"""API keys: issued by an administrator (web page or CLI), shown once, stored as a hash, revoked;
the demo data's key ``demo``. Every change is audited."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from tests.open311.helpers import V2, base_params


def _audit(in_app: Callable[..., Any], action: str) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        from sqlalchemy import select
        from app.core.audit import AuditEvent
        from app.core.db import session
        return [dict(e.detail, actor=e.actor_name) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]
    return in_app(read)


def test_issue_use_and_revoke_through_the_cli(app: Flask, client: FlaskClient, in_app: Callable[..., Any]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["open311", "issue-key", "随手拍 App"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    assert len(plaintext) >= 32
    assert client.post(f"{V2}/requests.json", data=base_params(api_key=plaintext)).status_code == 201

    listed = runner.invoke(args=["open311", "keys"]).output
    line = next(ln for ln in listed.splitlines() if "随手拍 App" in ln)
    assert plaintext[:8] in line and "active" in line and plaintext not in listed

    def stored() -> tuple[str, str]:
        from sqlalchemy import select
        from app.core.db import session
        from app.open311.models import ApiKey
        key = session.scalar(select(ApiKey).where(ApiKey.prefix == plaintext[:8]))
        return key.key_hash, key.prefix
    key_hash, prefix = in_app(stored)
    import hashlib
    assert key_hash == hashlib.sha256(plaintext.encode()).hexdigest()  # only the hash is kept

    revoked = runner.invoke(args=["open311", "revoke-key", prefix])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    r = client.post(f"{V2}/requests.json", data=base_params(api_key=plaintext))
    assert r.status_code == 403 and "revoked" in r.get_json()[0]["description"]
    again = runner.invoke(args=["open311", "revoke-key", prefix])
    assert again.exit_code != 0 and "revoked already" in again.output
    assert runner.invoke(args=["open311", "revoke-key", "zzzzzzzz"]).exit_code != 0
    assert runner.invoke(args=["open311", "issue-key", " "]).exit_code != 0

    issued = [e for e in _audit(in_app, "open311_key_issued") if e.get("prefix") == prefix]
    assert issued and issued[0]["name"] == "随手拍 App"
    assert [e["prefix"] for e in _audit(in_app, "open311_key_revoked")].count(prefix) == 1


def test_the_demo_key_is_loaded_once(app: Flask, in_app: Callable[..., Any]) -> None:
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0

    def demo_keys() -> int:
        from sqlalchemy import func, select
        from app.core.db import session
        from app.open311.models import ApiKey
        from app.open311.operations import ensure_demo_key, key_hash
        assert ensure_demo_key() is False
        return session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.key_hash == key_hash("demo")))
    assert in_app(demo_keys) == 1


def test_admin_page_issues_shows_once_and_revokes(app: Flask, login: Callable[..., Any],
                                                   in_app: Callable[..., Any]) -> None:
    browser = app.test_client()
    assert login(browser, "demo_admin").status_code == 302
    page = browser.get("/admin/api-keys")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "API 密钥" in html and "demo…" in html and "/open311/v2" in html

    refused = browser.post("/admin/api-keys", data={"name": "", "csrf_token": csrf_token(html)})
    assert refused.status_code == 422 and "field-error" in refused.get_data(as_text=True)
    assert browser.post("/admin/api-keys", data={"name": "no csrf"}).status_code == 400

    issued = browser.post("/admin/api-keys", data={"name": "网格通 App", "csrf_token": csrf_token(html)})
    assert issued.status_code == 201
    body = issued.get_data(as_text=True)
    m = re.search(r"data-api-key>([^<]+)<", body)
    assert m, body
    plaintext = m.group(1)
    assert browser.post(f"{V2}/requests.json", data=base_params(api_key=plaintext)).status_code == 201
    later = browser.get("/admin/api-keys").get_data(as_text=True)
    assert plaintext not in later and f"{plaintext[:8]}…" in later and "网格通 App" in later

    key_id = int(re.search(r'data-key="(\d+)"', later.split("网格通 App")[0].rsplit("<tr", 1)[1]).group(1))  # type: ignore[union-attr]
    done = browser.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": csrf_token(later)})
    assert done.status_code == 302
    assert browser.post(f"{V2}/requests.json", data=base_params(api_key=plaintext)).status_code == 403
    assert any(e.get("name") == "网格通 App" and e["actor"] == "demo_admin" for e in _audit(in_app, "open311_key_issued"))
    assert any(e.get("key_id") == key_id and e["actor"] == "demo_admin" for e in _audit(in_app, "open311_key_revoked"))


def test_only_admins_see_the_page(app: Flask, login: Callable[..., Any]) -> None:
    browser = app.test_client()
    login(browser, "demo_operator")
    assert browser.get("/admin/api-keys").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/admin/api-keys").status_code == 302
