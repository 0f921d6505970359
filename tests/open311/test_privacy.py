"""GET requests is public: only cases of the public channels, and nothing about who reported them."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.open311.helpers import V2


def test_a_hotline_case_is_not_shown(client: FlaskClient, make_case: Callable[..., dict[str, Any]]) -> None:
    hotline = make_case(channel="hotline")
    for fmt in ("json", "xml"):
        assert client.get(f"{V2}/requests/{hotline['id']}.{fmt}").status_code == 404
    listed = client.get(f"{V2}/requests.json", query_string={"service_request_id": str(hotline["id"])})
    assert listed.status_code == 200 and listed.get_json() == []
    assert all(r["service_request_id"] != str(hotline["id"]) for r in client.get(f"{V2}/requests.json").get_json())
    for channel in ("mailbox", "police110", "wechat", "weibo"):
        case = make_case(channel=channel)
        assert client.get(f"{V2}/requests/{case['id']}.json").status_code == 404, channel


def test_public_cases_show_no_reporter_data(client: FlaskClient, make_case: Callable[..., dict[str, Any]],
                                            filed: Callable[..., dict[str, Any]]) -> None:
    grid = make_case(channel="grid", reporter={"name": "李网格", "phone": "13700137000"})
    own = filed(first_name="小明", last_name="王", phone="13600136000", email="wang@example.cn", device_id="dev-xyz",
                account_id="acct-42")
    ids = f"{grid['id']},{own['service_request_id']}"
    for fmt in ("json", "xml"):
        text = client.get(f"{V2}/requests.{fmt}", query_string={"service_request_id": ids}).get_data(as_text=True)
        assert str(grid["id"]) in text and own["service_request_id"] in text
        for private in ("李网格", "13700137000", "王小明", "13600136000", "wang@example.cn", "dev-xyz", "acct-42",
                        "reporter", "email", "phone", "device_id", "account_id"):
            assert private not in text, (fmt, private)


def test_public_channels_are_a_setting(client: FlaskClient, make_case: Callable[..., dict[str, Any]]) -> None:
    settings = client.application.config["SETTINGS"]
    case = make_case(channel="hotline")
    old = settings.OPEN311_PUBLIC_CHANNELS
    settings.OPEN311_PUBLIC_CHANNELS = "open311,grid,city_mgmt,hotline"
    try:
        assert client.get(f"{V2}/requests/{case['id']}.json").status_code == 200
    finally:
        settings.OPEN311_PUBLIC_CHANNELS = old
    assert client.get(f"{V2}/requests/{case['id']}.json").status_code == 404


def test_settings_are_checked() -> None:
    import pytest
    from app.config import ConfigError, load_settings
    with pytest.raises(ConfigError, match="OPEN311_PUBLIC_CHANNELS"):
        load_settings({"ENV": "testing", "OPEN311_PUBLIC_CHANNELS": "open311,gossip"})
    with pytest.raises(ConfigError, match="OPEN311_JURISDICTION"):
        load_settings({"ENV": "testing", "OPEN311_JURISDICTION": "a b"})
