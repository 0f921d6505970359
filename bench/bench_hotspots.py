#!/usr/bin/env python
"""Speed of the hot spots of a unit (``app.hotspots.queries.hotspots``, behind ``/api/v1/hotspots``).

A fresh database (SQLite in a temporary folder, or the PostgreSQL database given with
``--database-url``, whose public schema is DROPPED and recreated: a scratch database only) gets
the demo city and ``--cases`` cases spread evenly over ``--span-days`` (a year by default), with
their fingerprints as intake stores them. One case in five repeats one of 300 recurring problems
(a place and a category); the others are scattered. ``--queries`` requests per window (7, 30 and
90 days) are timed in-process for the city and for one district, and the plan of the window's
read is printed.

    .venv/bin/python bench/bench_hotspots.py --cases 100000
    .venv/bin/python bench/bench_hotspots.py --cases 100000 --database-url postgresql://postgres@127.0.0.1:5432/bench_hotspots
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from bench.scratch import scratch_app  # noqa: E402
from app.cases.models import Case  # noqa: E402
from app.core.db import session, transaction  # noqa: E402
from app.duplicates.models import CaseFingerprint  # noqa: E402
from app.hotspots.queries import hotspots  # noqa: E402
from app.hotspots.snapshots import current  # noqa: E402
from app.orgs.directory import directory  # noqa: E402
from app.orgs.models import OrgUnit  # noqa: E402

SOUTH, WEST, NORTH, EAST = 31.10, 121.30, 31.35, 121.60
CATEGORIES = [f"event:{n:05d}" for n in range(1001, 1041)] + [f"component:{n:05d}" for n in range(1001, 1021)]
WORDS = "井盖 路灯 垃圾 噪音 油烟 占道 积水 违停 破损 漏水 绿化 施工 广告 摊贩 异味".split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--span-days", type=int, default=365)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    app, url = scratch_app(args.database_url, "bench_hotspots_")
    rnd = random.Random(13)
    with app.app_context():
        grids = list(session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "community")))
        problems = [(rnd.uniform(SOUTH, NORTH), rnd.uniform(WEST, EAST), rnd.choice(CATEGORIES), rnd.choice(grids))
                    for _ in range(300)]
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        batch = 5000
        for start in range(0, args.cases, batch):
            cases, prints = [], []
            for i in range(start, min(start + batch, args.cases)):
                at = now - timedelta(seconds=args.span_days * 86400 * (1 - (i + 0.5) / args.cases))
                if i % 5 == 0:
                    lat, lng, category, grid = rnd.choice(problems)
                    lat, lng = lat + rnd.gauss(0, 0.0004), lng + rnd.gauss(0, 0.0004)
                else:
                    lat, lng, category, grid = rnd.uniform(SOUTH, NORTH), rnd.uniform(WEST, EAST), rnd.choice(CATEGORIES), rnd.choice(grids)
                words = rnd.sample(WORDS, 3)
                cases.append({"id": i + 1, "channel": "hotline", "title": "".join(words) + f"问题 {i}", "description": "bench",
                              "address": "bench", "lat": lat, "lng": lng, "category_code": category, "urgency": "normal",
                              "status": "open" if rnd.random() < 0.2 else "closed", "grid_unit_id": grid,
                              "created_at": at, "updated_at": at, "rework_count": int(rnd.random() < 0.05),
                              "reopen_count": 0, "has_incident": False, "escalation_count": 0, "return_count": 0,
                              "repeat_count": int(rnd.random() < 0.05)})
                prints.append({"case_id": i + 1, "created_at": at, "text": "".join(words), "exact": f"{i:032x}",
                               "tags": json.dumps({w: 1.0 for w in words}, ensure_ascii=False), "lat": lat, "lng": lng,
                               "category_code": category, "indexed": False})
            session.execute(insert(Case), cases)
            session.execute(insert(CaseFingerprint), prints)
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
        print(f"{args.cases} cases over {args.span_days} days inserted in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})")
        units = directory().by_code
        for days in (7, 30, 90):
            for code in ("city", "d1"):
                times, found, read = [], 0, 0
                for _ in range(args.queries):
                    t = time.perf_counter()
                    result = hotspots(units[code], days, now, limit=20)
                    times.append((time.perf_counter() - t) * 1000)
                    found, read = len(result.spots), result.cases
                    session.rollback()
                times.sort()
                print(f"{days:3d} days {code:4s}: {read:7d} cases read, {found:2d} hot spots  p50 {statistics.median(times):7.1f} ms"
                      f"  p95 {times[min(len(times) - 1, int(len(times) * .95))]:7.1f} ms")
        # what the API serves: the stored list (app/hotspots/snapshots.py) while younger than HOTSPOT_MAX_AGE
        app.config["SETTINGS"].HOTSPOT_MAX_AGE = 300
        for code in ("city", "d1"):
            with transaction():
                current(units[code], 30, 20, now)  # computed and stored (the scheduler's refresh, or a first request)
            times = []
            for _ in range(args.queries):
                t = time.perf_counter()
                with transaction():
                    listing = current(units[code], 30, 20, now)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            print(f" 30 days {code:4s}, stored list served: {len(listing.spots):2d} hot spots  p50 {statistics.median(times):7.2f} ms"
                  f"  p95 {times[min(len(times) - 1, int(len(times) * .95))]:7.2f} ms")
        explain = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN "
        since = (now - timedelta(days=30)).isoformat(sep=" ") if url.startswith("sqlite") else (now - timedelta(days=30)).isoformat()
        plan = session.execute(text(explain + "SELECT id FROM cases WHERE status IN ('open', 'closed') AND created_at >= :since"),
                               {"since": since}).all()
        print("plan:", " | ".join(str(row[-1]) for row in plan))
    app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
