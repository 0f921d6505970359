"""What the fuzz tests share (tests/api/test_fuzz.py, tests/open311/test_fuzz.py): the roles they
run as, schemathesis' configuration and the figures they print.

The runs are deterministic (derandomized Hypothesis, a fixed seed, no example database), so a
failure found in CI repeats on a laptop. ``TONGGUAN_FUZZ_EXAMPLES`` scales every run: the default
keeps the suite's added time to about a minute per database; 100 or more is a deeper hunt.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from schemathesis.config import SchemathesisConfig

#: every demo role (app/orgs/demo.py); each one fuzzes the API with its own bearer token
ROLES = ("demo_operator", "demo_dispatcher", "demo_grid_worker", "demo_handler", "demo_supervisor",
         "demo_leader", "demo_designer", "demo_admin")

EXAMPLES = int(os.environ.get("TONGGUAN_FUZZ_EXAMPLES", "8"))
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

    def add(self, operation: str, status: int) -> None:
        self.calls += 1
        self.operations.add(operation)
        self.statuses[status] += 1

    def summary(self) -> str:
        server_errors = sum(n for status, n in self.statuses.items() if status >= 500)
        statuses = ", ".join(f"{s}×{n}" for s, n in sorted(self.statuses.items()))
        return (f"fuzz {self.name}: {len(self.operations)} operations, {self.calls} calls, "
                f"5xx = {server_errors} ({statuses})")


#: this session's runs by name; tests/conftest.py prints their summaries after the tests
TALLIES: dict[str, Tally] = {}


def tally(name: str) -> Tally:
    return TALLIES.setdefault(name, Tally(name))
