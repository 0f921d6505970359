"""Shared pieces of the Open311 tests (a plain module: conftest.py is loaded by pytest itself)."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any

V2 = "/open311/v2"
SERVICE = "event-06001"  # 私搭乱建 in the GB/T 47678.5 directory the tests load
SERVICE_KEY = "event:06001"


def base_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"api_key": "demo", "service_code": SERVICE, "lat": "31.2301", "long": "121.5002",
                              "address_string": "示范市东湖区湖滨街道滨江路 8 号", "first_name": "三",
                              "last_name": "张", "phone": "13900139000", "email": "zhang.san@example.cn",
                              "description": f"人行道上有人私自搭建棚子 #{uuid.uuid4().hex[:10]}"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def xml(response: Any) -> ET.Element:
    assert response.content_type == "text/xml; charset=utf-8", response.content_type
    text = response.get_data(as_text=True)
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.get_data())


def xml_items(element: ET.Element) -> list[dict[str, str | None]]:
    """The children of a list root (service_requests, services, errors) as flat dicts."""
    return [{child.tag: child.text for child in item} for item in element]
