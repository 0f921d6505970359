"""``flask`` commands: database, processes, demo data, users, working-time calendar, scheduler; the
feature packages add theirs (cases, catalog, open311, duplicates, attachments) in :func:`register`.

Run them as ``flask --app wsgi <group> <command>`` (the Makefile does).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.config import ROOT
from app.core.db import session, transaction

db_cli = AppGroup("db", help="Database schema (Alembic migrations in migrations/).")
processes_cli = AppGroup("processes", help="Deploy and list versions of the BPMN/DMN/form bundle.")
demo_cli = AppGroup("demo", help="Demo data for a development machine.")
users_cli = AppGroup("users", help="User accounts and roles, passwords, sessions and login lockouts.")
sla_cli = AppGroup("sla", help="Working-time calendar of task deadlines: compute a due time, import the State "
                                "Council's holiday notice, edit the holiday list.")


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
    from app.engine.definitions import BundleError, deploy, inspect_bundle, read_bundle
    settings = current_app.config["SETTINGS"]
    process_id = process_id or settings.CASE_PROCESS_ID
    try:
        bundle = read_bundle(settings.PROCESS_DIR, settings.RULES_DIR, settings.FORMS_DIR)
        for warning in (f for f in inspect_bundle(bundle, process_id).findings if f.severity == "warning"):
            click.echo(f"  warning {warning.where}: {warning.text}", err=True)  # they do not stop a deploy
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


@processes_cli.command("clean-test-runs")
def processes_clean_test_runs() -> None:
    """Delete the designers' expired test runs (the scheduler does it hourly)."""
    from app.designer.testrun import clean_up
    with transaction():
        click.echo(f"{clean_up()} expired test runs deleted")
@processes_cli.command("activate")
@click.argument("version", type=int)
def processes_activate(version: int) -> None:
    """Make VERSION the one new cases start on (an older one: a rollback)."""
    from app.engine.definitions import activate, active_definition_id
    from app.engine.models import ProcessDefinition
    process_id = current_app.config["SETTINGS"].CASE_PROCESS_ID
    with transaction():
        definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id,
                                                                    ProcessDefinition.version == version))
        if definition is None:
            raise click.ClickException(f"{process_id} has no version {version}")
        before = session.get(ProcessDefinition, active_definition_id(process_id))
        if before is None or before.id != definition.id:
            from app.core.audit import record
            activate(definition, "cli")
            record("process_activated", version=version, from_version=before.version if before else None, via="cli")
    click.echo(f"{process_id} version {version} active")


@processes_cli.command("migrate")
@click.option("--from", "from_version", type=int, required=True, help="the version the cases are on")
@click.option("--to", "to_version", type=int, required=True, help="the version to move them to")
@click.option("--all-safe", is_flag=True, help="every running case of --from that can move safely")
@click.option("--case", "case_ids", type=int, multiple=True, help="a case id (repeatable)")
@click.option("--dry-run", is_flag=True, help="only say which cases could move, and why not")
@click.option("--batch", type=int, default=500, show_default=True, help="cases read per round")
def processes_migrate(from_version: int, to_version: int, all_safe: bool, case_ids: tuple[int, ...], dry_run: bool,
                      batch: int) -> None:
    """Move running cases from one version to another, each case in its own transaction."""
    from app.designer import migration
    from app.engine.models import ProcessDefinition
    if all_safe == bool(case_ids):
        raise click.UsageError("give either --all-safe or one or more --case")
    process_id = current_app.config["SETTINGS"].CASE_PROCESS_ID
    found = {d.version: d for d in session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.process_id == process_id, ProcessDefinition.version.in_([from_version, to_version])))}
    for v in (from_version, to_version):
        if v not in found:
            raise click.ClickException(f"{process_id} has no version {v}")
    source, target = found[from_version], found[to_version]
    counts = {"moved": 0, "refused": 0}

    def report(case_id: int, reasons: list[str]) -> None:
        counts["refused" if reasons else "moved"] += 1
        for reason in reasons:
            click.echo(f"  case {case_id} stays on v{from_version}: {reason}")

    if dry_run:
        ids = list(case_ids) or migration._case_ids(source.id)
        for case_id in ids:
            report(case_id, migration.assess(case_id, target))
        session.rollback()
        click.echo(f"dry run: {counts['moved']} of {len(ids)} cases could move from v{from_version} to v{to_version}")
        return
    if case_ids:
        migration.move(target, case_ids, None, on_case=report)
    else:
        after = 0
        while True:
            result = migration.move_all_safe(process_id, target, None, after=after, batch=batch,
                                             from_definition=source, on_case=report)
            if result.next_after is None:
                break
            after = result.next_after
    click.echo(f"{counts['moved']} cases moved from v{from_version} to v{to_version}, {counts['refused']} stay")


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
@click.password_option(help="at least TONGGUAN_PASSWORD_MIN_LENGTH (12) characters, not a common password, "
                            "not the username (asked twice when not given)")
def users_create(username: str, display_name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a user with roles at org units."""
    from app.core.errors import ValidationFailed
    from app.orgs.operations import create_user
    try:
        with transaction():
            create_user(username, display_name, password, [tuple(r.split("@", 1)) for r in roles])  # type: ignore[misc]
    except ValidationFailed as exc:
        raise _usage_error(exc) from None
    click.echo(f"user {username} created")


def _user_named(username: str) -> Any:
    from app.orgs.models import User
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username}")
    return user


@users_cli.command("password")
@click.argument("username")
@click.password_option(help="the new password (asked twice when not given)")
def users_password(username: str, password: str) -> None:
    """Set USERNAME's password (at least TONGGUAN_PASSWORD_MIN_LENGTH characters, not a common
    password, not the username); every browser session and API token of the user ends."""
    from app.core.errors import ValidationFailed
    from app.security.login import check_new_password, set_password
    try:
        with transaction():
            user = _user_named(username)
            check_new_password(username, password)
            ended = set_password(user, password, actor=None)
    except ValidationFailed as exc:
        raise _usage_error(exc) from None
    click.echo(f"password of {username} changed; {ended} sessions and tokens ended")


@users_cli.command("revoke")
@click.argument("username")
def users_revoke(username: str) -> None:
    """End every browser session and API token of USERNAME now (a lost laptop, a leaked token).

    Browser sessions end at once; a token may still pass for up to 5 seconds in a worker that
    cached it."""
    from app.security.login import revoke_user_sessions
    with transaction():
        ended = revoke_user_sessions(_user_named(username), None, "revoked by admin (cli)")
    click.echo(f"{ended} sessions and tokens of {username} ended")


@users_cli.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Lift the login lockout of USERNAME (after too many failed logins). A locked client
    address unlocks by itself when its time is up."""
    from app.security.throttle import unlock
    with transaction():
        lifted = unlock(username)
    click.echo(f"{username} unlocked" if lifted else f"{username} had no failed logins on record")


class LimitParam(click.ParamType):
    """A task limit: ``<N>h`` working hours or ``<N>d`` working days."""

    name = "limit"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from app.sla.calendar import parse_limit
        try:
            parse_limit(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return str(value).strip()


class MomentParam(click.ParamType):
    """An ISO 8601 date and time; without an offset it is wall-clock time of the calendar zone."""

    name = "datetime"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date and time, e.g. 2026-09-30T16:30 or "
                      "2026-09-30T08:30:00Z", param, ctx)


DAY = click.DateTime(formats=["%Y-%m-%d"])


def _english(message: str) -> str:
    """Operations write '中文 / English'; the command line shows the English half."""
    return message.split(" / ", 1)[-1]


def _usage_error(exc: Any) -> click.UsageError:
    lines = [_english(m) for messages in (exc.errors or {}).values() for m in messages]
    return click.UsageError("\n".join(lines) or _english(exc.message))


@demo_cli.command("history")
@click.option("--months", type=click.IntRange(1, 24), default=3, show_default=True,
              help="how many months of history, ending now (or at --until)")
@click.option("--per-day", type=click.FloatRange(0.5, 500), default=3, show_default=True,
              help="new cases on an ordinary weekday (fewer at weekends and on holidays)")
@click.option("--seed", type=int, default=12345, show_default=True, help="the same seed makes the same history")
@click.option("--until", "until", type=MomentParam(), default=None,
              help="end the history at this past moment instead of now (ISO 8601; no offset: Asia/Shanghai)")
@click.option("--if-empty", is_flag=True,
              help="say so and exit 0 instead of failing when the database has other cases (make run)")
def demo_history(months: int, per_day: float, seed: int, until: datetime | None, if_empty: bool) -> None:
    """Play months of the demo city through the product's operations: cases from every channel,
    filed, dispatched, handled, inspected and called back, some late, returned, extended,
    escalated, parked, reworked, reopened or merged, the last ones still open.

    Only for TONGGUAN_ENV=development or testing, on a database with the demo city (flask demo
    load) and no case the history did not make; a second run changes nothing (docs/demo.md)."""
    from app.demo.history import HistoryRefused, generate
    if until is not None and (until.tzinfo is None or until.utcoffset() is None):
        from zoneinfo import ZoneInfo
        until = until.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    try:
        summary = generate(months, per_day, seed, end=until)
    except HistoryRefused as exc:
        if if_empty and current_app.config["SETTINGS"].is_demo:
            click.echo(f"demo history skipped: {exc}")
            return
        raise click.ClickException(str(exc)) from None
    if summary is None:
        click.echo("demo history already present")
        return
    for line in summary.lines():
        click.echo(line)


@sla_cli.command("due")
@click.option("--start", required=True, type=MomentParam(),
              help="when the task starts, ISO 8601: 2026-09-30T16:30 (no offset: local time of "
                   "TONGGUAN_CALENDAR_TZ, Asia/Shanghai by default) or 2026-09-30T08:30:00Z")
@click.option("--limit", required=True, type=LimitParam(),
              help="time limit in working time: <N>h working hours or <N>d working days (one day = the "
                   "office hours of TONGGUAN_WORK_PERIODS, 7 h by default)")
def sla_due(start: datetime, limit: str) -> None:
    """Print the due time of a task: --start plus --limit of working time.

    Computed as for new tasks: office hours (TONGGUAN_WORK_PERIODS) and the working days of the
    calendar (the admin holiday list, then an imported State Council notice, then chinesecalendar,
    then the holidays of the law with 补假; see `sla holidays status`). The answer is ISO 8601 in
    the calendar zone, e.g. 2026-10-09T11:00:00+08:00.
    """
    from app.sla.service import current_calendar
    calendar = current_calendar()
    if start.tzinfo is None or start.utcoffset() is None:
        start = start.replace(tzinfo=calendar.zone)
    click.echo(calendar.add(start, limit).astimezone(calendar.zone).isoformat())


@sla_cli.group("holidays")
def holidays_cli() -> None:
    """Which days are holidays: the State Council notices, the admin's extra days, the coverage.

    For each date, the first that has it decides: a day in the admin list (holiday or working
    day); the year's imported State Council notice; the chinesecalendar package's data; for later
    years the holidays of the law with their 补假, computed, without 调休 swaps. Changes apply in
    this process at once and in running servers within a minute.
    """


def _statutory_text(verdict: Any) -> str:
    """'holiday', 'workday (notice)', 'holiday (law: 春节补假)': what an admin's day overrides."""
    kind = "workday" if verdict.workday else "holiday"
    if verdict.source == "package":
        return kind
    return f"{kind} ({verdict.source}: {verdict.name})" if verdict.name else f"{kind} ({verdict.source})"


@holidays_cli.command("list")
def holidays_list() -> None:
    """Show the admin's extra days in date order, with the verdict they override."""
    from app.sla.models import CalendarDay
    from app.sla.service import current_calendar
    calendar = current_calendar()
    rows = session.scalars(select(CalendarDay).order_by(CalendarDay.day)).all()
    if not rows:
        click.echo("no days listed: the statutory calendar applies")
    for row in rows:
        statutory = _statutory_text(calendar.day_source(row.day, with_extra_days=False))
        click.echo(f"{row.day.isoformat()}  {row.day:%a}  {row.kind:<7}  statutory: {statutory:<22}  {row.note}".rstrip())


SOURCE_TEXT = {
    "notice": "State Council notice imported {when} ({off} days off, {work} make-up working days)",
    "package": "chinesecalendar {version} (the State Council's arrangement, 调休 included)",
    "law": "computed from the law: statutory holidays and 补假, no 调休 (import the State Council notice)",
    "weekdays": "no data: Monday to Friday",
}


@holidays_cli.command("status")
@click.option("--year", "year", type=click.IntRange(2000, 2100), default=None,
              help="also list that year's days off and make-up working days, with where each comes from")
def holidays_status(year: int | None) -> None:
    """Say where each year's holidays come from (last, this and next year, and imported notices)."""
    import chinese_calendar
    from app.core import clock
    from app.sla.models import HolidayNotice
    from app.sla.service import current_calendar, missing_arrangements
    calendar = current_calendar()
    today = clock.now().astimezone(calendar.zone).date()
    notices = {n.year: n for n in session.scalars(select(HolidayNotice))}
    years = sorted({today.year - 1, today.year, today.year + 1, *notices, *([year] if year else [])})
    for y in years:
        source = calendar.year_source(y)
        notice = notices.get(y)
        text = SOURCE_TEXT[source].format(
            version=getattr(chinese_calendar, "__version__", "?"),
            when=f"{notice.imported_at.astimezone(calendar.zone):%Y-%m-%d %H:%M}" if notice else "",
            off=sum(d.kind == "holiday" for d in notice.days) if notice else 0,
            work=sum(d.kind == "workday" for d in notice.days) if notice else 0)
        click.echo(f"{y}  {source:<8}  {text}")
    for y in missing_arrangements(today, calendar):
        click.echo(f"warning: no holiday arrangement for {y}: its deadlines use the statutory holidays computed "
                   "from the law (补假 included), without 调休 swaps", err=True)
    if year is not None:
        click.echo("")
        _print_year(calendar, year)


def _print_year(calendar: Any, year: int) -> None:
    """The days of ``year`` that are not plain Monday–Friday working days or plain weekends."""
    from datetime import date, timedelta
    d = date(year - 1, 12, 1) if year in calendar.notice_years else date(year, 1, 1)
    while d.year <= year:
        verdict = calendar.day_source(d)
        if verdict.workday != (d.weekday() < 5) or verdict.name or (verdict.source == "admin"):
            kind = "workday" if verdict.workday else "holiday"
            click.echo(f"{d.isoformat()}  {d:%a}  {kind:<7}  {verdict.source:<8}  {verdict.name}".rstrip())
        d += timedelta(days=1)


@holidays_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--year", required=True, type=int, help="the year the notice is for, e.g. 2027")
@click.option("--dry-run", is_flag=True, help="only read and check the notice, save nothing")
def holidays_import(file: Any, year: int, dry_run: bool) -> None:
    """Import the State Council's holiday notice of --year from FILE ('-' for standard input).

    FILE holds the notice's text as published (一、元旦：1月1日（周五）放假1天 … 2月20日（周六）上班。)
    or a table, one day a line: 2027-02-05,holiday,春节 / 2027-02-20,workday,春节调休上班 (comma or
    tab; UTF-8 or GBK). Every line is checked, against the law too; on any error nothing is saved.
    A second import of the same year replaces its notice.
    """
    from app.core.errors import ValidationFailed
    from app.sla.notice import decode_notice
    from app.sla.operations import ROLES, import_holiday_notice, preview_holiday_notice
    try:
        text = decode_notice(file.read())
    except ValueError as exc:
        raise click.UsageError(_english(str(exc))) from None
    name = getattr(file, "name", "") or ""
    filename = Path(name).name if name and name != "<stdin>" else ""
    preview = preview_holiday_notice(year, text)
    if not preview.ok:
        raise _usage_error(ValidationFailed("", errors=preview.errors))
    for row in preview.rows:  # the preview: each day, and what it is beside the law
        kind = row.kind or "-"
        click.echo(f"{row.day.isoformat()}  {row.day:%a}  {kind:<7}  {_english(ROLES[row.role]):<28}  {row.name}")
    if preview.parsed.skipped_lines:
        click.echo(f"lines without dates, not read: {', '.join(map(str, preview.parsed.skipped_lines))}")
    for warning in preview.warnings:
        click.echo(f"warning: {_english(warning)}", err=True)
    summary = f"{preview.count('holiday')} days off, {preview.count('workday')} make-up working days"
    if dry_run:
        click.echo(f"{year}: {summary}; nothing saved (--dry-run)")
        return
    try:
        with transaction():
            result = import_holiday_notice(year, text, filename=filename)
    except ValidationFailed as exc:
        raise _usage_error(exc) from None
    click.echo(f"{year}: notice imported, {summary}" + (" (replaced the previous import)" if result.replaced else ""))


@holidays_cli.command("remove-notice")
@click.option("--year", required=True, type=int, help="the year whose imported notice to remove")
def holidays_remove_notice(year: int) -> None:
    """Remove the imported notice of --year: chinesecalendar or the law applies to that year again."""
    from app.core.errors import ValidationFailed
    from app.sla.operations import remove_holiday_notice
    try:
        with transaction():
            remove_holiday_notice(year)
    except ValidationFailed as exc:
        raise _usage_error(exc) from None
    click.echo(f"{year}: notice removed")


@holidays_cli.command("add")
@click.argument("day", metavar="DATE", type=DAY)
@click.option("--kind", required=True, type=click.Choice(["holiday", "workday"]),
              help="holiday: nobody works that day; workday: a working day, e.g. a Saturday of 调休")
@click.option("--note", default="", help="why, e.g. 国庆节 or 国庆节调休上班 (at most 200 characters)")
def holidays_add(day: datetime, kind: str, note: str) -> None:
    """Make DATE (YYYY-MM-DD) a holiday or a working day, overriding everything else."""
    from app.core.errors import ValidationFailed
    from app.sla.operations import add_calendar_day
    try:
        with transaction():
            add_calendar_day(day.date(), kind, note)
    except ValidationFailed as exc:
        raise _usage_error(exc) from None
    click.echo(f"{day:%Y-%m-%d} listed as {kind}")


@holidays_cli.command("remove")
@click.argument("day", metavar="DATE", type=DAY)
def holidays_remove(day: datetime) -> None:
    """Take DATE (YYYY-MM-DD) off the list: the statutory calendar applies to it again."""
    from app.core.errors import ValidationFailed
    from app.sla.operations import remove_calendar_day
    try:
        with transaction():
            remove_calendar_day(day.date())
    except ValidationFailed as exc:
        raise _usage_error(exc) from None
    click.echo(f"{day:%Y-%m-%d} removed from the list")


scheduler_cli = AppGroup("scheduler", help="Fire due BPMN timers (reminders, escalations): run next to gunicorn.")


@scheduler_cli.command("run")
@click.option("--interval", type=click.IntRange(min=1), default=None,
              help="seconds between sweeps (default TONGGUAN_SCHEDULER_INTERVAL, 30)")
def scheduler_run(interval: int | None) -> None:
    """Sweep due timers every INTERVAL seconds until stopped (Ctrl-C). Several may run at once:
    on PostgreSQL they share the work through row locks, and each timer fires once."""
    from app.scheduler import run_forever
    click.echo(f"timer scheduler started; sweeping every {interval or current_app.config['SETTINGS'].SCHEDULER_INTERVAL} s")
    run_forever(current_app._get_current_object(), interval)  # type: ignore[attr-defined]


@scheduler_cli.command("sweep")
@click.option("--at", "at", default=None, metavar="ISO", help="sweep as if the time were ISO (with offset, or Asia/Shanghai local)")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="cases per transaction (default TONGGUAN_SCHEDULER_BATCH)")
def scheduler_sweep(at: str | None, batch: int | None) -> None:
    """Fire every timer due now (or at --at) once, print what happened, and exit."""
    from app.engine.timers import sweep
    moment = None
    if at is not None:
        moment = _parse_moment(at)
    result = sweep(moment, batch or current_app.config["SETTINGS"].SCHEDULER_BATCH)
    click.echo(result.summary())


def _parse_moment(text: str) -> datetime:
    from zoneinfo import ZoneInfo
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 date-time, e.g. 2026-12-01T09:30:00+08:00",
                                 param_hint="--at") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return moment


def register(app: Flask) -> None:
    from app.cases.cli import cases_cli
    from app.catalog.cli import catalog_cli
    from app.attachments.cli import attachments_cli
    from app.duplicates.cli import duplicates_cli
    from app.open311.cli import open311_cli
    from app.maps.cli import map_cli
    from app.cockpit.cli import cockpit_cli
    from app.hotspots.cli import hotspots_cli
    from app.kpis.cli import kpis_cli
    for group in (db_cli, processes_cli, demo_cli, users_cli, sla_cli, scheduler_cli, catalog_cli, open311_cli,
                  duplicates_cli, attachments_cli, cases_cli, map_cli, hotspots_cli, kpis_cli, cockpit_cli):
        app.cli.add_command(group)
