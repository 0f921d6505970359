"""``flask`` commands: database, processes, demo data, users.

Run them as ``flask --app wsgi <group> <command>`` (the Makefile does).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.config import ROOT
from app.core.db import session, transaction

db_cli = AppGroup("db", help="Database schema (Alembic migrations in migrations/).")
processes_cli = AppGroup("processes", help="Deploy and list versions of the BPMN/DMN/form bundle.")
demo_cli = AppGroup("demo", help="Demo data for a development machine.")
users_cli = AppGroup("users", help="User accounts and roles.")


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", current_app.config["SETTINGS"].sqlalchemy_url.replace("%", "%%"))
    return cfg


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from alembic import command
    url = current_app.config["SETTINGS"].sqlalchemy_url
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. 'base')."""
    from alembic import command
    command.downgrade(alembic_config(), revision)


@processes_cli.command("deploy")
@click.option("--process", "process_id", default=None, help="process id (default: CASE_PROCESS_ID)")
def processes_deploy(process_id: str | None) -> None:
    """Read processes/, rules/ and forms/; store a new version if anything changed."""
    from app.engine.definitions import BundleError, deploy, read_bundle
    settings = current_app.config["SETTINGS"]
    process_id = process_id or settings.CASE_PROCESS_ID
    bundle = read_bundle(settings.PROCESS_DIR, settings.RULES_DIR, settings.FORMS_DIR)
    try:
        with transaction():
            definition, created = deploy(bundle, process_id, actor="cli")
            click.echo(f"{process_id} version {definition.version} {'deployed' if created else 'unchanged'} "
                       f"({definition.content_hash[:12]})")
    except BundleError as exc:
        for where, messages in exc.errors.items():
            for m in messages:
                click.echo(f"  {where}: {m}", err=True)
        raise click.ClickException("the bundle was not deployed") from None


@processes_cli.command("list")
def processes_list() -> None:
    """List deployed versions with their number of cases."""
    from sqlalchemy import func
    from app.engine.models import ProcessDefinition, WorkflowInstance
    rows = session.execute(select(ProcessDefinition, func.count(WorkflowInstance.case_id))
                           .outerjoin(WorkflowInstance, WorkflowInstance.definition_id == ProcessDefinition.id)
                           .group_by(ProcessDefinition.id).order_by(ProcessDefinition.process_id, ProcessDefinition.version)).all()
    for d, n in rows:
        click.echo(f"{d.process_id} v{d.version}  {d.deployed_at:%Y-%m-%d %H:%M}  {d.content_hash[:12]}  cases={n}")


@demo_cli.command("load")
def demo_load() -> None:
    """Create the demo city, its departments and one user per role and unit (password 'demo')."""
    from app.orgs.demo import load_demo
    if not current_app.config["SETTINGS"].is_demo:
        raise click.ClickException("demo data is only for TONGGUAN_ENV=development or testing")
    with transaction():
        created = load_demo()
    click.echo(f"demo data: {created} users created" if created else "demo data already present")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="display name")
@click.option("--role", "roles", multiple=True, help="ROLE@UNIT_CODE, repeatable, e.g. dispatcher@city")
@click.password_option()
def users_create(username: str, display_name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a user with roles at org units."""
    from app.orgs.operations import create_user
    with transaction():
        create_user(username, display_name, password, [tuple(r.split("@", 1)) for r in roles])  # type: ignore[misc]
    click.echo(f"user {username} created")


def register(app: Flask) -> None:
    for group in (db_cli, processes_cli, demo_cli, users_cli):
        app.cli.add_command(group)
