#!/usr/bin/env python
"""Migration of running cases to a new process version (issue 12): cases per second.

Per database (SQLite by default; PostgreSQL with --database-url, on scratch databases created on
that server and dropped at the end):

  1. set-up through the real CLI (db upgrade, catalog load, demo load, processes deploy);
  2. real template cases stopped at each open step of the loop (核实立案 file_case, 本级研判派遣
     triage, 任务处理 handle_case unclaimed and signed for — its yellow and red timers armed —,
     执行反馈 report_back), made with the real operations (bench_sla's walker), then bulk copies of
     their rows (INSERT ... SELECT, bench_sla.copy_cases) up to --cases running cases;
  3. a new version deployed whose change touches every step (each user task renamed in both
     BPMN files), so every case is moved onto changed specs, in the main process and in the
     call activity tier_handling;
  4. the dry run (app.designer.migration.assess) over --assess cases: cases assessed per second;
  5. the move of every running case with ``move_all_safe`` in batches of --batch, EACH CASE IN
     ITS OWN TRANSACTION (as the API and ``flask processes migrate`` do): cases per second, and
     checks afterwards that every case is on the new version, that its open tasks kept their ids,
     claims and deadlines, and that each case has one ``case_migrated`` audit event.

Run from the repository root with the project's virtualenv, e.g.::

    .venv/bin/python bench/bench_migrate.py                     # SQLite, 10,000 cases
    .venv/bin/python bench/bench_migrate.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/bench_migrate.py --cases 1000        # a short run
"""
from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_api as B  # noqa: E402
import bench_sla as S  # noqa: E402
from bench_api import BenchError, log  # noqa: E402

KINDS = ["file", "triage", "handle", "handle_claimed", "report"]
MIX = {"file": 0.15, "triage": 0.15, "handle": 0.25, "handle_claimed": 0.30, "report": 0.15}
RENAMES = {"seven_step_loop.bpmn": [("verify_on_site", "现场核实"), ("file_case", "核实立案"), ("inspect_case", "核查结案"),
                                    ("callback_case", "考核评价 (回访)")],
           "tier_handling.bpmn": [("triage", "本级研判派遣"), ("handle_case", "任务处理 (主办)"),
                                  ("cohandle_case", "协办处置"), ("report_back", "执行反馈")]}


def new_bundle() -> dict[str, dict[str, str]]:
    """The shipped bundle with every user task renamed (… v2)."""
    from flask import current_app
    from app.engine.definitions import read_bundle
    s = current_app.config["SETTINGS"]
    bundle = read_bundle(s.PROCESS_DIR, s.RULES_DIR, s.FORMS_DIR)
    for name, pairs in RENAMES.items():
        text = bundle["processes"][name]
        for bpmn_id, label in pairs:
            old = f'id="{bpmn_id}" name="{label}"'
            if old not in text:
                raise BenchError(f"{name}: {old} not found")
            text = text.replace(old, f'id="{bpmn_id}" name="{label} v2"')
        bundle["processes"][name] = text
    return bundle


def open_tasks() -> dict[int, tuple[Any, ...]]:
    from sqlalchemy import select
    from app.core.db import session
    from app.tasks.models import Task
    return {r.id: (r.spiff_id, r.claimed_by_id, r.due_at, r.yellow_at, r.case_id)
            for r in session.execute(select(Task.id, Task.spiff_id, Task.claimed_by_id, Task.due_at, Task.yellow_at,
                                            Task.case_id).where(Task.state == "open"))}


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, select
    from app.cases.models import Case
    from app.core.audit import AuditEvent
    from app.core.db import session, transaction
    from app.designer import migration
    from app.engine.definitions import deploy
    from app.engine.models import ProcessDefinition, WorkflowInstance
    from app.tasks.models import Task
    dbs = B.Databases(kind, args.database_url, keep=False)
    try:
        db = dbs.new("migrate")
        log(f"{kind}: set-up of {db.label}")
        B.setup_database(db)
        with B.app_context(db) as app:
            rng = random.Random(args.seed)
            t0 = time.perf_counter()
            templates = S.build_templates(KINDS, args.template_replicas, args.seed)
            n_templates = sum(len(v) for v in templates.values())
            log(f"{kind}: {n_templates} real template cases in {time.perf_counter() - t0:.1f} s")
            info = S.template_info([i for v in templates.values() for i in v])
            n_copies = args.cases - n_templates
            copies = [S.timed_copy(rng, tpl, info[tpl], S.T_SWEEP) for tpl in S.plan_mix(MIX, n_copies, templates, rng)]
            S.copy_cases(copies)
            running = session.scalar(select(func.count()).select_from(Case).where(Case.status == "open"))
            claimed = session.scalar(select(func.count()).select_from(Task).where(
                Task.state == "open", Task.claimed_by_id.is_not(None)))
            session.remove()
            log(f"{kind}: {running:,} running cases ({claimed:,} open tasks signed for)")
            pid = app.config["SETTINGS"].CASE_PROCESS_ID
            with transaction():
                old = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_id == pid,
                                                                     ProcessDefinition.version == 1))
                target, created = deploy(new_bundle(), pid, actor="bench")
                assert created
                target_id, old_id = target.id, old.id
            session.remove()
            target = session.get(ProcessDefinition, target_id)
            before = open_tasks()

            # the dry run over the first --assess cases
            ids = migration._case_ids(old_id, limit=args.assess)
            t0 = time.perf_counter()
            unsafe = sum(1 for i in ids if migration.assess(i, target))
            t_assess = time.perf_counter() - t0
            session.rollback()
            log(f"{kind}: dry run of {len(ids):,} cases in {t_assess:.1f} s ({len(ids) / t_assess:.0f} cases/s), "
                f"{unsafe} unsafe")

            # the move, batch by batch, each case in its own transaction
            moved = refused = 0
            after = 0
            t0 = time.perf_counter()
            while True:
                result = migration.move_all_safe(pid, target, None, after=after, batch=args.batch)
                moved += len(result.migrated)
                refused += len(result.refused)
                for r in result.refused[:3]:
                    log(f"  refused {r['id']}: {r['reasons']}")
                if result.next_after is None:
                    break
                after = result.next_after
            t_move = time.perf_counter() - t0
            session.remove()
            log(f"{kind}: moved {moved:,} cases in {t_move:.1f} s ({moved / t_move:.0f} cases/s), {refused} refused")

            # what the move kept
            on_new = session.scalar(select(func.count()).select_from(WorkflowInstance).join(
                Case, Case.id == WorkflowInstance.case_id).where(Case.status == "open",
                                                                 WorkflowInstance.definition_id == target_id))
            after_rows = open_tasks()
            kept = sum(1 for tid, v in before.items() if after_rows.get(tid) == v)
            events = session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "case_migrated"))
            renamed = session.scalar(select(func.count()).select_from(Task).where(
                Task.state == "open", Task.name.like("% v2")))
            session.remove()
            checks = {"on_new_version": on_new, "open_tasks": len(before), "tasks_kept": kept,
                      "tasks_renamed": renamed, "audit_events": events}
            if on_new != running or kept != len(before) or events != moved or refused:
                raise BenchError(f"{kind}: the move did not keep everything: {checks}")
            return {"database": kind, "running": running, "claimed": claimed,
                    "assess_cases": len(ids), "assess_s": round(t_assess, 2), "assess_per_s": round(len(ids) / t_assess, 1),
                    "moved": moved, "move_s": round(t_move, 2), "move_per_s": round(moved / t_move, 1),
                    "ms_per_case": round(1000 * t_move / max(1, moved), 2), **checks}
    finally:
        dbs.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", help="PostgreSQL: scratch databases are created (and dropped) on this server")
    p.add_argument("--cases", type=int, default=10_000, help="running cases to move (default 10,000)")
    p.add_argument("--assess", type=int, default=1000, help="cases of the dry run (default 1,000)")
    p.add_argument("--batch", type=int, default=500, help="cases per batch (default 500)")
    p.add_argument("--template-replicas", type=int, default=1, help="real template cases per step and department")
    p.add_argument("--seed", type=int, default=12)
    args = p.parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)
    kind = "postgresql" if args.database_url else "sqlite"
    try:
        r = run(kind, args)
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    print(f"\nmigration of running cases ({r['database']}): {r['running']:,} running cases, "
          f"{r['claimed']:,} open tasks signed for")
    print(f"  dry run (safe or why not)  {r['assess_cases']:>7,} cases  {r['assess_s']:>7.1f} s  "
          f"{r['assess_per_s']:>8.1f} cases/s")
    print(f"  move, one tx per case      {r['moved']:>7,} cases  {r['move_s']:>7.1f} s  {r['move_per_s']:>8.1f} cases/s"
          f"  ({r['ms_per_case']} ms per case)")
    print(f"  kept: {r['tasks_kept']:,} of {r['open_tasks']:,} open tasks (ids, claims, deadlines), "
          f"{r['tasks_renamed']:,} renamed to the new version, {r['audit_events']:,} case_migrated events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
