"""Cockpit map: cockpit_map_points (the heat layer's copy of every case's place) and an index of the open cases

The open layer counts the open cases per cell with their lights and units: the partial index
ix_cases_open_map (lat, lng, grid_unit_id, handling_unit_id, yellow_at, due_at, parked_at, status)
WHERE status = 'open' covers that query (status too: SQLite counts a partial index as covering only
when it holds every column the query names).

The heat layer counts the cases of every status that came in during the last days per cell of the
visible area, scoped by their grid and handling unit. Read from ``cases``, that fetches a heap page
of the wide, often updated table per case; this narrow copy is read through its index
(created_at, lat, lng, grid_unit_id, handling_unit_id) and a few small pages. Triggers on ``cases``
keep it exact in the same transaction as every change, whoever writes the case (app.maps.heat);
filled here from the cases there are.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cockpit_map_points",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE",
                                                         name="fk_cockpit_map_points_case_id_cases"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("grid_unit_id", sa.Integer(), nullable=True),
        sa.Column("handling_unit_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name="pk_cockpit_map_points"),
    )
    op.create_index("ix_cockpit_map_points_created_lat_lng", "cockpit_map_points",
                    ["created_at", "lat", "lng", "grid_unit_id", "handling_unit_id"])
    op.create_index("ix_cases_open_map", "cases",
                    ["lat", "lng", "grid_unit_id", "handling_unit_id", "yellow_at", "due_at", "parked_at", "status"],
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    from app.maps.heat import create_triggers
    create_triggers(op.execute, op.get_bind().dialect.name)
    op.execute("INSERT INTO cockpit_map_points (case_id, created_at, lat, lng, grid_unit_id, handling_unit_id) "
               "SELECT id, created_at, lat, lng, grid_unit_id, handling_unit_id FROM cases "
               "WHERE lat IS NOT NULL AND lng IS NOT NULL")


def downgrade() -> None:
    from app.maps.heat import drop_triggers
    drop_triggers(op.execute, op.get_bind().dialect.name)
    op.drop_index("ix_cases_open_map", table_name="cases")
    op.drop_index("ix_cockpit_map_points_created_lat_lng", table_name="cockpit_map_points")
    op.drop_table("cockpit_map_points")
