"""``flask duplicates``: evaluate the detector, keep its index small, rebuild it."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.config import ROOT
from app.core.db import transaction, utcnow

duplicates_cli = AppGroup("duplicates", help="Duplicate detection (智能判重): evaluate it on labelled data, purge its index.")

DEFAULT_MESSAGES = ROOT.parent / "shared" / "data" / "messages" / "unlabelled_messages.csv"
DEFAULT_SAMPLE = ROOT / "tests" / "data" / "duplicates_sample.csv"


@duplicates_cli.command("evaluate")
@click.option("--messages", "messages_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MESSAGES,
              show_default=True, help="CSV of messages: message_id, user, subject, time, detail.")
@click.option("--sample", "sample_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SAMPLE,
              show_default=True, help="Labelled sample: message_id, group (same group = same problem).")
@click.option("--window-days", type=click.IntRange(0, 3650), default=None,
              help="Time window for earlier reports [default: TONGGUAN_DEDUP_WINDOW_DAYS].")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate_command(messages_path: Path, sample_path: Path, window_days: int | None, as_json: bool) -> None:
    """Precision, recall and speed of the detector on a labelled sample of real messages."""
    from app.duplicates.evaluate import as_dict, evaluate, report
    for path in (messages_path, sample_path):
        if not path.is_file():
            raise click.ClickException(f"{path} does not exist")
    settings = current_app.config["SETTINGS"]
    try:
        result = evaluate(messages_path, sample_path, window_days if window_days is not None else settings.DEDUP_WINDOW_DAYS)
    except (ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot evaluate: {exc}") from None
    click.echo(json.dumps(as_dict(result), indent=2) if as_json else report(result, settings.DEDUP_MIN_SCORE))


@duplicates_cli.command("purge")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def purge_command(batch: int) -> None:
    """Take cases closed longer ago than the window out of the detector's index (the scheduler does this hourly)."""
    from app.duplicates.store import purge
    total = 0
    window = current_app.config["SETTINGS"].DEDUP_WINDOW_DAYS
    while True:
        with transaction():
            n = purge(utcnow(), window, batch)
        total += n
        if n < batch:
            break
    click.echo(f"{total} closed cases left the duplicate index")
