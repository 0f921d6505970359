#!/usr/bin/env python
"""Speed of a draft's test run and diff (``/api/v1/processes/test-runs``, ``/api/v1/processes/diff``).

A fresh SQLite database (or ``--database-url``, whose public schema is DROPPED and recreated: a
scratch database only) gets the demo city and the shipped bundle deployed. Then, through the API
in-process (Flask test client, no network), as ``demo_designer``:

  start        a test run of a draft (the loop with one step added, and its form), to its first task
  start-cold   the same with a draft not parsed before (a new file content each time)
  step         one completion (现场核实) of a started run
  walk         the whole loop, 8 completions, to the end
  diff         the draft's two files against the deployed bundle

each ``--rounds`` times; prints median and p95 in milliseconds.

    .venv/bin/python bench/bench_testrun.py
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_app  # noqa: E402
from tests.designer.test_testrun import LOOP_STEPS, REVIEW_DRAFT, START, STEPS  # noqa: E402

URL = "/api/v1/processes/test-runs"


def timed(rounds: int, fn: Callable[[int], Any]) -> list[float]:
    out = []
    for i in range(rounds):
        started = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    print(f"{name:<11} n={len(ms):<4} median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    app, url = scratch_app(args.database_url, "bench_testrun_", (("db", "upgrade"), ("demo", "load"), ("processes", "deploy")))
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "demo_designer", "password": "demo"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def post(path: str, body: Any, expect: int = 200) -> Any:
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == expect, (path, r.status_code, r.get_json())
        return r.get_json()

    def start(_i: int) -> Any:
        return post(URL, {"files": REVIEW_DRAFT, "data": START}, 201)

    def start_cold(i: int) -> Any:
        files = {**REVIEW_DRAFT, "forms/review_case.json": REVIEW_DRAFT["forms/review_case.json"] + " " * (i + 1)}
        return post(URL, {"files": files, "data": START}, 201)

    def complete(run: dict[str, Any], element: str) -> Any:
        task = next(w for w in run["waiting"] if w["element"] == element)
        return post(f"{URL}/{run['id']}/tasks/{task['id']}", {"data": STEPS[element]})

    report("start", timed(args.rounds, start))
    report("start-cold", timed(args.rounds, start_cold))
    steps = []
    for _ in range(args.rounds):  # a designer keeps 20 runs: each step on a run just started
        run = start(0)
        began = time.perf_counter()
        complete(run, "verify_on_site")
        steps.append((time.perf_counter() - began) * 1000)
    report("step", steps)

    def walk(_i: int) -> None:
        run = start(0)
        for element in LOOP_STEPS:
            run = complete(run, element)
        assert run["status"] == "completed"
    report("walk", timed(max(1, args.rounds // 5), walk))
    report("diff", timed(args.rounds, lambda _i: post("/api/v1/processes/diff", {"files": REVIEW_DRAFT})))


if __name__ == "__main__":
    main()
