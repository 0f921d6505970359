#!/usr/bin/env python
"""Intake throughput through Open311 ``POST requests`` against the plain API's ``POST /api/v1/cases``.

Both run over real HTTP against ``gunicorn -w 2 wsgi:app`` on a fresh database, with the same
content per request: a different report each time from bench_api's corpus (2,000 reports of
places and problems: text, address, location, category, reporter phone), the same sequence for
both kinds:

  api      POST /api/v1/cases                  JSON, bearer token of demo_operator, channel "open311"
  open311  POST /open311/v2/requests.json      form-encoded, api_key "demo", service_code from the category

Each kind files into a fresh database of its own, served by its own gunicorn; runs alternate
(api, open311, open311, api, …) so both see the same machine and about as many stored cases; the
medians of the runs are compared, and each pair of neighbouring runs is shown too. The goal: Open311 within 20 % of the plain API (ratio >= 0.80).

The machinery is bench/bench_api.py's: fresh databases (SQLite file, or scratch PostgreSQL
databases with --pg), the documented set-up through the real CLI, gunicorn in its own process
group (always stopped), wrk when installed (``apt-get install -y wrk``) else a Python client.

    .venv/bin/python bench/bench_open311.py            # SQLite
    .venv/bin/python bench/bench_open311.py --pg       # PostgreSQL (--database-url to choose the server)
    .venv/bin/python bench/bench_open311.py --quick    # smoke run
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api as B  # noqa: E402 - the shared machinery (databases, server, wrk, statistics)

GOAL_RATIO = 0.80


BODIES = 8000  # reports prepared per kind
RUN_SLICE = 1800  # reports a run may send (about 10 s at well over 100/s); runs of a kind use distinct slices


def report(i: int) -> dict[str, Any]:
    """Different reports in turn, each from another citizen (bench_api's corpus: places, problems
    and their categories)."""
    return B.intake_report(i)


def api_body(i: int) -> bytes:
    r = report(i)
    return json.dumps({"channel": "open311", "title": r["title"], "description": r["description"],
                       "address": r["address"], "lat": r["lat"], "lng": r["lng"], "category_code": r["category_code"],
                       "reporter": r["reporter"]}, ensure_ascii=False).encode()


def open311_body(i: int) -> bytes:
    r = report(i)
    return urlencode({"api_key": "demo", "service_code": r["category_code"].replace(":", "-"), "lat": r["lat"],
                      "long": r["lng"], "address_string": r["address"], "description": r["description"],
                      "first_name": "民", "last_name": "市", "phone": r["reporter"]["phone"]}).encode()


def target(kind: str, token: str) -> tuple[str, dict[str, str]]:
    if kind == "api":
        return "/api/v1/cases", {"Content-Type": "application/json", "Accept": "application/json",
                                 "Authorization": f"Bearer {token}"}
    return "/open311/v2/requests.json", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


# ============================================================================ load generators

def _worker(args: tuple[Any, ...]) -> tuple[list[float], dict[str, int], int, float]:
    """One client process: one keep-alive connection, requests back to back until the deadline."""
    port, kind, token, offset, start_at, duration = args
    path, headers = target(kind, token)
    make = api_body if kind == "api" else open311_body
    return B.post_loop(port, ((path, make(i)) for i in itertools.count(offset)), headers, start_at, duration)


def py_run(port: int, kind: str, token: str, connections: int, duration: float, offset: int) -> B.LoadResult:
    start_at = time.time() + 1.5
    jobs = [(port, kind, token, offset + n * 1_000_000, start_at, duration) for n in range(connections)]
    return B.pooled_load(_worker, jobs, start_at)


WRK_SCRIPT = B.WRK_COMMON + r"""
local kind = "__KIND__"
local offset = __OFFSET__
local counter = 0
local bodies = {__BODIES__}

function init(args)
  base_init()
  wrk.method = "POST"
  if kind == "api" then
    wrk.path = "/api/v1/cases"
  else
    wrk.path = "/open311/v2/requests.json"
    wrk.headers["Authorization"] = nil
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
  end
end

function request()
  counter = counter + 1
  -- a different report each time, the same reports for both kinds
  return wrk.format(nil, nil, nil, bodies[((offset + counter * nthreads + tid) % #bodies) + 1])
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end
"""


def wrk_run(gen: B.LoadGenerator, port: int, kind: str, token: str, duration: float, offset: int) -> B.LoadResult:
    make = api_body if kind == "api" else open311_body
    bodies = ",".join(f'"{B.lua_quote(make(i).decode())}"' for i in range(BODIES))
    script = (WRK_SCRIPT.replace("__KIND__", kind).replace("__OFFSET__", str(offset)).replace("__TOKEN__", token)
              .replace("__BODIES__", bodies))
    return gen._wrk(port, script, duration, gen.connections)


# ============================================================================ the comparison

def _first_requests(port: int, kind: str, token: str, n: int) -> None:
    path, headers = target(kind, token)
    make = api_body if kind == "api" else open311_body
    for i in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)  # new connections: both workers
        try:
            conn.request("POST", path, body=make(900_000_000 + i), headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != 201:
                raise B.BenchError(f"{kind}: HTTP {r.status} on the first requests")
        finally:
            conn.close()


def run_database(kind: str, args: argparse.Namespace, gen: B.LoadGenerator, logdir: Path) -> dict[str, Any]:
    """Each kind files into a database of its own (intake slows as a database fills up: the
    duplicate check has more cases to compare), served by its own gunicorn; runs alternate, so
    the n-th run of each kind sees about as many cases and the same machine."""
    dbs = B.Databases(kind, args.pg_server if kind == "postgresql" else None, args.keep_db)
    servers: dict[str, B.Server] = {}
    try:
        for what in ("api", "open311"):
            db = dbs.new(what)
            B.log(f"{kind}: setting up {db.label} (db upgrade, demo load, processes deploy, catalog load)")
            B.setup_database(db)  # db upgrade, catalog load, demo load, processes deploy
            servers[what] = B.Server(db, args.workers, logdir, f"{kind}-{what}").start()
        runs: dict[str, list[B.LoadResult]] = {"api": [], "open311": []}
        token = B.get_token(servers["api"].port, "demo_operator")
        calls = {"api": 0, "open311": 0}

        def one(what: str, duration: float) -> B.LoadResult:
            # each run of a kind sends the next slice of BODIES different reports (a report sent
            # twice by one citizen would be an exact repeat, merged at once); both kinds send the same
            offset = calls[what] * RUN_SLICE
            calls[what] += 1
            port = servers[what].port
            if gen.kind == "wrk":
                return wrk_run(gen, port, what, token, duration, offset)
            return py_run(port, what, token, args.connections, duration, offset)

        for what in ("api", "open311"):
            _first_requests(servers[what].port, what, token, 20)  # each worker loads the process, catalogue, ...
            warm = one(what, args.warmup)
            B.log(f"warm-up {what}: {warm.rps:.1f}/s, statuses {warm.statuses}")
        for r in range(args.repeats):
            for what in (("api", "open311") if r % 2 == 0 else ("open311", "api")):
                res = one(what, args.duration)
                B.log(f"{what:<8} run {r + 1}/{args.repeats}: {res.rps:.1f} cases/s, p50 {res.p50_ms:.1f} ms, "
                      f"p95 {res.p95_ms:.1f} ms, non-201 {res.count_not('201')}  [{res.client}]")
                runs[what].append(res)
        out: dict[str, Any] = {what: B.summarize(rs, "201") for what, rs in runs.items()}
        api, o311 = out["api"]["rps_median"], out["open311"]["rps_median"]
        out["ratio"] = round(o311 / api, 3) if api else None
        # the rate of each pair of neighbouring runs, which saw the same machine
        out["pair_ratios"] = [round(o.rps / a.rps, 3) if a.rps else None for a, o in zip(runs["api"], runs["open311"])]
        out["database"] = kind
        return out
    finally:
        for server in servers.values():
            server.stop()
        dbs.cleanup()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pg", action="store_true", help=f"run on PostgreSQL (--database-url, default {B.DEFAULT_PG})")
    p.add_argument("--both", action="store_true", help="SQLite, then PostgreSQL")
    p.add_argument("--database-url", default=None, help="PostgreSQL server for scratch databases")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--connections", type=int, default=4, help="concurrent connections (default 4)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--duration", type=float, default=10, help="seconds per measured run (default 10)")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per kind (default 3)")
    p.add_argument("--repeats", type=int, default=3, help="measured runs per kind; medians compared (default 3)")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--quick", action="store_true", help="smoke run: 4 s runs, 1 repeat")
    p.add_argument("--output", help="JSON file (default bench/results/open311-<timestamp>.json)")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeats = 4, 1, 1
    args.kinds = ["sqlite", "postgresql"] if args.both else (["postgresql"] if args.pg or args.database_url else ["sqlite"])
    args.pg_server = args.database_url or B.DEFAULT_PG
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(B.ROOT)
    have_wrk = shutil.which("wrk") is not None
    if args.client == "wrk" and not have_wrk:
        print("error: --client wrk but wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    kind = "wrk" if args.client == "wrk" or (args.client == "auto" and have_wrk) else "python"
    if kind == "python":
        B.log(f"load generator: Python client ({args.connections} processes; wrk not used). It shares the 2 cores "
              "with the server: both rates are lower bounds, their ratio is what counts.")

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    workdir = Path(tempfile.mkdtemp(prefix="tongguan-bench-open311-"))
    gen = B.LoadGenerator(kind, args.connections, args.threads, workdir)
    started = datetime.now(timezone.utc)
    report: dict[str, Any] = {"meta": {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
                                       "git_commit": B.git_commit(), "git_uncommitted": B.git_dirty(),
                                       "workers": args.workers, "client": f"{kind} ({args.connections} connections)",
                                       "args": {k: v for k, v in vars(args).items()}}, "runs": {}}
    code = 0
    try:
        for db_kind in args.kinds:
            B.log(f"===== {db_kind} =====")
            before = B.cpu_check()
            B.log(f"machine: loadavg {before['loadavg']}, two busy loops at once take {before['factor']}x one alone")
            report["runs"][db_kind] = run_database(db_kind, args, gen, workdir) | {"machine_before": before,
                                                                                  "machine_after": B.cpu_check()}
    except B.BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    if report["runs"]:
        B.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = Path(args.output) if args.output else B.RESULTS_DIR / f"open311-{started:%Y%m%d-%H%M%S}.json"
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        print(f"\nOpen311 intake vs plain API  {report['meta']['date']}  gunicorn x{args.workers}  "
              f"client {report['meta']['client']}")
        for db_kind, r in report["runs"].items():
            ok = r["ratio"] is not None and r["ratio"] >= GOAL_RATIO
            print(f"  {db_kind:<10}  api {r['api']['rps_median']:7.1f} cases/s (p50 {r['api']['p50_ms_median']:.1f} ms)"
                  f"   open311 {r['open311']['rps_median']:7.1f} cases/s (p50 {r['open311']['p50_ms_median']:.1f} ms)"
                  f"   ratio {r['ratio']} (pairs {r['pair_ratios']})  {'OK' if ok else 'BELOW'} (goal >= {GOAL_RATIO})"
                  f"   non-201: {r['api']['bad_responses']} / {r['open311']['bad_responses']}"
                  f"   machine factor {r['machine_before']['factor']:.2f}/{r['machine_after']['factor']:.2f}")
        print(f"results written to {out}  (server logs in {workdir})")
    return code


if __name__ == "__main__":
    sys.exit(main())
