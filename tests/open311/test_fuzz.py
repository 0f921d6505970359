"""No 5xx under fuzzing, over Open311 GeoReport v2: every operation, in XML and JSON (tests/fuzzing.py).

Open311 answers every failure in GeoReport's format, and an unexpected exception as a 400 "general
service error" (the spec has no 5xx); that answer is a server error all the same, so it fails here
like a 500 would. Statuses and content types must be documented, and the JSON answers must match
the GeoReport schemas; the stateful run files requests and follows the links to the filed request
and its token.
"""
from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask

from tests.fuzzing import CONFORMANCE, EXAMPLES, fuzz_config, run_scenarios, tally
from tests.open311.openapi_spec import spec

#: every operation with valid and invalid input; the scenarios with valid input, so requests get filed
schema = schemathesis.openapi.from_dict(spec(), config=fuzz_config(**CONFORMANCE))
scenarios = schemathesis.openapi.from_dict(spec(replays=False), config=fuzz_config(mode="positive", **CONFORMANCE))


def no_general_service_error(ctx: Any, response: Any, case: Any) -> None:
    """The blueprint's catch-all answer hides an exception: it counts as a server error."""
    if b"general service error" in (response.content or b""):
        raise AssertionError(f"general service error (an unexpected exception) on {case.operation.label}")


@schema.parametrize()
def test_no_open311_operation_fails(case: Any, app: Flask) -> None:
    response = case.call(app=app)
    tally("Open311").add(case.operation.label, response.status_code)
    case.validate_response(response, additional_checks=[no_general_service_error])


def test_no_open311_scenario_fails(app: Flask) -> None:
    """Stateful: file requests, then read them back by id and by token along the links."""
    counted = run_scenarios(scenarios, "Open311 scenarios", {"app": app}, examples=2 * EXAMPLES, steps=8,
                            checks=(no_general_service_error,))
    assert counted.statuses[201] > 0 and "GET /requests/{service_request_id}.{format}" in counted.operations
