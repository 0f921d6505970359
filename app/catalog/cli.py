"""``flask catalog ...``: load the GB/T 47678.5 directory, import a 12345 topic tree, list versions, search."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.catalog.models import CATALOGS, CATEGORY_KINDS
from app.core.db import transaction
from app.core.errors import AppError

catalog_cli = AppGroup("catalog", help="Category catalogue: GB/T 47678.5 directory and 12345 topic tree (versioned).")


def _fail(exc: AppError) -> click.ClickException:
    lines = [m.split(" / ", 1)[-1] for messages in (exc.errors or {}).values() for m in messages]
    return click.ClickException("\n".join([exc.message.split(" / ", 1)[-1], *("  " + line for line in lines)]))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None


@catalog_cli.command("load")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="a GB/T 47678.5 directory CSV (standard,code,kind,major_class,name); default: the one shipped")
@click.option("--activate", is_flag=True, help="if this content is an older, inactive version, make it active again")
def load(path: Path | None, activate: bool) -> None:
    """Load the GB/T 47678.5 directory; unchanged content creates no new version."""
    from app.catalog.operations import load_directory
    try:
        with transaction():
            result = load_directory(_read(path) if path else None, path.name if path else None, "cli", activate)
    except AppError as exc:
        raise _fail(exc) from None
    click.echo(result.summary())


@catalog_cli.command("import-topics")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--activate", is_flag=True, help="if this content is an older, inactive version, make it active again")
def import_topics(path: Path, activate: bool) -> None:
    """Import a 12345 topic tree from FILE, a CSV with the header 一级分类,二级分类,三级分类."""
    from app.catalog.operations import import_topics as do_import
    try:
        with transaction():
            result = do_import(_read(path), path.name, "cli", activate)
    except AppError as exc:
        raise _fail(exc) from None
    click.echo(result.summary())


@catalog_cli.command("activate")
@click.argument("catalog", type=click.Choice(CATALOGS))
@click.argument("version", type=click.IntRange(min=1))
def activate(catalog: str, version: int) -> None:
    """Make stored VERSION of CATALOG the active one (e.g. to go back to an earlier tree)."""
    from app.catalog.operations import activate_version
    try:
        with transaction():
            row = activate_version(catalog, version, "cli")
    except AppError as exc:
        raise _fail(exc) from None
    click.echo(f"{row.catalog} version {row.version} is active")


@catalog_cli.command("versions")
def versions() -> None:
    """List stored versions, newest first; '*' marks the active one."""
    from app.catalog.queries import all_versions
    rows = all_versions()
    if not rows:
        click.echo("no catalogue loaded: run 'flask catalog load'")
    for v in rows:
        click.echo(f"{'*' if v.active else ' '} {v.catalog:<13} v{v.version:<3} {v.loaded_at:%Y-%m-%d %H:%M}  "
                   f"rows={v.row_count:<5} {v.sha256[:12]}  {v.loaded_by or '-':<8} {v.source}")


@catalog_cli.command("search")
@click.argument("query")
@click.option("--kind", type=click.Choice(CATEGORY_KINDS), default=None, help="only components or only events")
@click.option("--topics", is_flag=True, help="search the 12345 topic tree instead of the categories")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
def search(query: str, kind: str | None, topics: bool, limit: int) -> None:
    """Search as the operators' picker does: Chinese, pinyin initials (jg), full pinyin, code prefix."""
    from app.catalog.service import search_categories, search_topics
    if topics:
        for t in search_topics(query, limit):
            click.echo(f"{t.code:<20} L{t.level}  {t.path_name}")
        return
    for c in search_categories(query, kind, limit):
        click.echo(f"{c.key:<16} {c.name}  ({c.major_class})")
