"""No 5xx under fuzzing: schemathesis over /api/v1/openapi.json, as every demo role (tests/fuzzing.py).

Two runs per role. Every operation on its own, with generated valid and invalid input (path ids,
query values, bodies): no answer may be a 5xx, and each answer's status, content type and body
must be ones the document gives. Then stateful scenarios that follow the OpenAPI links of
``app.api.openapi.LINKS`` from ``POST /cases`` to the new case, its attachments and duplicates,
its open task (claim, complete, reassign, urge, escalate, return, extension) and the requests
those create, so the fuzzer works on real objects instead of ids that do not exist.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from flask import Flask

from app.api.openapi import spec_dict
from tests.fuzzing import CONFORMANCE, EXAMPLES, ROLES, fuzz_config, run_scenarios, tally

#: the values of the demo data that work here (tests/conftest.py loads the demo city and the catalogue)
CATEGORIES = ("component:01002", "event:06001", "event:05003", "event:06010")
COMMUNITIES = ("d1-s1-c1", "d1-s1-c2", "d1-s2-c1", "d1-s2-c2", "d2-s1-c1", "d2-s1-c2", "d2-s2-c1", "d2-s2-c2")


def fuzz_spec(replays: bool = True) -> dict[str, Any]:
    """The document /api/v1/openapi.json serves, told this deployment's vocabulary for a new case:
    categories of the loaded catalogue, the demo communities, points inside the demo city. Valid
    cases then get filed (and the links followed); schemathesis' negative mode still sends every
    other value. Without ``replays`` a new case has no Idempotency-Key nor external_id: a repeated
    one would answer 200 instead of 201 and steer a replayed scenario elsewhere."""
    doc = copy.deepcopy(spec_dict())
    new_case = doc["components"]["schemas"]["CaseCreate"]["properties"]
    new_case["category_code"] = {"type": "string", "enum": list(CATEGORIES), "nullable": True}
    new_case["grid_unit"] = {"type": "string", "enum": list(COMMUNITIES), "nullable": True}
    new_case["lat"] = {"type": "number", "minimum": 31.15, "maximum": 31.30, "nullable": True}
    new_case["lng"] = {"type": "number", "minimum": 121.35, "maximum": 121.55, "nullable": True}
    if not replays:
        del new_case["external_id"]
        del doc["paths"]["/api/v1/cases"]["post"]["parameters"]
    return doc


#: called in-process (WSGI) with each role's bearer token: every operation with valid and invalid
#: input; the scenarios with valid input, so that cases get filed and the links lead somewhere
schema = schemathesis.openapi.from_dict(fuzz_spec(), config=fuzz_config(**CONFORMANCE))
scenarios = schemathesis.openapi.from_dict(fuzz_spec(replays=False), config=fuzz_config(mode="positive", **CONFORMANCE))


@pytest.fixture(scope="module")
def tokens(app: Flask) -> dict[str, str]:
    """A bearer token per role from the real token endpoint, for the fuzzer alone: what it does
    with them (an operation that ends a token) stays away from the other tests' cached tokens."""
    client = app.test_client()
    out = {}
    for role in ROLES:
        r = client.post("/api/v1/auth/token", json={"username": role, "password": "demo"})
        assert r.status_code == 200, r.get_json()
        out[role] = r.get_json()["token"]
    return out


@pytest.fixture()
def bearer(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
def test_no_operation_answers_5xx(case: Any, app: Flask, role: str, bearer: dict[str, str]) -> None:
    response = case.call(headers=bearer, app=app)
    tally(f"API as {role}").add(case.operation.label, response.status_code)
    case.validate_response(response, headers=bearer)


@pytest.mark.parametrize("role", ROLES)
def test_no_scenario_answers_5xx(app: Flask, role: str, bearer: dict[str, str]) -> None:
    """Stateful: sequences of calls along the declared links, starting from a new case or a list."""
    counted = run_scenarios(scenarios, f"API scenarios as {role}", {"headers": bearer, "app": app},
                            examples=2 * EXAMPLES, steps=10)
    assert counted.calls > 0 and "POST /api/v1/cases" in counted.operations
