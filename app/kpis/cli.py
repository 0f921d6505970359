"""``flask kpis``: recompute the KPI facts from the case history, check them, print figures."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

kpis_cli = AppGroup("kpis", help="KPIs (考核评价): rebuild and check the facts behind the figures, print a unit's KPIs.")


@kpis_cli.command("rebuild")
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(100, 100_000),
              help="cases read and written per transaction")
def rebuild_command(batch: int) -> None:
    """Drop every stored KPI fact and roll-up and compute them again from the cases, their tasks and
    their audit events. Run it once after upgrading to the KPI tables, or after loading cases
    straight into the tables; run it while nothing else writes cases."""
    from app.kpis.rebuild import rebuild

    def progress(done: int, total: int) -> None:
        if done % (batch * 20) == 0 or done == total:
            click.echo(f"  … {done:,} / {total:,} cases")
    result = rebuild(batch=batch, progress=progress)
    click.echo(f"rebuilt the facts of {result.cases:,} cases: {result.facts:,} facts, {result.rollups:,} roll-up rows "
               f"in {result.seconds:.1f} s")


@kpis_cli.command("check")
def check_command() -> None:
    """Compare the stored facts and roll-ups with a recompute from scratch (nothing is written);
    exits with status 1 and lists the first differences when they disagree."""
    from app.kpis.rebuild import differences
    problems = differences()
    for line in problems:
        click.echo(f"  {line}", err=True)
    if problems:
        raise click.ClickException("the KPI facts differ from the case history; run 'flask kpis rebuild'")
    click.echo("the KPI facts and roll-ups equal a recompute from the case history")


@kpis_cli.command("show")
@click.argument("unit")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="first local day")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="last local day (inclusive)")
def show_command(unit: str, start: date, end: date) -> None:
    """Print the KPIs of UNIT (an org unit code, with everything below it) over a period."""
    from sqlalchemy import select

    from app.core.db import session
    from app.kpis.active import active_formulas
    from app.kpis.queries import figures
    from app.orgs.models import OrgUnit
    org = session.scalar(select(OrgUnit).where(OrgUnit.code == unit))
    if org is None:
        raise click.ClickException(f"no org unit {unit!r}")
    for f in figures(active_formulas(), org.path, start.date(), end.date(), session()):
        value = "—" if f.value is None else (f"{f.value:.1%}" if f.kind == "rate" else f"{f.value}")
        click.echo(f"{f.key:22} {value:>8}  ({f.numerator} / {f.denominator}, target {f.target})")


@kpis_cli.command("report")
@click.option("--month", help="the month, YYYY-MM (default: last month)")
def report_command(month: str | None) -> None:
    """Generate and store the monthly evaluation report of the city and every district for a month
    (the scheduler does it on the 1st of each month for the month before)."""
    from datetime import date as date_

    from app.core.db import transaction
    from app.kpis.reports import last_month, store_month
    try:
        first = date_.fromisoformat(f"{month}-01") if month else last_month()
    except ValueError:
        raise click.BadParameter("expected YYYY-MM", param_hint="--month") from None
    with transaction():
        count = store_month(first)
    click.echo(f"stored {count} reports for {first:%Y-%m}")
