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
from app.core.db import session, transaction
from tests.fuzzing import CONFORMANCE, EXAMPLES, ROLES, fuzz_config, run_scenarios, tally

LOGIN = "POST /api/v1/auth/token"  # answers 401 to wrong credentials: that is its job
ENDS_ITS_TOKEN = "POST /api/v1/auth/revoke"  # called with a token of its own, or the role's would die

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
        # the scenarios follow the links from a new case; the process designer's operations and the
        # leaders' read-only figures (KPIs, hot spots, cockpit and its map) link nowhere: as extra
        # starting points they only thin out the draws that file a case (each of them is fuzzed on
        # its own above; their flows are tested in tests/designer, tests/kpis, tests/cockpit, ...)
        for path in [p for p in doc["paths"] if p.startswith(NO_LINKS)]:
            del doc["paths"][path]
        del new_case["external_id"]
        del doc["paths"]["/api/v1/cases"]["post"]["parameters"]
        del doc["paths"]["/api/v1/auth/revoke"]  # ending the scenario's own token ends the scenario
    return doc


NO_LINKS = ("/api/v1/processes", "/api/v1/kpis", "/api/v1/hotspots", "/api/v1/cockpit")

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


def throwaway_token(app: Flask, role: str) -> dict[str, str]:
    """A fresh bearer token of ``role`` for one call that may end it."""
    from sqlalchemy import select

    from app.orgs.models import User
    from app.security.sessions import open_api_token
    with app.test_request_context(), transaction():
        _row, secret = open_api_token(session.scalar(select(User.id).where(User.username == role)))
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
def test_no_operation_answers_5xx(case: Any, app: Flask, role: str, bearer: dict[str, str]) -> None:
    headers = throwaway_token(app, role) if case.operation.label == ENDS_ITS_TOKEN else bearer
    response = case.call(headers=headers, app=app)
    tally(f"API as {role}").add(case.operation.label, response.status_code)
    case.validate_response(response, headers=headers)
    # the role's token must stay good: a 401 elsewhere means the fuzzer runs unauthenticated
    assert response.status_code != 401 or case.operation.label in (LOGIN, ENDS_ITS_TOKEN), \
        (case.operation.label, response.get_data(as_text=True)[:300])


@pytest.mark.parametrize("role", ROLES)
def test_no_scenario_answers_5xx(app: Flask, role: str, bearer: dict[str, str]) -> None:
    """Stateful: sequences of calls along the declared links, starting from a new case or a list."""
    counted = run_scenarios(scenarios, f"API scenarios as {role}", {"headers": bearer, "app": app},
                            examples=2 * EXAMPLES, steps=10)
    assert counted.calls > 0 and "POST /api/v1/cases" in counted.operations
    assert counted.statuses[401] == 0, counted.summary()  # valid input with a valid token: never unauthenticated
    assert counted.statuses[201] > 0, counted.summary()  # cases were filed, so the links led somewhere
