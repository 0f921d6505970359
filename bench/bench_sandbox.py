#!/usr/bin/env python
"""Per-evaluation cost of the process sandbox (issue 10: budgets and size guards).

Prints the median cost, in microseconds, of what the engine evaluates on every request:

- typical gateway conditions and task properties (``urgency == 'urgent'``, ``rework_count + 1``),
- a typical script task (``rework_count = rework_count + 1``),
- the two shipped DMN tables decided in full by SpiffWorkflow's DMN engine on the sandboxed
  script engine (``dispatch_proposal``: 32 rules, 195 cells; ``starting_tier``: 9 rules),
- a loop of 1,000 steps (the cost of one deadline check per step).

It uses only what every version of ``app.engine.sandbox`` offers, so the same file measures the
code before and after a change: run it from the repository root, then with ``PYTHONPATH`` set to
another checkout, and compare::

    PYTHONPATH=. .venv/bin/python bench/bench_sandbox.py
    PYTHONPATH=/path/to/other/checkout .venv/bin/python bench/bench_sandbox.py

Each figure is the best and the median of --repeats runs of --number evaluations (about 20 s in
all on 2 cores).
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.engine.sandbox import RestrictedEnvironment, RestrictedScriptEngine

ROOT = Path(__file__).resolve().parents[1]
DATA = {"urgency": "normal", "rework_count": 2, "category_kind": "component", "category_major": "01",
        "grid_unit": "d1-s1-c1", "items": list(range(10)), "tier": "street"}
EXPRESSIONS = {
    "condition: urgency == 'urgent'": "urgency == 'urgent'",
    "condition: two tests": "grid_unit is not None and category_kind == 'event'",
    "property: rework_count + 1": "rework_count + 1",
    "property: f-string": "f'{tier}-{rework_count:02d}'",
}
SCRIPTS = {
    "script: rework_count += 1": "rework_count = rework_count + 1",
    "script: loop of 1,000 steps": "n = 0\nfor i in range(1000):\n    n += i",
}


def measure_us(function: Callable[[], Any], number: int, repeats: int) -> tuple[float, float]:
    """(best, median) of ``repeats`` runs, in microseconds per call: on a shared machine the best
    run is the one least disturbed by other processes."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(number):
            function()
        runs.append((time.perf_counter() - started) / number * 1e6)
    return min(runs), statistics.median(runs)


def dmn_engine(name: str) -> Any:
    parser = SpiffBpmnParser()
    parser.add_dmn_xml(etree.fromstring((ROOT / "rules" / f"{name}.dmn").read_bytes()), filename=f"{name}.dmn")
    return parser.get_engine(name, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--number", type=int, default=2000, help="evaluations per run (default 2000)")
    ap.add_argument("--repeats", type=int, default=7, help="runs per figure; the median is printed (default 7)")
    args = ap.parse_args()

    import app.engine.sandbox as sandbox
    print(f"sandbox: {sandbox.__file__}")
    env = RestrictedEnvironment()
    engine = RestrictedScriptEngine(env)
    task = SimpleNamespace(data=dict(DATA), workflow=SimpleNamespace(script_engine=engine),
                           task_spec=SimpleNamespace(bpmn_id="bench", name="bench"))
    rows: list[tuple[str, tuple[float, float]]] = []
    for label, source in EXPRESSIONS.items():
        env.evaluate(source, dict(DATA))
        rows.append((label, measure_us(lambda s=source: engine.evaluate(task, s), args.number, args.repeats)))
    for label, source in SCRIPTS.items():
        number = args.number if "loop" not in label else max(args.number // 20, 10)
        rows.append((label, measure_us(lambda s=source: env.execute(s, dict(DATA)), number, args.repeats)))
    for name in ("dispatch_proposal", "starting_tier"):
        table = dmn_engine(name)
        table.decide(task)
        number = max(args.number // 10, 10)
        rows.append((f"DMN table {name} (decide)", measure_us(lambda t=table: t.decide(task), number, args.repeats)))
    width = max(len(label) for label, _ in rows)
    print(f"{'µs per evaluation':<{width}}  {'best':>9}  {'median':>9}")
    for label, (best, median) in rows:
        print(f"{label:<{width}}  {best:9.2f}  {median:9.2f}")


if __name__ == "__main__":
    main()
