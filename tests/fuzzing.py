"""What the fuzz tests share (tests/api/test_fuzz.py, tests/open311/test_fuzz.py): the roles they
run as, schemathesis' configuration and the figures they print.

The runs are deterministic (derandomized Hypothesis, a fixed seed, no example database), so a
failure found in CI repeats on a laptop. ``TONGGUAN_FUZZ_EXAMPLES`` scales every run: the default
(8) keeps the suite's added time to well under a minute per database; 100 or more is a deeper hunt:

    TONGGUAN_FUZZ_EXAMPLES=100 pytest -q tests/api/test_fuzz.py tests/open311/test_fuzz.py
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from schemathesis.config import SchemathesisConfig

#: every demo role (app/orgs/demo.py); each one fuzzes the API with its own bearer token
ROLES = ("demo_operator", "demo_dispatcher", "demo_grid_worker", "demo_handler", "demo_supervisor",
         "demo_leader", "demo_designer", "demo_admin")

EXAMPLES = int(os.environ.get("TONGGUAN_FUZZ_EXAMPLES", "8"))
#: beyond "no 5xx": every answer's status, content type and body are the ones the document gives
CONFORMANCE = {"status_code_conformance": True, "content_type_conformance": True, "response_schema_conformance": True}
SEED = 20261129


def fuzz_config(examples: int = EXAMPLES, steps: int = 6, mode: str = "all", **checks: bool) -> SchemathesisConfig:
    """schemathesis' settings: examples per operation, steps per stateful scenario, valid input
    (``positive``), invalid input (``negative``) or both (``all``), and the checks.

    ``not_a_server_error`` is always on; others are switched on by name (``response_schema_conformance=True``).
    The bearer token is the test's (each role's): schemathesis does not make up Authorization headers.
    """
    enabled = {"not_a_server_error": True, **checks}
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"max-examples": examples, "deterministic": True, "database": "none", "mode": mode,
                       "with-security-parameters": False},
        # the coverage phase enumerates every boundary of every parameter: hundreds of calls per
        # operation, too many for the suite; the fuzzing phase (valid and invalid input) stays
        "phases": {"coverage": {"enabled": False}, "stateful": {"max-steps": steps}},
        "checks": {"enabled": False, **{name: {"enabled": on} for name, on in enabled.items()}},
        "suppress-health-check": ["all"],
    })


@dataclass
class Tally:
    """Calls and answers of one run, for the figures the test prints (``pytest -s`` shows them)."""

    name: str
    calls: int = 0
    operations: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    scenarios: int = 0
    note: str = ""

    def add(self, operation: str, status: int) -> None:
        self.calls += 1
        self.operations.add(operation)
        self.statuses[status] += 1

    def summary(self) -> str:
        server_errors = sum(n for status, n in self.statuses.items() if status >= 500)
        statuses = ", ".join(f"{s}×{n}" for s, n in sorted(self.statuses.items()))
        scenarios = f", {self.scenarios} scenarios" if self.scenarios else ""
        return (f"fuzz {self.name}: {len(self.operations)} operations, {self.calls} calls{scenarios}, "
                f"5xx = {server_errors} ({statuses}){self.note}")


#: this session's runs by name; tests/conftest.py prints their summaries after the tests
TALLIES: dict[str, Tally] = {}


def tally(name: str) -> Tally:
    return TALLIES.setdefault(name, Tally(name))


def run_scenarios(schema: Any, name: str, call_kwargs: dict[str, Any], examples: int, steps: int,
                  checks: tuple[Callable[..., Any], ...] = ()) -> Tally:
    """Run schemathesis' state machine over ``schema`` (its OpenAPI links) and count its calls.

    The API keeps what each scenario did (cases filed, tasks claimed), so when Hypothesis replays a
    prefix of choices the same steps may no longer be drawn, and it raises ``Flaky``: schemathesis'
    own runner counts that as a pass unless a check failed, and so does this (a failed check is
    raised as it was found)."""
    counted = tally(name)
    failures: list[str] = []

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            counted.scenarios += 1

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return dict(call_kwargs)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            counted.add(case.operation.label, response.status_code)

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, [*checks, *(additional_checks or [])], **kwargs)
            except Exception as exc:
                failures.append(f"{case.operation.label}: {exc}")
                raise

    try:
        Scenarios.run(settings=hypothesis.settings(
            max_examples=examples, stateful_step_count=steps, derandomize=True, database=None, deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate]))
    except hypothesis.errors.Flaky:
        if failures:
            raise
        counted.note = " (replay diverged: stopped early)"
    return counted
