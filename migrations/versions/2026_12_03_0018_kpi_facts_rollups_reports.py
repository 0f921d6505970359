"""KPIs: per-case facts, their roll-ups and the stored monthly evaluation reports

``case_facts`` holds, for every case, which documented facts hold for it; ``kpi_rollups`` sums
them per fact, local day and responsible unit (both kept exact in the transaction of each
change, app.kpis.recorder); ``kpi_reports`` the monthly reports. The facts of cases that exist
already are not computed here (that needs the working calendar and the org tree): run
``flask kpis rebuild`` once after upgrading (docs/kpis.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_case_facts_case_id_cases"), nullable=False),
        sa.Column("fact", sa.String(30), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=True),
        sa.Column("unit_path", sa.String(1000), nullable=False),
        sa.Column("area_path", sa.String(1000), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("tier", sa.String(12), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("why", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "fact", name="pk_case_facts"),
    )
    op.create_index("ix_case_facts_fact_day_unit", "case_facts", ["fact", "day", "unit_path"])
    op.create_table(
        "kpi_rollups",
        sa.Column("fact", sa.String(30), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_path", sa.String(1000), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("fact", "day", "unit_path", name="pk_kpi_rollups"),
    )
    op.create_table(
        "kpi_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_units.id", name="fk_kpi_reports_unit_id_org_units"),
                  nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("generated_at", UTCDateTime(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kpi_reports"),
    )
    op.create_index("ix_kpi_reports_unit_month", "kpi_reports", ["unit_id", "month"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_kpi_reports_unit_month", table_name="kpi_reports")
    op.drop_table("kpi_reports")
    op.drop_table("kpi_rollups")
    op.drop_index("ix_case_facts_fact_day_unit", table_name="case_facts")
    op.drop_table("case_facts")
