"""No 5xx under fuzzing, over Open311 GeoReport v2: every operation, in XML and JSON (tests/fuzzing.py).

Open311 answers every failure in GeoReport's format, and an unexpected exception as a 400 "general
service error" (the spec has no 5xx); that answer is a server error all the same, so it fails here
like a 500 would. The JSON answers must match the GeoReport schemas; the stateful run files
requests and follows the links to the filed request and its token.
"""
from __future__ import annotations

from typing import Any

import hypothesis
import schemathesis
from flask import Flask

from tests.fuzzing import EXAMPLES, fuzz_config, tally
from tests.open311.openapi_spec import spec

schema = schemathesis.openapi.from_dict(spec(), config=fuzz_config(response_schema_conformance=True))


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
    counted = tally("Open311 scenarios")

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"app": app}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            counted.add(case.operation.label, response.status_code)

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            super().validate_response(response, case, [no_general_service_error, *(additional_checks or [])],
                                      **kwargs)

    Scenarios.run(settings=hypothesis.settings(
        max_examples=max(EXAMPLES, 4), stateful_step_count=6, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate]))
    assert counted.calls > 0
    assert any(op.startswith("POST") for op in counted.operations)
