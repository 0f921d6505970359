"""``flask cockpit``: check and rebuild the cockpit's daily roll-up."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.db import transaction

cockpit_cli = AppGroup("cockpit", help="The leader's cockpit: check or rebuild its daily counts of cases.")


@cockpit_cli.command("check")
def check_command() -> None:
    """Compare the daily counts (kept by triggers on the cases) with a recount of the cases; exit
    status 1 and the first differences when they disagree."""
    from app.cockpit.rollups import differences
    with transaction():
        found = differences()
    if not found:
        click.echo("cockpit_daily_counts agrees with the cases")
        return
    for (unit_id, measure, day, key), have, want in found:
        click.echo(f"  unit {unit_id} {measure} {day} {key!r}: stored {have}, recounted {want}", err=True)
    raise click.ClickException("the cockpit's daily counts differ from the cases: run `flask cockpit rebuild`")


@cockpit_cli.command("rebuild")
def rebuild_command() -> None:
    """Recount the cockpit's daily counts from the cases and replace them (needed after org units
    moved in the tree: past counts stay with the units a case was under when it changed)."""
    from app.cockpit.rollups import rebuild
    with transaction():
        rows = rebuild()
    click.echo(f"cockpit_daily_counts rebuilt: {rows} rows")
