"""``flask attachments``: housekeeping of the attachment store."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.db import transaction

attachments_cli = AppGroup("attachments", help="Photos and files of cases, stored outside the database.")


@attachments_cli.command("gc")
def gc_command() -> None:
    """Remove stored files no attachment points at (left by failed requests, older than an hour)."""
    from app.attachments.operations import garbage_collect
    with transaction():
        removed = garbage_collect()
    click.echo(f"{removed} orphan files removed")
