"""Cockpit map: an index for its heat layer (the cases that came in lately, by place)

The heat layer counts the cases of every status that came in during the last days per cell of the
visible area, scoped by their grid and handling unit. The index (created_at, lat, lng,
grid_unit_id, handling_unit_id) covers that query: a range of the index is read, never the table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00
"""
from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_created_lat_lng", "cases",
                    ["created_at", "lat", "lng", "grid_unit_id", "handling_unit_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_created_lat_lng", table_name="cases")
