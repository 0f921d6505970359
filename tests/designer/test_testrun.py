"""Test runs of a draft: the same engine as live cases, and nothing of it in the real tables."""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask


def test_smoke(app: Flask, api: Callable[[str], Any]) -> None:
    r = api("demo_designer").post("/api/v1/processes/test-runs", json={"files": {}, "data": {"grid_unit": "d1-s1-c1", "category_code": "component:01002"}})
    print(r.status_code, r.get_json())
    assert r.status_code == 201
