"""Imported State Council holiday notices: holiday_notices, holiday_notice_days

The yearly notice (国务院办公厅关于 YYYY 年部分节假日安排的通知) as the admin imported it: the
year, the text, and its days off and make-up working days (调休上班). A year with a notice uses
it over the chinesecalendar package's data and over the holidays computed from the law.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holiday_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["imported_by_id"], ["users.id"],
                                name=op.f("fk_holiday_notices_imported_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_notices")),
        sa.UniqueConstraint("year", name=op.f("uq_holiday_notices_year")),
    )
    op.create_table(
        "holiday_notice_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f("ck_holiday_notice_days_kind")),
        sa.ForeignKeyConstraint(["notice_id"], ["holiday_notices.id"], ondelete="CASCADE",
                                name=op.f("fk_holiday_notice_days_notice_id_holiday_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_notice_days")),
        sa.UniqueConstraint("notice_id", "day", name=op.f("uq_holiday_notice_days_notice_id")),
    )


def downgrade() -> None:
    op.drop_table("holiday_notice_days")
    op.drop_table("holiday_notices")
