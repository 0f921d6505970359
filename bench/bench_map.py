#!/usr/bin/env python
"""Speed of the map's nearby search (``app.maps.queries.nearby_open_cases``, behind ``/map/nearby``).

A fresh database (SQLite in a temporary folder, or the PostgreSQL database given with
``--database-url``, whose public schema is DROPPED and recreated: a scratch database only) gets
the demo city and ``--cases`` open cases spread over it (closed ones besides, one in four); then
``--queries`` searches at random points of the city, each with the default radius (500 m) and
limit (50), are timed in-process (no HTTP) as

  staff-city    demo_operator (the whole city: the scope condition matches everything)
  staff-unit    dispatcher_d1 (one district: the scope's EXISTS conditions are evaluated)
  public        the published channels, public fields

and the query plan of the search is printed (it should use ``ix_cases_status_lat_lng``).

    .venv/bin/python bench/bench_map.py                          # SQLite, 100,000 cases
    .venv/bin/python bench/bench_map.py --database-url postgresql://postgres@127.0.0.1:5432/bench_map
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from bench.scratch import scratch_app  # noqa: E402
from app.cases.models import Case  # noqa: E402
from app.core.auth import load_principal  # noqa: E402
from app.core.db import session  # noqa: E402
from app.maps.queries import DEFAULT_LIMIT, DEFAULT_RADIUS_M, nearby_open_cases  # noqa: E402
from app.orgs.models import OrgUnit, User  # noqa: E402

SOUTH, WEST, NORTH, EAST = 31.10, 121.30, 31.35, 121.60  # about 28 × 28 km around the demo city


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    app, url = scratch_app(args.database_url, "bench_map_")
    rnd = random.Random(11)
    with app.app_context():
        grids = list(session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "community")))
        operator = session.scalar(select(User.id).where(User.username == "demo_operator"))
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        for start in range(0, args.cases, 5000):
            rows = [{"channel": rnd.choice(("hotline", "grid", "open311", "wechat")), "title": f"问题 {i}",
                     "description": "bench", "address": "bench", "lat": rnd.uniform(SOUTH, NORTH),
                     "lng": rnd.uniform(WEST, EAST), "urgency": "normal",
                     "status": "closed" if i % 4 == 3 else "open", "grid_unit_id": rnd.choice(grids),
                     "created_by_id": operator, "created_at": now, "updated_at": now, "rework_count": 0,
                     "reopen_count": 0, "has_incident": False, "escalation_count": 0, "return_count": 0,
                     "repeat_count": 0} for i in range(start, min(start + 5000, args.cases))]
            session.execute(insert(Case), rows)
        session.commit()
        if url.startswith("postgresql"):
            session.execute(text("ANALYZE cases"))
        else:
            session.execute(text("ANALYZE"))
        session.commit()
        print(f"{args.cases} cases inserted in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})")
        people = {name: load_principal(session.scalar(select(User.id).where(User.username == name)))
                  for name in ("demo_operator", "dispatcher_d1")}
        points = [(rnd.uniform(SOUTH, NORTH), rnd.uniform(WEST, EAST)) for _ in range(args.queries)]
        with app.test_request_context():
            for label, who, public in (("staff-city", "demo_operator", False), ("staff-unit", "dispatcher_d1", False),
                                       ("public", "demo_operator", True)):
                times, found = [], []
                for lat, lng in points:
                    t = time.perf_counter()
                    found.append(len(nearby_open_cases(people[who], lat, lng, DEFAULT_RADIUS_M, DEFAULT_LIMIT, public)))
                    times.append((time.perf_counter() - t) * 1000)
                    session.rollback()
                times.sort()
                print(f"{label:11s} p50 {statistics.median(times):6.2f} ms  p95 {times[int(len(times) * .95)]:6.2f} ms"
                      f"  max {times[-1]:6.2f} ms  cases found per search: mean {statistics.mean(found):.1f}")
        explain = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN "
        plan = session.execute(text(explain + "SELECT id FROM cases WHERE status = 'open' AND lat BETWEEN 31.2 AND 31.21 "
                                    "AND lng BETWEEN 121.4 AND 121.41")).all()
        print("plan:", " | ".join(str(row[-1]) for row in plan))
    app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
