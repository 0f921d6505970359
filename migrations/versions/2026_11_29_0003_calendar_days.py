"""Admin holiday list for working-time deadlines: calendar_days

Days an administrator marks as holidays or make-up working days (调休). They override the
statutory calendar of the ``chinesecalendar`` package and cover years it does not know yet.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f("ck_calendar_days_kind")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_calendar_days_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_days")),
        sa.UniqueConstraint("day", name=op.f("uq_calendar_days_day")),
    )


def downgrade() -> None:
    op.drop_table("calendar_days")
