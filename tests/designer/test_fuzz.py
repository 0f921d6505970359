"""No 5xx in scenarios of the designer's test-run and diff operations: schemathesis follows the
links from a new test run (POST /api/v1/processes/test-runs) to reading, stepping, signalling,
firing timers and deleting it, as a designer and as an administrator. (tests/api/test_fuzz.py
fuzzes each operation on its own as every role; its case scenarios leave these out.)"""
from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from flask import Flask

from app.api.openapi import spec_dict
from tests.fuzzing import CONFORMANCE, EXAMPLES, fuzz_config, run_scenarios


def designer_spec() -> dict[str, Any]:
    """Only the designer's operations; start data the demo city knows, so runs start and link on."""
    doc = copy.deepcopy(spec_dict())
    doc["paths"] = {p: ops for p, ops in doc["paths"].items() if p.startswith("/api/v1/processes")}
    start = doc["components"]["schemas"]["TestRunCreate"]["properties"]
    start["data"] = {"type": "object", "properties": {
        "grid_unit": {"type": "string", "enum": ["d1-s1-c1", "d2-s2-c2"]},
        "category_code": {"type": "string", "enum": ["component:01002", "event:06010"]}},
        "required": ["grid_unit", "category_code"], "additionalProperties": False}
    start["files"] = {"type": "object", "maxProperties": 0}
    return doc


scenarios = schemathesis.openapi.from_dict(designer_spec(), config=fuzz_config(mode="positive", **CONFORMANCE))


@pytest.mark.parametrize("role", ["demo_designer", "demo_admin"])
def test_no_test_run_scenario_answers_5xx(app: Flask, role: str) -> None:
    token = app.test_client().post("/api/v1/auth/token", json={"username": role, "password": "demo"}).get_json()["token"]
    counted = run_scenarios(scenarios, f"test-run scenarios as {role}", {"headers": {"Authorization": f"Bearer {token}"},
                                                                        "app": app}, examples=2 * EXAMPLES, steps=8)
    assert counted.statuses[201] > 0 and counted.statuses[401] == 0, counted.summary()
    assert "POST /api/v1/processes/test-runs/{run_id}/tasks/{task_id}" in counted.operations, counted.summary()
