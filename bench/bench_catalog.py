#!/usr/bin/env python
"""Category search speed (issue 11): the median and p95 time of one typeahead query over the
shipped GB/T 47678.5 directory, in-process, with the search's small result cache cleared before
every query (a cached query costs a dict look-up and would hide the search itself).

The queries are the ranking test's (tests/catalog/search_cases.py: pinyin initials, full pinyin,
Chinese fragments, citizens' words, codes) plus every prefix of each, as a typeahead sends them
keystroke by keystroke. The database is a new SQLite file in a temporary folder, set up through
the real CLI (db upgrade, catalog load).

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/bench_catalog.py               # 20 rounds
    .venv/bin/python bench/bench_catalog.py --rounds 50
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402

FALLBACK = ["jg", "ld", "ljx", "jinggai", "井盖", "垃圾", "0600", "event:06", "xds", "zdjy"]


def queries() -> list[str]:
    try:
        from tests.catalog.search_cases import CASES
        base = [q for q, *_rest in CASES]
    except ImportError:  # before the ranking test existed
        base = FALLBACK
    out: list[str] = []
    for q in base:
        out.extend(q[:k] for k in range(1, len(q) + 1))
    return list(dict.fromkeys(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="times each query is measured (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40})
        runner = app.test_cli_runner()
        for cli in (["db", "upgrade"], ["catalog", "load"]):
            result = runner.invoke(args=cli)
            assert result.exit_code == 0, result.output
        with app.app_context():
            from app.catalog import service
            index = service.catalogue()
            searcher = index.category_search
            qs = queries()
            times: list[float] = []
            for _round in range(args.rounds):
                for q in qs:
                    searcher._cache.clear()
                    start = time.perf_counter()
                    searcher.search(q, None, 20)
                    times.append(time.perf_counter() - start)
            start = time.perf_counter()
            service.build_index(service.session())
            build = time.perf_counter() - start
        app.extensions["db_engine"].dispose()
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(f"category search: {len(qs)} queries x {args.rounds} rounds, {len(index.categories)} categories")
    print(f"  median {statistics.median(times) * 1000:.3f} ms   p95 {p95 * 1000:.3f} ms   "
          f"max {times[-1] * 1000:.3f} ms   (index build {build * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
