#!/usr/bin/env python
"""Duplicate check at intake with a million cases (issue 4): latency, and that it does not grow with the cases.

Per database (SQLite by default; PostgreSQL with --database-url or --both) the database is grown
in steps — by default 100,000 cases (10,000 open), then 1,000,000 cases (100,000 open) — and at
each step the duplicate check of intake is timed for --queries new reports:

    fingerprint (jieba keywords) + index lookup (app.duplicates.store.find) + scoring
    (app.duplicates.detector.best_matches)

which is exactly what app.duplicates.operations.find_duplicates runs before intake writes the case
(filing — one fingerprint row, ~15 key rows, the candidates — is timed apart: ``file``).
Printed: p50/p95/p99 per step, the ratio of the 1M step to the 100k step (the goal: p95 <= 20 ms,
and far from the 10x a scan would show), the rows the lookup read, and the plan of the lookup
statement (it must search the primary key of duplicate_keys, per key, newest first, with a LIMIT).

The data. Reports are made from templates: a place (one of ~9,000 estates, roads, shops and
schools, each at a fixed spot in a 30 x 30 km city) and one of 40 problems with varying wording,
with a GB/T 47678.5 category. 40,000 distinct texts are fingerprinted with the real code (jieba),
then cases take them at random, created over the last two years. Open cases are 10 %, mostly
recent; closed ones were closed a few days after they came. Like a production index after the
hourly purge, only live cases (open, or closed within DEDUP_WINDOW_DAYS) keep lookup keys; the
bench runs the real purge on the cases that have just left the window and times it. Half of the
queried reports repeat a live case's problem in other words, half are new problems.

Rows go in with the fastest bulk path of each database (executemany on SQLite, COPY on
PostgreSQL); the schema is made by the real CLI (db upgrade).

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/bench_duplicates.py              # SQLite
    .venv/bin/python bench/bench_duplicates.py --both       # SQLite, then PostgreSQL
    .venv/bin/python bench/bench_duplicates.py --quick      # 10,000 and 100,000 cases

About 6 minutes on SQLite and 8 on PostgreSQL on 2 cores; results also go to
bench/results/duplicates-<timestamp>.json.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_api as B  # noqa: E402
from bench_api import PROBLEMS, Place, make_places, problems_for, report_text  # noqa: E402,F401

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
SPAN_DAYS = 730
OPEN_SHARE = 0.10
POOL = 40_000
CITY = (31.08, 121.30)  # south-west corner; the city is 0.27° x 0.31° (about 30 x 30 km), around the demo city

def make_pool(rng: random.Random, places: list[Place], n: int) -> list[dict[str, Any]]:
    """``n`` distinct reports with their real fingerprints."""
    from app.duplicates.detector import fingerprint, warm_up
    warm_up()
    seen, pool = set(), []
    t0 = time.perf_counter()
    while len(pool) < n:
        place = rng.choice(places)
        problem = rng.choice(problems_for(place.kind))
        title, description = report_text(rng, place, problem)
        if (title, description) in seen:
            continue
        seen.add((title, description))
        lat, lng = place.lat + rng.gauss(0, 0.0004), place.lng + rng.gauss(0, 0.0004)
        fp = fingerprint(title, description, NOW, lat=lat, lng=lng, category_code=problem[1], address=place.name)
        pool.append({"title": title, "description": description, "lat": lat, "lng": lng, "category_code": problem[1],
                     "address": place.name, "fp": fp, "place": place, "problem": problem})
    B.log(f"fingerprinted {n:,} distinct reports in {time.perf_counter() - t0:.1f} s")
    return pool


# ============================================================================ bulk seeding

CASE_COLUMNS = ["channel", "title", "description", "address", "lat", "lng", "category_code", "urgency", "status",
                "rework_count", "reopen_count", "has_incident", "escalation_count", "return_count", "created_at",
                "updated_at", "closed_at", "repeat_count"]
PRINT_COLUMNS = ["case_id", "created_at", "text", "tags", "lat", "lng", "category_code", "address", "reporter", "exact",
                 "indexed"]


def case_rows(rng: random.Random, pool: list[dict[str, Any]], n: int) -> Iterator[tuple[dict[str, Any], Any]]:
    """``n`` cases over the last two years; about OPEN_SHARE of them open, most of those recent."""
    for _ in range(n):
        item = rng.choice(pool)
        is_open = rng.random() < OPEN_SHARE
        age = rng.expovariate(1 / 30) if is_open else rng.random() * SPAN_DAYS
        created = NOW - timedelta(days=min(age, SPAN_DAYS))
        closed = None if is_open else min(NOW, created + timedelta(days=rng.uniform(0.2, 10)))
        yield ({"channel": "hotline", "title": item["title"], "description": item["description"], "address": item["address"],
                "lat": item["lat"], "lng": item["lng"], "category_code": item["category_code"], "urgency": "normal",
                "status": "open" if is_open else "closed", "rework_count": 0, "reopen_count": 0, "has_incident": False,
                "escalation_count": 0, "return_count": 0, "created_at": created, "updated_at": closed or created,
                "closed_at": closed, "repeat_count": 0}, item["fp"])


def seed(engine: Any, rng: random.Random, pool: list[dict[str, Any]], n: int, window_days: int) -> dict[str, Any]:
    """Add ``n`` cases with fingerprints; keys for the cases live before the last window_days + 3 days."""
    from app.duplicates.detector import stored_keys
    t0 = time.perf_counter()
    dialect = engine.dialect.name
    live_since = NOW - timedelta(days=window_days + 3)  # a few just out of the window: the purge takes them
    with engine.begin() as conn:
        first = (conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM cases").scalar() or 0) + 1
    cases, prints, keys = [], [], []
    for i, (row, fp) in enumerate(case_rows(rng, pool, n)):
        cid = first + i
        cases.append({"id": cid, **row})
        live = row["status"] == "open" or row["closed_at"] >= live_since
        prints.append({"case_id": cid, "created_at": row["created_at"], "text": fp.text,
                       "tags": json.dumps(fp.tags, ensure_ascii=False), "lat": fp.lat, "lng": fp.lng,
                       "category_code": fp.category_code, "address": fp.address, "reporter": None, "exact": fp.exact,
                       "indexed": live})
        if live:
            keys.extend((k, cid) for k in stored_keys(fp))
    if dialect == "postgresql":
        _copy(engine, "cases", ["id", *CASE_COLUMNS], cases)
        _copy(engine, "case_fingerprints", PRINT_COLUMNS, prints)
        _copy(engine, "duplicate_keys", ["key", "case_id"], [{"key": k, "case_id": c} for k, c in keys])
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT MAX(id) FROM cases))")
    else:
        from sqlalchemy import insert

        from app.cases.models import Case
        from app.duplicates.models import CaseFingerprint, DuplicateKey
        with engine.begin() as conn:
            for table, rows in ((Case.__table__, cases), (CaseFingerprint.__table__, prints)):
                for part in chunks(rows, 20_000):
                    conn.execute(insert(table), part)
            for part in chunks(keys, 50_000):
                conn.execute(insert(DuplicateKey.__table__), [{"key": k, "case_id": c} for k, c in part])
    seconds = time.perf_counter() - t0
    B.log(f"  +{n:,} cases, {sum(1 for p in prints if p['indexed']):,} live, {len(keys):,} key rows in {seconds:.0f} s")
    return {"added": n, "key_rows": len(keys), "seconds": round(seconds, 1)}


def chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _copy(engine: Any, table: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        raw.commit()
    finally:
        raw.close()


def analyze(engine: Any) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


# ============================================================================ measuring

def queries(rng: random.Random, pool: list[dict[str, Any]], live: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Half repeat a live case's problem in other words (same place and problem), half are new."""
    out = []
    for i in range(n):
        if i % 2 == 0 and live:
            item = rng.choice(live)
            place, problem = item["place"], item["problem"]
        else:
            place = rng.choice(pool)["place"]
            problem = rng.choice(problems_for(place.kind))
        title, description = report_text(rng, place, problem)
        out.append({"title": title, "description": description, "lat": place.lat + rng.gauss(0, 0.0004),
                    "lng": place.lng + rng.gauss(0, 0.0004), "category_code": problem[1], "address": place.name,
                    "reporter": f"139{rng.randrange(10**8):08d}", "repeat": i % 2 == 0})
    return out


def measure(app: Any, reports: list[dict[str, Any]]) -> dict[str, Any]:
    from app.core.db import session
    from app.duplicates import store
    from app.duplicates.detector import best_matches, fingerprint
    from app.duplicates.operations import rules
    times, lookups, scored, found, filed = [], [], [], 0, []
    with app.app_context():
        current = rules()
        for warm in reports[:20]:
            store.find(fingerprint(warm["title"], warm["description"], NOW, lat=warm["lat"], lng=warm["lng"]), current, NOW)
        session.rollback()
        for r in reports:
            t0 = time.perf_counter()
            fp = fingerprint(r["title"], r["description"], NOW, lat=r["lat"], lng=r["lng"],
                             category_code=r["category_code"], address=r["address"], reporter=r["reporter"])
            t1 = time.perf_counter()
            cands = store.find(fp, current, NOW)
            t2 = time.perf_counter()
            matches = best_matches(fp, cands, current)
            t3 = time.perf_counter()
            times.append((t3 - t0) * 1000)
            lookups.append((t2 - t1) * 1000)
            scored.append(len(cands))
            found += bool(matches) and r["repeat"]
        session.rollback()
        # filing: the writes file_new_case adds for a new case (rolled back: the data stays as seeded)
        from sqlalchemy import text
        next_id = session.execute(text("SELECT MAX(id) FROM cases")).scalar() + 1
        for r in reports[:200]:
            fp = fingerprint(r["title"], r["description"], NOW, lat=r["lat"], lng=r["lng"])
            t0 = time.perf_counter()
            session.execute(text("SAVEPOINT f"))
            session.execute(text("INSERT INTO cases (id, channel, title, description, address, urgency, status, "
                                 "rework_count, reopen_count, has_incident, escalation_count, return_count, created_at, "
                                 "updated_at, repeat_count) VALUES (:id, 'hotline', 't', 'd', 'a', 'normal', 'open', "
                                 "0, 0, false, 0, 0, :at, :at, 0)"), {"id": next_id, "at": NOW})
            store.add(next_id, fp)
            filed.append((time.perf_counter() - t0) * 1000)
            session.execute(text("ROLLBACK TO SAVEPOINT f"))
        session.rollback()
    repeats = sum(1 for r in reports if r["repeat"])
    return {"n": len(reports), "p50_ms": B.med(times), "p95_ms": B.pct(times, 95), "p99_ms": B.pct(times, 99),
            "lookup_p50_ms": B.med(lookups), "lookup_p95_ms": B.pct(lookups, 95),
            "fingerprints_scored_p50": B.med(scored), "fingerprints_scored_max": max(scored),
            "repeats_found": f"{found}/{repeats}", "file_p50_ms": B.med(filed), "file_p95_ms": B.pct(filed, 95)}


def plan(app: Any, report: dict[str, Any]) -> str:
    """The plan of the lookup statement store.find runs (SQLite: per-key UNION; PostgreSQL: unnest + LATERAL)."""
    from app.core.db import session
    from app.duplicates.detector import fingerprint, lookup_keys
    from app.duplicates.store import _PG_LOOKUP, _lookup_statement
    with app.app_context():
        fp = fingerprint(report["title"], report["description"], NOW, lat=report["lat"], lng=report["lng"],
                         address=report["address"], category_code=report["category_code"])
        keys = sorted(lookup_keys(fp))
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            sql = str(_lookup_statement(len(keys)).compile(dialect=conn.dialect))
            for i in range(len(keys)):
                sql = sql.replace(f":k{i} ", "? ", 1)
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(keys)).all()
            counts: dict[str, int] = {}
            for r in rows:
                line = re.sub(r"\bq\d+\b", "q<n>", r[3])
                counts[line] = counts.get(line, 0) + 1
            text = "\n".join(f"{n:>3} x {line}" for line, n in counts.items())
        else:
            sql = str(_PG_LOOKUP.compile(dialect=conn.dialect)).replace("%(keys)s", "%s")
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, (keys,)).all()
            text = "\n".join(r[0] for r in rows)
        session.rollback()
        return f"{len(keys)} keys\n{text}"


def purge_timed(app: Any, window_days: int) -> dict[str, Any]:
    from app.core.db import transaction, utcnow  # noqa: F401
    from app.duplicates.store import purge
    total, t0 = 0, time.perf_counter()
    with app.app_context():
        while True:
            with transaction():
                n = purge(NOW, window_days, 1000)
            total += n
            if n < 1000:
                break
    return {"cases_left_index": total, "seconds": round(time.perf_counter() - t0, 2)}


def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    dbs = B.Databases(kind, args.database_url if kind == "postgresql" else None, args.keep_db)
    try:
        db = dbs.new("duplicates")
        B.log(f"[{kind}] schema through the CLI: {db.label}")
        B.setup_database(db)
        from app import create_app
        app = create_app({"ENV": "development", "DATABASE_URL": db.url, "SECRET_KEY": B.SECRET_KEY})
        import logging
        logging.getLogger().setLevel(logging.WARNING)
        engine = app.extensions["db_engine"]
        window = app.config["SETTINGS"].DEDUP_WINDOW_DAYS
        rng = random.Random(args.seed)
        places = make_places(rng)
        pool = make_pool(rng, places, args.pool)
        steps, total = [], 0
        for target in args.steps:
            add = target - total
            seeded = seed(engine, rng, pool, add, window)
            total = target
            purged = purge_timed(app, window)
            analyze(engine)
            with engine.connect() as conn:
                open_n = conn.exec_driver_sql("SELECT COUNT(*) FROM cases WHERE status = 'open'").scalar()
                live = conn.exec_driver_sql("SELECT COUNT(*) FROM case_fingerprints WHERE indexed").scalar()
                key_rows = conn.exec_driver_sql("SELECT COUNT(*) FROM duplicate_keys").scalar()
            live_items = rng.sample(pool, min(len(pool), 5000))
            reports = queries(random.Random(args.seed + target), pool, live_items, args.queries)
            B.log(f"[{kind}] {total:,} cases ({open_n:,} open, {live:,} in the index, {key_rows:,} key rows): "
                  f"timing {len(reports)} checks")
            figures = measure(app, reports)
            steps.append({"cases": total, "open": open_n, "live": live, "key_rows": key_rows, "seed": seeded,
                          "purge": purged, **figures, "plan": plan(app, reports[0])})
            B.log(f"    p50 {figures['p50_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms, lookup p95 "
                  f"{figures['lookup_p95_ms']:.2f} ms, scored ≤ {figures['fingerprints_scored_max']}")
        engine.dispose()
        return {"database": kind, "steps": steps}
    finally:
        dbs.cleanup()


def print_report(results: list[dict[str, Any]]) -> None:
    print("\nDuplicate check at intake (fingerprint + lookup + scoring), per new report")
    print(f"{'db':<10} {'cases':>9} {'open':>8} {'indexed':>8} {'key rows':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'lookup p95':>10} {'scored max':>10} {'file p50':>8} {'repeats found':>13}")
    for res in results:
        for s in res["steps"]:
            print(f"{res['database']:<10} {s['cases']:>9,} {s['open']:>8,} {s['live']:>8,} {s['key_rows']:>9,} "
                  f"{s['p50_ms']:>7.2f} {s['p95_ms']:>7.2f} {s['p99_ms']:>7.2f} {s['lookup_p95_ms']:>10.2f} "
                  f"{s['fingerprints_scored_max']:>10} {s['file_p50_ms']:>8.2f} {s['repeats_found']:>13}")
        first, last = res["steps"][0], res["steps"][-1]
        print(f"{res['database']}: cases x{last['cases'] / first['cases']:.0f} → p95 x{last['p95_ms'] / first['p95_ms']:.2f}, "
              f"lookup p95 x{last['lookup_p95_ms'] / first['lookup_p95_ms']:.2f}   (goal: p95 <= 20 ms at 1M; not linear)")
        print(f"plan of the lookup at {last['cases']:,} cases:\n  " + last["plan"].replace("\n", "\n  "))
        print(f"purge at the last step: {last['purge']}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=None, help=f"PostgreSQL server URL (a scratch database is made there; "
                                                        f"default with --both: {B.DEFAULT_PG})")
    p.add_argument("--both", action="store_true", help="SQLite, then PostgreSQL")
    p.add_argument("--steps", default="100000,1000000", help="database sizes to measure at, comma-separated")
    p.add_argument("--queries", type=int, default=1000, help="new reports checked per step")
    p.add_argument("--pool", type=int, default=POOL, help="distinct report texts")
    p.add_argument("--seed", type=int, default=20261129)
    p.add_argument("--quick", action="store_true", help="10,000 and 100,000 cases, 300 checks")
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args(argv)
    args.steps = [int(s) for s in ("10000,100000" if args.quick else args.steps).split(",")]
    if args.quick:
        args.queries, args.pool = 300, 10_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.both else (["postgresql"] if args.database_url else ["sqlite"])
    if args.both and not args.database_url:
        args.database_url = B.DEFAULT_PG
    results = [run_database(kind, args) for kind in kinds]
    print_report(results)
    B.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = B.RESULTS_DIR / f"duplicates-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"args": {k: v for k, v in vars(args).items()}, "results": results}, indent=2, default=str))
    print(f"\nwritten to {out.relative_to(B.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
