"""``flask open311 …``: issue, revoke and list the API keys of Open311 clients."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.db import transaction
from app.core.errors import AppError

open311_cli = AppGroup("open311", help="Open311 GeoReport v2: API keys of the client apps (docs/open311.md).")


def _english(message: str) -> str:
    return message.split(" / ", 1)[-1]


def _fail(exc: AppError) -> click.ClickException:
    lines = [_english(m) for messages in (exc.errors or {}).values() for m in messages]
    return click.ClickException("\n".join(lines) or _english(exc.message))


@open311_cli.command("issue-key")
@click.argument("name")
def issue_key(name: str) -> None:
    """Issue a key for the client app NAME and print it: it is shown this once, only its hash is kept."""
    from app.open311.operations import issue_key as issue
    try:
        with transaction():
            key, plaintext = issue(name, None)
            key_id = key.id
    except AppError as exc:
        raise _fail(exc) from None
    click.echo(f"key {key_id} issued to {name!r}; give the client this api_key (it is not shown again):")
    click.echo(plaintext)


@open311_cli.command("revoke-key")
@click.argument("ref", metavar="PREFIX|ID")
def revoke_key(ref: str) -> None:
    """Revoke a key, named by its id or the first characters `keys` shows; the client gets 403 from now on."""
    from app.open311.operations import find_key, revoke_key as revoke
    try:
        with transaction():
            key = revoke(find_key(ref), None)
            click.echo(f"key {key.id} ({key.prefix}…, {key.name}) revoked")
    except AppError as exc:
        raise _fail(exc) from None


@open311_cli.command("keys")
def list_keys() -> None:
    """List the keys: id, prefix, name, issued, last used, revoked."""
    from app.open311.operations import list_keys as keys

    def when(moment: object) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "-"
    rows = keys()
    if not rows:
        click.echo("no keys issued: flask open311 issue-key NAME")
    for key in rows:
        state = f"revoked {when(key.revoked_at)}" if key.revoked_at else "active"
        click.echo(f"{key.id:>4}  {key.prefix:<8}…  {key.name:<30}  issued {when(key.created_at)}  "
                   f"last used {when(key.last_used_at)}  {state}")
