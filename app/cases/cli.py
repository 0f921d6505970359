"""``flask cases``: the daily consistency check of running cases (also run by the scheduler)."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

cases_cli = AppGroup("cases", help="Work orders: find cases whose workflow and task table disagree.")


@cases_cli.command("check")
@click.option("--case", "case_ids", type=click.IntRange(min=1), multiple=True, metavar="ID",
              help="check only this case (repeatable); default: every open case")
@click.option("--dry-run", is_flag=True, help="report only; open no incident")
@click.option("--json", "as_json", is_flag=True, help="print the findings as JSON")
def check_command(case_ids: tuple[int, ...], dry_run: bool, as_json: bool) -> None:
    """Read every open case's workflow and compare it with the task table, the case's status and
    its timer mark; also find ended cases with open tasks. Each problem case without an open
    incident gets one ("inconsistent"), which admins repair at /admin/incidents. Exits with 1
    when something was found."""
    from app.engine.consistency import check_cases
    result = check_cases(list(case_ids) or None, open_incidents=not dry_run)
    if as_json:
        click.echo(json.dumps({"cases": result.cases, "seconds": round(result.seconds, 3),
                               "incidents": result.incidents,
                               "findings": [{"case": f.case_id, "problem": f.code, "message": f.message}
                                            for f in result.findings]}, ensure_ascii=False, indent=2))
    else:
        for f in result.findings:
            click.echo(f"case {f.case_id}: {f.code}: {f.message}")
        click.echo(result.summary())
    if result.findings:
        raise SystemExit(1)
