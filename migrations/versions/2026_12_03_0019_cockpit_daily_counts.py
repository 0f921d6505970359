"""Cockpit: daily counts of arrivals and closures per org unit, kept by triggers on cases

``cockpit_daily_counts`` holds, per unit and local day, how many cases arrived (by channel and by
category) and how many closed (app/cockpit/models.py). Triggers on ``cases`` keep it in the
transaction of every insert, update and delete, so the cockpit reads a few hundred rows instead
of a month of cases. ``cockpit_unit_ancestors`` (each unit with itself and the units above it,
kept by a trigger on new org units) lets those triggers find a case's units by primary key.
The SQL is written out here (not imported) so this revision stays what it was when later code
changes; what exists already is counted at the end of the upgrade.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# the columns whose change moves a case between rows of the roll-up
WATCHED = ("created_at", "channel", "category_code", "grid_unit_id", "handling_unit_id", "status", "closed_at")


def _day(expr: str, postgres: bool) -> str:
    return f"({expr} AT TIME ZONE 'Asia/Shanghai')::date" if postgres else f"date({expr}, '+8 hours')"


def _rows(row: str, delta: str, postgres: bool) -> str:
    """The roll-up rows one case (``NEW``, ``OLD`` or a table alias) contributes, ``delta`` as n:
    at every unit above its grid and handling units, once each, and at the roots (unit 0's rows)."""
    return f"""
      SELECT a.ancestor_id AS unit_id, m.measure AS measure, m.day AS day, m.key AS key, {delta} AS n
      FROM (SELECT DISTINCT ancestor_id FROM cockpit_unit_ancestors
            WHERE unit_id IN (0, {row}.grid_unit_id, {row}.handling_unit_id)) a,
           (SELECT 'channel' AS measure, {_day(row + '.created_at', postgres)} AS day, {row}.channel AS key
            UNION ALL SELECT 'category', {_day(row + '.created_at', postgres)}, coalesce({row}.category_code, '')
            UNION ALL SELECT 'closed', {_day(row + '.closed_at', postgres)}, ''
                      WHERE {row}.status = 'closed' AND {row}.closed_at IS NOT NULL) m
      WHERE true"""


def _upsert(select_sql: str) -> str:
    # summed per row and written in key order: two transactions lock rows in the same order
    return f"""
    INSERT INTO cockpit_daily_counts (unit_id, measure, day, key, n)
    SELECT unit_id, measure, day, key, sum(n) FROM ({select_sql}) AS changes
    WHERE true GROUP BY unit_id, measure, day, key HAVING sum(n) <> 0
    ORDER BY unit_id, measure, day, key
    ON CONFLICT (unit_id, measure, day, key) DO UPDATE SET n = cockpit_daily_counts.n + excluded.n;"""


ANCESTORS_OF_NEW = """
    INSERT INTO cockpit_unit_ancestors (unit_id, ancestor_id)
    SELECT NEW.id, ancestor_id FROM cockpit_unit_ancestors WHERE unit_id = NEW.parent_id AND NEW.parent_id IS NOT NULL
    UNION SELECT NEW.id, NEW.id
    UNION SELECT 0, NEW.id WHERE NEW.parent_id IS NULL;"""


def _sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    return [
        f"CREATE TRIGGER cockpit_org_units_insert AFTER INSERT ON org_units BEGIN {ANCESTORS_OF_NEW} END",
        f"CREATE TRIGGER cockpit_cases_insert AFTER INSERT ON cases BEGIN {_upsert(_rows('NEW', '1', False))} END",
        f"CREATE TRIGGER cockpit_cases_update AFTER UPDATE OF {', '.join(WATCHED)} ON cases WHEN {changed} BEGIN "
        f"{_upsert(_rows('OLD', '-1', False) + ' UNION ALL ' + _rows('NEW', '1', False))} END",
        f"CREATE TRIGGER cockpit_cases_delete AFTER DELETE ON cases BEGIN {_upsert(_rows('OLD', '-1', False))} END",
    ]


def _pg_triggers() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    # plpgsql keeps each statement's plan for the session: no planning per row
    return [
        f"""CREATE FUNCTION cockpit_org_unit_ancestors() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {ANCESTORS_OF_NEW} RETURN NULL; END $$""",
        "CREATE TRIGGER cockpit_org_units_insert AFTER INSERT ON org_units FOR EACH ROW "
        "EXECUTE FUNCTION cockpit_org_unit_ancestors()",
        f"""CREATE FUNCTION cockpit_count_cases() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN {_upsert(_rows('NEW', '1', True))}
          ELSIF TG_OP = 'DELETE' THEN {_upsert(_rows('OLD', '-1', True))}
          ELSE {_upsert(_rows('OLD', '-1', True) + ' UNION ALL ' + _rows('NEW', '1', True))}
          END IF;
          RETURN NULL;
        END $$""",
        "CREATE TRIGGER cockpit_cases_insert AFTER INSERT ON cases FOR EACH ROW EXECUTE FUNCTION cockpit_count_cases()",
        f"CREATE TRIGGER cockpit_cases_update AFTER UPDATE OF {', '.join(WATCHED)} ON cases FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION cockpit_count_cases()",
        "CREATE TRIGGER cockpit_cases_delete AFTER DELETE ON cases FOR EACH ROW EXECUTE FUNCTION cockpit_count_cases()",
    ]


def _backfill(postgres: bool) -> list[str]:
    """The rows the triggers would have written for the org units and cases already there."""
    ancestors = ["""INSERT INTO cockpit_unit_ancestors (unit_id, ancestor_id)
                    SELECT s.id, u.id FROM org_units s JOIN org_units u ON substr(s.path, 1, length(u.path)) = u.path
                    UNION SELECT 0, id FROM org_units WHERE parent_id IS NULL"""]
    case_units = """(SELECT DISTINCT c.id AS cid, a.ancestor_id AS uid FROM cases c
                     JOIN cockpit_unit_ancestors a ON a.unit_id IN (0, c.grid_unit_id, c.handling_unit_id)) cu"""
    measures = (("'channel'", _day("c.created_at", postgres), "c.channel", "true"),
                ("'category'", _day("c.created_at", postgres), "coalesce(c.category_code, '')", "true"),
                ("'closed'", _day("c.closed_at", postgres), "''", "c.status = 'closed' AND c.closed_at IS NOT NULL"))
    return ancestors + [f"""INSERT INTO cockpit_daily_counts (unit_id, measure, day, key, n)
                SELECT cu.uid, {measure}, {day}, {key}, count(*) FROM {case_units} JOIN cases c ON c.id = cu.cid
                WHERE {where} GROUP BY 1, 2, 3, 4""" for measure, day, key, where in measures]


def upgrade() -> None:
    op.create_table(
        "cockpit_unit_ancestors",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("ancestor_id", sa.Integer(), sa.ForeignKey(
            "org_units.id", name="fk_cockpit_unit_ancestors_ancestor_id_org_units", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "ancestor_id", name="pk_cockpit_unit_ancestors"),
    )
    op.create_table(
        "cockpit_daily_counts",
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_units.id", name="fk_cockpit_daily_counts_unit_id_org_units",
                                                         ondelete="CASCADE"), nullable=False),
        sa.Column("measure", sa.String(10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "measure", "day", "key", name="pk_cockpit_daily_counts"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _backfill(postgres) + (_pg_triggers() if postgres else _sqlite_triggers()):
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, name in (("org_units", "org_units_insert"), ("cases", "cases_insert"), ("cases", "cases_update"),
                        ("cases", "cases_delete")):
        op.execute(f"DROP TRIGGER IF EXISTS cockpit_{name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS cockpit_count_cases()")
        op.execute("DROP FUNCTION IF EXISTS cockpit_org_unit_ancestors()")
    op.drop_table("cockpit_daily_counts")
    op.drop_table("cockpit_unit_ancestors")
