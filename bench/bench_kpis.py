#!/usr/bin/env python
"""KPI figures on a year of a big city: a unit's KPIs for a month and a year, the unit ranking.

Loads N cases (default 1,000,000) straight into the tables with ``bench/bigcity.py``, fills the
facts and roll-ups with ``flask kpis rebuild`` (timed), then measures in-process, with the
product's own query functions (app.kpis.queries), p50/p95 of:

  1. all KPIs of one unit for a month        (goal p95 <= 300 ms)   the city, a district, a department
  2. all KPIs of one unit for a year         (goal <= 1 s)
  3. the unit ranking, all departments and districts, one month, with the previous month (goal <= 1 s)

and prints the query plans (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL) of every
statement of a month's KPIs: range scans of the roll-ups' and facts' indexes, never the cases.

    .venv/bin/python bench/bench_kpis.py                        # SQLite, 1,000,000 cases
    .venv/bin/python bench/bench_kpis.py --cases 100000
    .venv/bin/python bench/bench_kpis.py --database-url postgresql://postgres@127.0.0.1:5432/scratch

A PostgreSQL database named by --database-url has its public schema DROPPED: give a scratch one.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select, text  # noqa: E402

from bench.bigcity import fresh_app, load  # noqa: E402
from app.core.db import session  # noqa: E402
from app.kpis.facts import local_day  # noqa: E402
from app.kpis.active import active_formulas  # noqa: E402
from app.kpis.queries import figures, previous_period, ranking  # noqa: E402
from app.kpis.rebuild import rebuild  # noqa: E402
from app.orgs.models import OrgUnit  # noqa: E402


def timed(fn: Any, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def month_of(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


def plans(dialect: str, path: str, start: date, end: date) -> None:
    """Capture the statements of one month's KPIs and print their plans."""
    statements: list[tuple[str, Any]] = []
    engine = session.get_bind()

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and ("kpi_rollups" in statement or "case_facts" in statement):
            statements.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", capture)
    try:
        figures(active_formulas(), path, start, end, session())
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    raw = session.connection().connection.driver_connection
    for statement, parameters in statements:
        print("\n  " + " ".join(statement.split())[:400])
        cur = raw.cursor()
        if dialect == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            for row in cur.fetchall():
                print(f"    {row[-1]}")
        else:
            cur.execute("EXPLAIN " + statement, parameters)
            for row in cur.fetchall():
                print(f"    {row[0]}")
        cur.close()


def intake_cost(app: Any, cases: int = 300) -> None:
    """What keeping the facts costs an intake: POST /api/v1/cases in-process (the test client, no
    HTTP server), in alternating blocks with the recorder's hook attached and detached."""
    from app.core.db import SessionFactory
    from app.kpis import recorder
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "demo_operator", "password": "demo"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"channel": "hotline", "description": "人行道上的污水井盖破损，有安全隐患", "address": "示范市东湖区湖滨街道滨江路 12 号",
            "category_code": "component:01002", "grid_unit": "d1-s1-c1"}
    times: dict[bool, list[float]] = {True: [], False: []}
    n = 0
    for block in range(2 * max(1, cases // 50)):
        on = block % 2 == 0
        if not on:
            event.remove(SessionFactory, "before_commit", recorder._before_commit)
        try:
            for _ in range(50):
                n += 1
                t0 = time.perf_counter()
                r = client.post("/api/v1/cases", json={**body, "title": f"井盖破损 {n}"}, headers=headers)
                times[on].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.get_json()
        finally:
            if not on:
                event.listen(SessionFactory, "before_commit", recorder._before_commit, insert=True)
    for on in (False, True):
        ts = sorted(times[on])
        print(f"intake in-process, facts {'kept' if on else 'off '}: median {statistics.median(ts):6.2f} ms, "
              f"p95 {ts[int(0.95 * (len(ts) - 1))]:6.2f} ms, {1000 / statistics.mean(ts):5.0f} cases/s one client")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--database-url", help="a scratch PostgreSQL database (its public schema is dropped)")
    p.add_argument("--runs", type=int, default=30, help="measured runs per figure (default 30)")
    p.add_argument("--intake", type=int, default=300,
                   help="first measure the facts' cost per intake over this many cases (0: skip)")
    args = p.parse_args(argv)
    app, url = fresh_app(args.database_url)
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    if args.intake:
        intake_cost(app, args.intake)
    print(f"database: {dialect}; loading {args.cases:,} cases …", flush=True)
    loaded = load(app, args.cases)
    print(f"loaded {loaded.cases:,} cases, {loaded.tasks:,} tasks, {loaded.events:,} events in {loaded.seconds:.0f} s")
    with app.app_context():
        result = rebuild(progress=lambda done, total: print(f"  … facts of {done:,} / {total:,} cases", flush=True)
                         if done % 200_000 == 0 else None)
        print(f"kpis rebuild: {result.facts:,} facts, {result.rollups:,} roll-up rows in {result.seconds:.0f} s")
        if dialect == "sqlite":
            session.execute(text("ANALYZE"))
            session.commit()
        units = {u.code: u for u in session.scalars(select(OrgUnit))}
        district = next(u for u in units.values() if u.kind == "district")
        department = next(u for u in units.values() if u.kind == "department" and u.parent_id == district.id)
        last_month = month_of(local_day(loaded.end).replace(day=1) - timedelta(days=1))
        year = (local_day(loaded.start) + timedelta(days=1), local_day(loaded.end))
        formulas = active_formulas()
        print(f"\n{'figure':52} {'p50 ms':>8} {'p95 ms':>8}  goal")
        for label, unit in (("city", units["city"]), ("district " + district.code, district),
                            ("department " + department.code, department)):
            p50, p95 = timed(lambda u=unit: figures(formulas, u.path, *last_month, session()), args.runs)
            print(f"{'all KPIs, one month, ' + label:52} {p50:8.1f} {p95:8.1f}  p95 <= 300")
        for label, unit in (("city", units["city"]), ("district " + district.code, district)):
            p50, p95 = timed(lambda u=unit: figures(formulas, u.path, *year, session()), max(5, args.runs // 3))
            print(f"{'all KPIs, one year, ' + label:52} {p50:8.1f} {p95:8.1f}  <= 1000")
        ranked = [u.path for u in units.values() if u.kind in ("district", "department")]

        def rank() -> None:
            ranking(formulas, ranked, *last_month, session())
            ranking(formulas, ranked, *previous_period(*last_month), session())
        p50, p95 = timed(rank, max(5, args.runs // 3))
        print(f"{f'ranking, {len(ranked)} units, month + previous month':52} {p50:8.1f} {p95:8.1f}  <= 1000")
        sample = figures(formulas, units["city"].path, *last_month, session())
        print("\nthe city, " + f"{last_month[0]} – {last_month[1]}:")
        for f in sample:
            print(f"  {f.key:22} {f.value!s:>8}  ({f.numerator:,.0f} / {f.denominator:,.0f})")
        print("\nquery plans of one month's KPIs of " + district.code + ":")
        plans(dialect, district.path, *last_month)


if __name__ == "__main__":
    main()
