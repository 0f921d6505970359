"""Designer: test runs of a draft bundle, kept apart from the case tables

A designer tries a draft on a throw-away case: its workflow state lives in designer_test_runs,
which no case, task, audit or timer row refers to, so nothing of it reaches an inbox, a KPI or
the scheduler. Rows expire and are deleted.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "designer_test_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_designer_test_runs_owner_id_users",
                                                          ondelete="CASCADE"), nullable=False),
        sa.Column("process_id", sa.String(100), nullable=False),
        sa.Column("base_definition_id", sa.Integer(),
                  sa.ForeignKey("process_definitions.id", name="fk_designer_test_runs_base_definition_id_process_definitions"),
                  nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("start_data", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("effects", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_designer_test_runs"),
    )
    op.create_index("ix_designer_test_runs_owner", "designer_test_runs", ["owner_id", "expires_at"])
    op.create_index("ix_designer_test_runs_expires", "designer_test_runs", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_designer_test_runs_expires", table_name="designer_test_runs")
    op.drop_index("ix_designer_test_runs_owner", table_name="designer_test_runs")
    op.drop_table("designer_test_runs")
