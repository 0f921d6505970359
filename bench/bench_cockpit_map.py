#!/usr/bin/env python
"""Speed of the cockpit map's data (``app.maps.cockpit``, behind ``GET /api/v1/cockpit/map``).

A big city (``bench/bigcity.py``: the demo city and ``--cases`` cases of a year, default
1,000,000) is written into a fresh database — SQLite in a temporary folder, or the PostgreSQL
database of ``--database-url``, whose public schema is DROPPED (a scratch database only) — then
each view is asked ``--queries`` times in-process (no HTTP), the map panned a little at random
each time, for the whole city (demo_leader) and for one district (its scope: the map of d1):

  city       the whole city at zoom 11 (about 60 × 45 km in view)
  district   district d1 at zoom 13
  street     a street of d1 at zoom 16 (single cases appear)

each for the ``open`` layer (clusters by light) and the ``recent`` heat layer (``--days``, default
30). It prints p50 / p95 / max in milliseconds of wall time, and of this process's CPU time (on
SQLite that is the whole work, the figure to read on a shared, busy machine; the load average is
printed too), and the query plans (SQLite EXPLAIN QUERY PLAN,
PostgreSQL EXPLAIN (ANALYZE, BUFFERS)) of one request of each view.

    .venv/bin/python bench/bench_cockpit_map.py                                  # SQLite
    .venv/bin/python bench/bench_cockpit_map.py --database-url postgresql://postgres@127.0.0.1:5432/bench_map2
    .venv/bin/python bench/bench_cockpit_map.py --database-url sqlite:////tmp/m.sqlite --reuse   # loaded before
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.cases.models import Case  # noqa: E402
from app.core.db import session  # noqa: E402
from app.maps.cockpit import BBox, heat_map, open_map  # noqa: E402
from app.orgs.directory import directory  # noqa: E402

from bench.bigcity import fresh_app, load  # noqa: E402

# (name, unit code or None for the city, zoom, half height and half width of the view in degrees)
VIEWS = (("city", None, 11, 0.20, 0.30), ("district", "d1", 13, 0.05, 0.075), ("street", "d1-s1", 16, 0.006, 0.009))


def explain(conn: Any, statement: str, params: Any) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        return "\n".join(f"  {r[3]}" for r in rows)
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
    return "\n".join("  " + r[0] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reuse", action="store_true", help="the database of --database-url is loaded already")
    args = parser.parse_args()
    if args.reuse:
        if not args.database_url:
            parser.error("--reuse needs --database-url")
        app = create_app({"ENV": "testing", "DATABASE_URL": args.database_url, "SECRET_KEY": "b" * 40})
        url = args.database_url
    else:
        app, url = fresh_app(args.database_url)
        print(f"loading {args.cases:,} cases into {url} …", flush=True)
        loaded = load(app, args.cases)
        print(f"loaded {loaded.cases:,} cases, {loaded.tasks:,} tasks, {loaded.events:,} events "
              f"in {loaded.seconds:.0f} s", flush=True)
    rnd = random.Random(3)
    with app.app_context():
        units = directory()
        dialect = session.get_bind().dialect.name
        total = session.scalar(select(func.count()).select_from(Case))
        open_ = session.scalar(select(func.count()).select_from(Case).where(Case.status == "open"))
        print(f"{dialect}: {total:,} cases, {open_:,} open; {args.queries} requests per view, heat over {args.days} days; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
        city = next(u for u in units.by_code.values() if u.kind == "city")
        for name, code, zoom, dlat, dlng in VIEWS:
            unit = units.by_code[code] if code else city
            places = [u for u in units.by_code.values() if u.path.startswith(unit.path) and u.lat is not None]
            clat = sum(u.lat for u in places) / len(places)  # type: ignore[misc]
            clng = sum(u.lng for u in places) / len(places)  # type: ignore[misc]
            for layer in ("open", "recent"):
                def ask(box: BBox) -> Any:
                    if layer == "open":
                        return open_map(unit, box, zoom)
                    return heat_map(unit, box, zoom, args.days)
                timings, cpu, sizes = [], [], []
                for _ in range(args.queries):
                    jlat, jlng = rnd.uniform(-dlat, dlat) / 4, rnd.uniform(-dlng, dlng) / 4
                    box = BBox(clat + jlat - dlat, clng + jlng - dlng, clat + jlat + dlat, clng + jlng + dlng)
                    t0, c0 = time.perf_counter(), time.process_time()
                    result = ask(box)
                    timings.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
                    session.rollback()
                    sizes.append((result.total, len(result.clusters), len(result.points)) if layer == "open"
                                 else (result.total, len(result.cells), 0))
                timings.sort()
                cpu.sort()
                p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
                cpu95 = cpu[max(0, int(len(cpu) * 0.95) - 1)]
                mean = [round(statistics.mean(s[i] for s in sizes)) for i in range(3)]
                what = (f"{mean[0]:,} open cases in view → {mean[1]} clusters + {mean[2]} single cases" if layer == "open"
                        else f"{mean[0]:,} cases in {args.days} days → {mean[1]} heat cells")
                print(f"{name:9} {layer:7} p50 {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms  "
                      f"max {timings[-1]:6.1f} ms  | this process's CPU p50 {statistics.median(cpu):6.1f} p95 {cpu95:6.1f} ms"
                      f"   ({what})", flush=True)
                statements: list[tuple[str, Any]] = []

                def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
                    statements.append((statement, params))
                engine = session.get_bind()
                event.listen(engine, "before_cursor_execute", capture)
                box = BBox(clat - dlat, clng - dlng, clat + dlat, clng + dlng)
                ask(box)
                event.remove(engine, "before_cursor_execute", capture)
                conn = session.connection()
                for statement, params in statements:
                    if statement.lstrip().upper().startswith("SELECT") and ("FROM cases" in statement or "FROM cockpit_map_points" in statement):
                        print(f"  plan of: {' '.join(statement.split())[:160]}…")
                        print(explain(conn, statement, params))
                session.rollback()
                print()


if __name__ == "__main__":
    main()
