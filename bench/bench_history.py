#!/usr/bin/env python
"""How long the demo history takes (flask demo history, run by make run): wall and CPU seconds,
cases, ms per case and per operation, on a fresh database.

Each run sets up a new database through the real CLI (db upgrade, catalog load, demo load,
processes deploy), then times ``generate`` alone, as ``make run`` calls it. SQLite: a file in a
temporary folder; PostgreSQL with ``--database-url``, whose public schema is DROPPED and
recreated: a scratch database only. The history ends at a fixed moment (--until, default
2026-12-03 18:00 +08:00) so runs are comparable; the machine's load is printed with them (the
figures are CPU-bound: on a busy machine the wall time grows, the CPU time does not).

    .venv/bin/python bench/bench_history.py                       # defaults of make run, 3 runs
    .venv/bin/python bench/bench_history.py --per-day 20 --runs 1
    .venv/bin/python bench/bench_history.py --database-url postgresql://postgres@127.0.0.1:5432/bench_history
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def fresh_app(url: str | None, folder: Path, n: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    from app import create_app
    if url:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{folder / f'history{n}.sqlite'}"
    app = create_app({"ENV": "development", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                      "ATTACHMENT_DIR": folder / f"files{n}"})
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["catalog", "load"], ["demo", "load"], ["processes", "deploy"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--per-day", type=float, default=None, help="default: the command's default")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--until", default="2026-12-03T18:00:00+08:00")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import logging
    logging.disable(logging.INFO)
    from sqlalchemy import func, select

    from app.core.audit import AuditEvent
    from app.demo.history import DEFAULT_PER_DAY, generate
    per_day = args.per_day or DEFAULT_PER_DAY
    until = datetime.fromisoformat(args.until)
    print(f"demo history: {args.months} months, {per_day} a weekday, seed {args.seed}, until {until.isoformat()}, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}")
    walls, cpus, per_case = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.runs):
            app = fresh_app(args.database_url, Path(tmp), n)
            with app.app_context():
                load = os.getloadavg()[0]
                wall, cpu = time.perf_counter(), time.process_time()
                summary = generate(args.months, per_day, args.seed, end=until)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                assert summary is not None
                from app.core.db import session
                events = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.case_id.is_not(None)))
                session.remove()
            app.extensions["db_engine"].dispose()
            walls.append(wall)
            cpus.append(cpu)
            per_case.append(1000 * cpu / summary.cases)
            print(f"  run {n + 1}: {summary.cases} cases, {events} audit events, wall {wall:.1f} s, CPU {cpu:.1f} s, "
                  f"{per_case[-1]:.0f} ms CPU per case, {1000 * cpu / max(events or 1, 1):.1f} ms per event "
                  f"(load average {load:.1f})")
            if n == 0:
                for line in summary.lines()[1:]:
                    print("   " + line)
    print(f"median: wall {statistics.median(walls):.1f} s, CPU {statistics.median(cpus):.1f} s, "
          f"{statistics.median(per_case):.0f} ms CPU per case")


if __name__ == "__main__":
    main()
