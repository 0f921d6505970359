#!/usr/bin/env python
"""Where does an API request spend its time? In-process profile of the real WSGI app.

Runs N requests of one kind through Flask's test client (the full app: routing, auth, schema,
operations, engine, ORM, commit, JSON answer; no HTTP server) on a fresh database, and reports:

  * wall time per request, and the time spent inside DB calls (cursor.execute + commit);
  * SQL statements per request, grouped by statement, with count and time;
  * a cProfile of the same requests (top functions by own time and by cumulative time).

    .venv/bin/python bench/profile_api.py intake                 # SQLite
    .venv/bin/python bench/profile_api.py complete --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/profile_api.py inbox -n 200
    .venv/bin/python bench/profile_api.py complete --breakdown     # time per step, no profiler
    .venv/bin/python bench/profile_api.py intake --under-load --py-spy /path/to/py-spy   # gunicorn + wrk

Logging is left as the app configures it (INFO, as gunicorn runs it), written to a file.
``--quiet-spiff`` raises the SpiffWorkflow loggers to WARNING to show what that logging costs.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_api as B  # noqa: E402


def normalize(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql).strip()
    sql = re.sub(r"\bIN \([^)]*\)", "IN (...)", sql)
    sql = re.sub(r"VALUES \(.*", "VALUES (...)", sql)
    return sql[:160]


class SqlMeter:
    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event
        self.stats: dict[str, list[float]] = defaultdict(list)
        self.on = False
        self._t: list[float] = []
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)
        event.listen(engine, "commit", self.commit_before)
        self.commits = 0

    def before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("t0", []).append(time.perf_counter())

    def after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        t0 = conn.info["t0"].pop()
        if self.on:
            self.stats[normalize(statement)].append(time.perf_counter() - t0)

    def commit_before(self, conn: Any) -> None:
        if self.on:
            self.commits += 1


def wrap_commit_timer(meter: SqlMeter, engine: Any) -> None:
    """Time COMMIT itself (the DBAPI commit is not a cursor execute)."""
    from sqlalchemy import event

    @event.listens_for(engine, "engine_connect")
    def _x(conn: Any) -> None:  # pragma: no cover - only to keep a reference
        pass

    original = engine.dialect.do_commit

    def timed_commit(dbapi_connection: Any) -> None:
        t0 = time.perf_counter()
        original(dbapi_connection)
        if meter.on:
            meter.stats["COMMIT"].append(time.perf_counter() - t0)

    engine.dialect.do_commit = timed_commit


class Breakdown:
    """Inclusive wall time of named steps, by wrapping the functions where they are looked up."""

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False
        self.order: list[str] = []

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:  # the app changes: time what exists
            return
        meter = self

        def timed(*a: Any, **kw: Any) -> Any:
            if not meter.on:
                return original(*a, **kw)
            t0 = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                meter.times[label] += time.perf_counter() - t0
                meter.calls[label] += 1

        setattr(owner, attr, timed)
        if label not in self.order:  # one label may time the same function in several modules
            self.order.append(label)

    def install(self) -> None:
        import flask
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from app.api import routes
        from app.cases import operations as case_ops
        from app.engine import host, serializer, stepping
        from app.forms import schema as forms
        from app.tasks import operations as task_ops
        from app.api import serialize
        from app.duplicates import operations as dup_ops, store as dup_store
        w = self.wrap
        w(flask.Flask, "full_dispatch_request", "flask: whole request (view + after_request commit)")
        w(routes, "api_principal", "  auth: api_principal (token + load_principal)")
        w(routes, "_body", "  request body: JSON + marshmallow load")
        w(routes, "_get_task", "  view: _get_task")
        w(routes, "_check_task_visible", "  view: _check_task_visible")
        w(case_ops, "create_case", "  operations.create_case")
        w(case_ops, "find_existing", "    find_existing (dedupe query)")
        w(case_ops, "validate_extension", "    validate_extension (channel form)")
        w(case_ops, "find_duplicates", "    find_duplicates (jieba + lookup + scoring)")
        w(dup_ops, "case_fingerprint", "      fingerprint (jieba keywords)")
        w(dup_store, "find", "      store.find (index lookup + fingerprints)")
        w(dup_ops, "best_matches", "      best_matches (scoring)")
        w(host, "start_case", "    host.start_case")
        w(host, "latest_definition", "      latest_definition (query)")
        w(host, "latest_definition_id", "      latest_definition_id (cached query)")
        w(case_ops, "file_new_case", "    file_new_case (index the new case)")
        w(task_ops, "complete_task", "  operations.complete_task")
        w(task_ops, "task_form", "    task_form (loads workflow row for definition_id)")
        w(forms, "validate", "    forms.validate (jsonschema)")
        w(host, "complete_task", "    host.complete_task")
        w(host, "_load", "      host._load (lock, refresh, deserialize)")
        w(serializer, "loads", "        serializer.loads")
        w(host, "_advance", "      host._advance")
        w(BpmnWorkflow, "do_engine_steps", "        engine: do_engine_steps")
        # the host's rooms (app/engine/*.py) call each other by their own module's names: time each
        w(stepping, "_project", "        _project")
        w(stepping, "dumps", "        serializer.dumps")
        w(stepping, "_sync_tasks", "        _sync_tasks (task rows + audit)")
        w(stepping, "_mirror_values", "        _mirror_values (case fields)")
        w(host, "_mirror_values", "        _mirror_values (case fields)")
        w(stepping, "_insert_tasks", "        _insert_tasks")
        w(host, "_insert_tasks", "        _insert_tasks")
        w(stepping, "write_pending", "        audit: write_pending")
        w(host, "write_pending", "        audit: write_pending")
        w(routes, "commit_before_answer", "  commit (before the answer)")
        w(routes, "case_dict", "  answer: case_dict (open tasks, candidates, history)")
        w(serialize, "open_task_rows", "    open_task_rows (query)")
        w(serialize, "history", "    history (query)")
        w(serialize, "candidates", "    candidates (query)")
        w(serialize, "duplicate_candidates", "    duplicate_candidates (query)")
        w(routes, "duplicate_candidates", "    duplicate_candidates of a new case (query)")
        w(serialize, "merged_cases", "    merged_cases (query)")
        w(serialize, "case_attachments", "    case_attachments (query)")
        w(routes, "inbox_rows", "  inbox_rows (query)")
        w(routes, "jsonify", "  answer: jsonify")

    def report(self, n: int) -> None:
        print(f"\n{'ms/req':>8} {'calls/req':>9}  step (inclusive wall time; indented = inside the line above)")
        for label in self.order:
            if self.calls[label]:
                print(f"{self.times[label] / n * 1000:8.2f} {self.calls[label] / n:9.2f}  {label}")


CATEGORIES = [  # (label, test on one py-spy frame "function (file:line)"), first match from the leaf up
    ("DB driver call: SQL, commit, waiting for the SQLite lock",
     lambda f: ("sqlalchemy/engine/default.py" in f
                and f.split(" ")[0].split(".")[-1] in ("do_execute", "do_executemany", "do_commit",
                                                       "do_execute_no_params", "do_rollback"))
     or "psycopg/" in f
     # SQLite connections run their SQL through the writers' lock wrapper (app/core/sqlite_writers.py)
     or ("sqlite_writers.py" in f and f.split(" ")[0].split(".")[-1] in (
         "execute", "executemany", "commit", "rollback", "take_writer_lock"))),
    ("jieba (keywords for duplicate detection)", lambda f: "jieba/" in f),
    ("logging", lambda f: "/logging/" in f),
    ("SpiffWorkflow engine", lambda f: "SpiffWorkflow/" in f),
    ("jsonschema (form validation)", lambda f: "jsonschema/" in f),
    ("marshmallow (request/answer schemas)", lambda f: "marshmallow/" in f),
    ("SQLAlchemy (Python side: ORM, unit of work, compile, rows)", lambda f: "sqlalchemy/" in f),
    ("JSON (orjson/json)", lambda f: "orjson" in f or "/json/" in f),
    ("itsdangerous (token)", lambda f: "itsdangerous/" in f),
    ("Flask / Werkzeug", lambda f: "flask/" in f or "werkzeug/" in f),
    ("app code (own lines)", lambda f: " (app/" in f),
    ("gunicorn (accept, parse, idle between requests)", lambda f: "gunicorn/" in f),
]


def under_load(args: argparse.Namespace) -> int:
    """Sample both gunicorn workers with py-spy while wrk drives the real HTTP load."""
    import shutil
    import subprocess
    pyspy = args.py_spy or shutil.which("py-spy")
    if not pyspy:
        print("py-spy not found: pip install py-spy (into any venv) and pass --py-spy PATH", file=sys.stderr)
        return 2
    kind = "postgresql" if args.database_url else "sqlite"
    dbs = B.Databases(kind, args.database_url, keep=False)
    workdir = Path(tempfile.mkdtemp(prefix="tongguan-pyspy-"))
    gen = B.LoadGenerator("wrk" if shutil.which("wrk") else "python", args.connections, 1, workdir)
    try:
        db = dbs.new("pyspy")
        B.setup_database(db)
        with B.Server(db, 2, workdir, "pyspy") as server:
            ids: list[int] = []
            if args.kind == "complete":
                with B.app_context(db):
                    B.create_cases_inprocess(int(args.seconds * 150) + 300, f"spy{time.time_ns()}")
                    ids = B.claim_open_tasks("file_case", "demo_dispatcher", int(args.seconds * 150) + 300)
                token = B.get_token(server.port, "demo_dispatcher")
                gen.complete(server.port, token, ids[:300], 30)
                ids = ids[300:]
            else:
                token = B.get_token(server.port, "demo_operator")
                gen.intake(server.port, token, f"spywarm{time.time_ns()}", 3)
            raw = workdir / "pyspy.txt"
            spy = subprocess.Popen([pyspy, "record", "--pid", str(server.proc.pid), "--subprocesses", "--idle",
                                    "--rate", "100", "--format", "raw", "--duration", str(int(args.seconds)),
                                    "--output", str(raw)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)
            if args.kind == "complete":
                res = gen.complete(server.port, token, ids, args.seconds)
            else:
                res = gen.intake(server.port, token, f"spy{time.time_ns()}", args.seconds)
            _, err = spy.communicate(timeout=120)
            if not raw.exists():
                print(f"py-spy failed: {err.decode(errors='replace')[-2000:]}", file=sys.stderr)
                return 1
        print(f"\n=== {args.kind} on {kind} under load ({res.client}): {res.rps:.1f}/s, p50 {res.p50_ms:.1f} ms, "
              f"p95 {res.p95_ms:.1f} ms; py-spy sampled both workers for {args.seconds:.0f} s (idle included)")
        by_cat: dict[str, int] = defaultdict(int)
        by_app: dict[str, int] = defaultdict(int)
        total = busy = 0
        for line in raw.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            if not any("SyncWorker" in f or "Worker." in f for f in frames):
                continue  # the arbiter (master) process: not a worker
            if not any("flask/" in f for f in frames):
                cat = "idle / gunicorn outside a request"
            else:
                cat = "other"
                for f in reversed(frames):
                    hit = next((label for label, test in CATEGORIES if test(f)), None)
                    if hit:
                        cat = hit
                        break
                busy += n
                for name in {f.rsplit(":", 1)[0] + ")" for f in frames if " (app/" in f}:
                    by_app[name] += n
            by_cat[cat] += n
            total += n
        print(f"\n{'share':>6} {'of busy':>8}  where the 2 workers' wall time goes (innermost matching frame)")
        for cat, n in sorted(by_cat.items(), key=lambda kv: -kv[1]):
            print(f"{n / total * 100:5.1f}% {'' if cat.startswith('idle') else f'{n / max(busy, 1) * 100:7.1f}%'}  {cat}")
        print(f"\n{'of busy':>8}  app functions on the stack (inclusive)")
        for name, n in sorted(by_app.items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"{n / max(busy, 1) * 100:7.1f}%  {name}")
        print(f"(raw py-spy stacks: {raw})")
    finally:
        dbs.cleanup()
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=("intake", "complete", "inbox"))
    p.add_argument("-n", type=int, default=300, help="measured requests (default 300)")
    p.add_argument("--database-url", help="PostgreSQL server URL (a scratch database is created and dropped)")
    p.add_argument("--quiet-spiff", action="store_true", help="SpiffWorkflow loggers at WARNING (default: as the app sets them)")
    p.add_argument("--dump-stats", help="write the cProfile data to this file (for pstats or snakeviz)")
    p.add_argument("--preload", type=int, default=0, help="cases to create in-process before measuring (default 0)")
    p.add_argument("--top", type=int, default=35, help="functions to list per cProfile table")
    p.add_argument("--no-cprofile", action="store_true", help="only time and count SQL (no profiler overhead)")
    p.add_argument("--breakdown", action="store_true",
                   help="instead of cProfile, time the main steps (host, engine, ORM, answer) with light wrappers")
    p.add_argument("--under-load", action="store_true",
                   help="profile gunicorn's 2 workers with py-spy while wrk drives HTTP load (intake or complete)")
    p.add_argument("--py-spy", help="path of the py-spy binary (default: on PATH)")
    p.add_argument("--seconds", type=float, default=12, help="seconds of load for --under-load (default 12)")
    p.add_argument("--connections", type=int, default=4, help="wrk connections for --under-load (default 4)")
    args = p.parse_args()
    if args.under_load:
        return under_load(args)

    kind = "postgresql" if args.database_url else "sqlite"
    dbs = B.Databases(kind, args.database_url, keep=False)
    try:
        db = dbs.new("profile")
        B.log(f"setting up {db.label}")
        B.setup_database(db)
        from app import create_app
        app = create_app({"ENV": "development", "DATABASE_URL": db.url, "SECRET_KEY": B.SECRET_KEY})
        logfile = tempfile.NamedTemporaryFile("w", prefix="tongguan-profile-", suffix=".log", delete=False)
        root = logging.getLogger()
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(logging.StreamHandler(logfile))  # like gunicorn: INFO lines to a file
        root.setLevel(logging.INFO)
        if args.quiet_spiff:
            logging.getLogger("spiff").setLevel(logging.WARNING)
        engine = app.extensions["db_engine"]
        meter = SqlMeter(engine)
        wrap_commit_timer(meter, engine)
        client = app.test_client()

        def token(username: str) -> str:
            r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
            return str(r.get_json()["token"])

        stamp = time.time_ns()
        op = {"Authorization": f"Bearer {token('demo_operator')}"}
        disp = {"Authorization": f"Bearer {token('demo_dispatcher')}"}

        def intake(i: int) -> None:
            r = client.post("/api/v1/cases", data=B.intake_body(f"prof{stamp}", i), headers={**op, "Content-Type": "application/json"})
            assert r.status_code == 201, r.get_data(as_text=True)[:300]

        if args.preload:
            B.log(f"creating {args.preload} cases in-process first (the bench's corpus: many are duplicate candidates)")
            with app.app_context():
                B.create_cases_inprocess(args.preload, f"pre{stamp}")
        total = args.n + 30
        if args.kind == "intake":
            calls = [lambda i=i: intake(i) for i in range(total)]
        elif args.kind == "complete":
            for i in range(total):
                intake(10_000_000 + i)
            with app.app_context():
                ids = B.claim_open_tasks("file_case", "demo_dispatcher", total)
            body = B.COMPLETE_BODY.encode()

            def complete(tid: int) -> None:
                r = client.post(f"/api/v1/tasks/{tid}/complete", data=body, headers={**disp, "Content-Type": "application/json"})
                assert r.status_code == 200, r.get_data(as_text=True)[:300]
            calls = [lambda t=t: complete(t) for t in ids]
        else:
            for i in range(300):
                intake(20_000_000 + i)

            def inbox() -> None:
                r = client.get("/api/v1/tasks?scope=claimable", headers=disp)
                assert r.status_code == 200
            calls = [inbox for _ in range(total)]

        breakdown = Breakdown()
        if args.breakdown:
            args.no_cprofile = True
            breakdown.install()
        for c in calls[:30]:
            c()
        meter.on = True
        breakdown.on = args.breakdown
        prof = cProfile.Profile()
        times = []
        t_all = time.perf_counter()
        for c in calls[30:]:
            if not args.no_cprofile:
                prof.enable()
            t0 = time.perf_counter()
            c()
            times.append(time.perf_counter() - t0)
            if not args.no_cprofile:
                prof.disable()
        wall = time.perf_counter() - t_all
        meter.on = False
        n = len(times)

        print(f"\n=== {args.kind} on {kind}: {n} requests through the WSGI app in-process "
              f"({'with' if not args.no_cprofile else 'without'} cProfile; spiff logging {'WARNING' if args.quiet_spiff else 'INFO'})")
        print(f"per request: median {B.med(times) * 1000:.2f} ms, p95 {B.pct(times, 95) * 1000:.2f} ms, "
              f"mean {wall / n * 1000:.2f} ms")
        # the machine is shared: the quietest stretch of 50 requests says most about the code
        rounds = [B.med(times[i:i + 50]) for i in range(0, n - 49, 50)]
        if rounds:
            print(f"quietest 50-request stretch: median {min(rounds) * 1000:.2f} ms "
                  f"(stretches: {' '.join(f'{r * 1000:.2f}' for r in rounds)})")
        sql_total = sum(sum(v) for v in meter.stats.values())
        stmts = sum(len(v) for k, v in meter.stats.items() if k != "COMMIT")
        print(f"SQL: {stmts / n:.1f} statements + {len(meter.stats.get('COMMIT', [])) / n:.1f} commits per request, "
              f"{sql_total / n * 1000:.2f} ms per request inside the driver ({sql_total / wall * 100:.0f}% of wall)")
        print(f"\n{'per req':>8} {'ms/req':>8}  statement")
        for stmt, ts in sorted(meter.stats.items(), key=lambda kv: -sum(kv[1])):
            print(f"{len(ts) / n:8.2f} {sum(ts) / n * 1000:8.3f}  {stmt}")
        if args.breakdown:
            breakdown.report(n)
        if not args.no_cprofile:
            for order in ("tottime", "cumulative"):
                buf = io.StringIO()
                st = pstats.Stats(prof, stream=buf)
                st.sort_stats(order).print_stats(args.top)
                text = buf.getvalue()
                text = text.replace(str(B.ROOT) + "/.venv/lib/python3.11/site-packages/", "").replace(str(B.ROOT) + "/", "")
                print(f"\n--- cProfile by {order} (times are totals over {n} requests) ---")
                print(text[text.index("ncalls") - 3:] if "ncalls" in text else text)
        if args.dump_stats:
            prof.dump_stats(args.dump_stats)
        print(f"(app log lines went to {logfile.name}: {sum(1 for _ in open(logfile.name))} lines)")
        app.extensions["db_engine"].dispose()
    finally:
        dbs.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
