#!/usr/bin/env python
"""Speed of the cockpit's data (``GET /api/v1/cockpit``) at a big city's year of cases.

A fresh database (SQLite in a temporary folder, or the PostgreSQL database given with
``--database-url``, whose public schema is DROPPED and recreated: a scratch database only) gets
the demo city and ``--cases`` cases of the last year (``bench/bigcity.py``); ``--reuse`` times the
database of an earlier run again (``--database-url``, for SQLite ``sqlite:////tmp/bench_city_…/bench.sqlite``). The bulk load runs
with the cockpit's triggers off and ``flask cockpit rebuild`` counts the roll-up afterwards (the
triggers would give the same rows, one case at a time: ``--through-triggers`` loads through them,
and the tests check that they agree with a recount). Then

  - the write cost of the triggers: ``--writes`` cases closed one by one, each in its own commit,
    with the triggers and without;
  - ``--queries`` calls of ``GET /api/v1/cockpit`` (in-process test client, bearer token, JSON
    answer) for each period (today, week, month), as ``demo_leader`` (the city) and ``leader_d1``
    (one district), are timed: median and p95 in ms;
  - the query plans of the roll-up read and of the open-set count are printed.

    .venv/bin/python bench/bench_cockpit.py                         # SQLite, 1,000,000 cases
    .venv/bin/python bench/bench_cockpit.py --database-url postgresql://postgres@127.0.0.1:5432/bench_cockpit
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402

from bench.bigcity import fresh_app, load  # noqa: E402
from app import create_app  # noqa: E402
from app.cases.models import Case  # noqa: E402
from app.cockpit.queries import COUNTS, light_bucket, period_of  # noqa: E402
from app.cockpit.rollups import rebuild  # noqa: E402
from app.cockpit.scope import case_in_unit  # noqa: E402
from app.core import clock  # noqa: E402
from app.core.db import session  # noqa: E402
from app.orgs.directory import directory  # noqa: E402

TRIGGERS = ("cockpit_cases_insert", "cockpit_cases_update", "cockpit_cases_delete")


def _set_triggers(enabled: bool, saved: dict[str, str]) -> None:
    """PostgreSQL: ENABLE/DISABLE TRIGGER; SQLite (which has neither): drop and create them again."""
    if session.get_bind().dialect.name == "postgresql":
        for name in TRIGGERS:
            session.execute(text(f"ALTER TABLE cases {'ENABLE' if enabled else 'DISABLE'} TRIGGER {name}"))
    elif enabled:
        for sql in saved.values():
            session.execute(text(sql))
    else:
        saved.update(dict(session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'cockpit_cases_%'")).all()))
        for name in saved:
            session.execute(text(f"DROP TRIGGER {name}"))
    session.commit()


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(ordered)})"


def _plan(sql: str, params: dict[str, object]) -> None:
    postgres = session.get_bind().dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    for row in session.execute(text(prefix + sql), params):
        print("    " + (row[0] if postgres else f"{row[1]:>3} {row[3]}"))


def _compiled(statement: object) -> str:
    return str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]


def _writes(n: int) -> float:
    """Close ``n`` open cases one by one, each update in its own commit; median seconds per case."""
    ids = list(session.scalars(select(Case.id).where(Case.status == "open").order_by(Case.id).limit(n)))
    samples = []
    for cid in ids:
        t0 = time.perf_counter()
        session.execute(text("UPDATE cases SET status = 'closed', closed_at = :at WHERE id = :id"),
                        {"at": clock.now().replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite"
                         else clock.now(), "id": cid})
        session.commit()
        samples.append(time.perf_counter() - t0)
    session.execute(text("UPDATE cases SET status = 'open', closed_at = NULL WHERE id IN (%s)" % ",".join(map(str, ids))))
    session.commit()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100, help="calls per user and period")
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--through-triggers", action="store_true", help="load the cases through the triggers")
    parser.add_argument("--reuse", action="store_true",
                        help="time the database of --database-url (an earlier run's) again, without loading")
    args = parser.parse_args()
    saved: dict[str, str] = {}
    if args.reuse:
        app, url = create_app({"ENV": "testing", "DATABASE_URL": args.database_url, "SECRET_KEY": "b" * 40}), \
            args.database_url
        print(f"{args.database_url}: timing the cases loaded before", flush=True)
    else:
        app, url = fresh_app(args.database_url)
        dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"{dialect}: loading {args.cases:,} cases …", flush=True)
        with app.app_context():
            if not args.through_triggers:
                _set_triggers(False, saved)
        loaded = load(app, args.cases)
        print(f"  loaded in {loaded.seconds:.0f} s: {loaded.cases:,} cases, {loaded.tasks:,} tasks, {loaded.events:,} events")
    with app.app_context():
        if not args.through_triggers and not args.reuse:
            t0 = time.perf_counter()
            rows = rebuild()
            session.commit()
            _set_triggers(True, saved)
            print(f"  flask cockpit rebuild: {rows:,} rows in {time.perf_counter() - t0:.1f} s")
        if session.get_bind().dialect.name == "postgresql":
            # what autovacuum does after a bulk load: statistics, and the visibility map that lets the
            # open-set count read ix_cases_open_cockpit alone (an index-only scan)
            with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("cases", "cockpit_daily_counts"):
                    conn.execute(text(f"VACUUM (ANALYZE) {table}"))
        else:
            session.execute(text("ANALYZE"))
            session.commit()
        n_open = session.scalar(select(text("count(*)")).select_from(Case).where(Case.status == "open"))
        n_rows = session.scalar(select(text("count(*)")).select_from(COUNTS))
        print(f"  open cases: {n_open:,}; cockpit_daily_counts: {n_rows:,} rows")
        with_triggers = _writes(args.writes)
        _set_triggers(False, saved)
        without = _writes(args.writes)
        _set_triggers(True, saved)
        print(f"\nwrite: closing one case (UPDATE + COMMIT), median {with_triggers * 1000:.2f} ms with the triggers, "
              f"{without * 1000:.2f} ms without ({args.writes} cases)")

    client = app.test_client()
    print(f"\nGET /api/v1/cockpit, {args.queries} calls each:")
    for username, unit in (("demo_leader", None), ("leader_d1", "d1")):
        token = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for period in ("today", "week", "month"):
            query = {"period": period, **({"unit": unit} if unit else {})}
            samples = []
            for _ in range(args.queries):
                t0 = time.perf_counter()
                response = client.get("/api/v1/cockpit", query_string=query, headers=headers)
                samples.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
            print(f"  {username:12} {unit or 'city':5} {period:6} {_ms(samples)}   received {body['received']['total']:,}, "
                  f"open {body['open']['total']:,}")

    with app.app_context():
        now = clock.now()
        month = period_of("month", now)
        city = next(u for u in directory().by_code.values() if u.parent_code is None)
        district = directory().by_code["d1"]
        print("\nquery plans")
        for unit in (city, district):
            print(f"  roll-up, {unit.code}: arrivals per day of this month")
            _plan("SELECT day, sum(n) FROM cockpit_daily_counts WHERE unit_id = :u AND measure = 'channel' "
                  "AND day >= :a AND day <= :b GROUP BY day", {"u": unit.id, "a": month.last.replace(day=1), "b": month.last})
            cases = Case.__table__
            scope = case_in_unit(unit, cases)
            statement = select(cases.c.tier, light_bucket(cases, now), text("count(*)")).where(
                cases.c.status == text("'open'"), *([scope] if scope is not None else [])).group_by(
                cases.c.tier, light_bucket(cases, now))
            print(f"  open set, {unit.code}: by tier and light")
            _plan(_compiled(statement), {})


if __name__ == "__main__":
    main()
