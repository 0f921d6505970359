"""``flask hotspots``: evaluate the hot-spot grouping on a file of real citizen messages."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from app.config import ROOT

hotspots_cli = AppGroup("hotspots", help="Hot spots (热点问题): evaluate the grouping on real messages.")

DEFAULT_MESSAGES = ROOT.parent / "shared" / "data" / "messages" / "unlabelled_messages.csv"
COLUMNS = (("rank", "#"), ("heat", "heat"), ("place", "place"), ("people", "people"), ("time_range", "time range"),
           ("messages", "messages"), ("users", "users"), ("likes", "likes"), ("description", "description"))


@hotspots_cli.command("evaluate")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MESSAGES,
              show_default=True, help="CSV of messages: message_id, user, subject, time, detail[, likes].")
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True, help="How many hot spots to print.")
@click.option("--half-life-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Decay a message's weight with its age before the newest message [default: none, the file is one period].")
@click.option("--ids", is_flag=True, help="Also print each hot spot's message ids and key terms.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def evaluate_command(csv_path: Path, top: int, half_life_days: float | None, ids: bool, as_json: bool) -> None:
    """The top hot spots of a message file: place, people, time range, messages, users, likes, description."""
    from app.hotspots.evaluate import evaluate, table
    from app.hotspots.grouping import Rules
    if not csv_path.is_file():
        raise click.ClickException(f"{csv_path} does not exist")
    try:
        result = evaluate(csv_path, top, Rules(half_life_days=half_life_days))
    except (ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot evaluate: {exc}") from None
    rows = table(result)
    if as_json:
        click.echo(json.dumps({"messages": result.messages, "hotspots": rows}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.messages} messages, newest {result.newest:%Y-%m-%d}; top {len(rows)} hot spots")
    click.echo("\t".join(label for _key, label in COLUMNS))
    for row in rows:
        click.echo("\t".join(str(row[key]) for key, _label in COLUMNS))
        if ids:
            click.echo(f"\tterms: {row['terms']}\n\tids: {row['ids']}")
