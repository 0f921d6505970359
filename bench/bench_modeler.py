#!/usr/bin/env python
"""Time to a ready modeler: ``/designer/bpmn/processes/seven_step_loop.bpmn`` opened in headless
Chromium with a cold cache (a new browser context each run: nothing cached), until the diagram is
drawn (``#designer[data-ready="true"]``, set after ``importXML`` and the zoom to fit), and the bytes of
JavaScript the page loads (as served, and gzip-compressed as a proxy would send it).

The app runs on a fresh SQLite database in a temporary folder with the demo city and the shipped
bundle deployed, served over real HTTP by werkzeug on a loopback port (no gzip). The bundles must be
built first (``make static``). Prints every run and the median of ``--runs`` (default 5); the
target is ≤ 2 s on the project's machine.

    .venv/bin/python bench/bench_modeler.py
    .venv/bin/python bench/bench_modeler.py --path /designer/dmn/rules/starting_tier.dmn
"""
from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--path", default="/designer/bpmn/processes/seven_step_loop.bpmn")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    if not (root / "app" / "static" / "vendor" / "designer-bpmn.js").exists():
        sys.exit("the front-end bundles are missing: run `make static` first")
    tmp = tempfile.mkdtemp(prefix="bench_modeler_")
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite", "SECRET_KEY": "b" * 40,
                      "ATTACHMENT_DIR": Path(tmp)})
    runner = app.test_cli_runner()
    for cli in (["db", "upgrade"], ["demo", "load"], ["processes", "deploy"]):
        result = runner.invoke(args=cli)
        assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    from playwright.sync_api import sync_playwright
    times: list[float] = []
    js_bytes = js_gzip = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        login = browser.new_context()
        page = login.new_page()
        page.goto(f"{base}/login")
        page.fill("#username", "demo_designer")
        page.fill("#password", "demo")
        page.click(".login-card button[type=submit]")
        page.wait_for_url(f"{base}/inbox**")
        state = login.storage_state()  # the session cookie only: each run's context has an empty HTTP cache
        login.close()
        for run in range(args.runs):
            context = browser.new_context(viewport={"width": 1400, "height": 900}, storage_state=state)
            page = context.new_page()
            page.set_default_timeout(30_000)
            scripts: list = []
            page.on("response", lambda r: scripts.append(r) if r.request.resource_type == "script" else None)
            t0 = time.perf_counter()
            page.goto(f"{base}{args.path}")
            page.wait_for_selector('#designer[data-ready="true"]')
            elapsed = time.perf_counter() - t0
            bodies = [r.body() for r in scripts if r.status == 200]
            js_bytes = sum(len(b) for b in bodies)
            js_gzip = sum(len(gzip.compress(b, 6)) for b in bodies)
            times.append(elapsed)
            print(f"run {run + 1}: ready in {elapsed * 1000:7.0f} ms, {len(bodies)} scripts, {js_bytes:,} bytes of JavaScript "
                  f"({js_gzip:,} gzip)")
            context.close()
        browser.close()
    server.shutdown()
    app.extensions["db_engine"].dispose()
    print(f"median of {len(times)}: {statistics.median(times) * 1000:.0f} ms to the drawn diagram (target ≤ 2000 ms); "
          f"JavaScript {js_bytes:,} bytes ({js_gzip:,} gzip)")


if __name__ == "__main__":
    main()
