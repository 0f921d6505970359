"""Hot spots: the last computed list of a unit and window, shared by the workers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotspot_snapshots",
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_units.id", ondelete="CASCADE",
                                                         name="fk_hotspot_snapshots_unit_id_org_units"), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "days", "top", name="pk_hotspot_snapshots"),
    )


def downgrade() -> None:
    op.drop_table("hotspot_snapshots")
