"""Maps: boundaries of the org units, and an index for the open cases near a point

The report pages and the case page show the place on a map drawn offline from the city's own
boundaries (districts, streets, communities as GeoJSON; the demo city gets schematic ones, marked
so). While reporting, the open cases nearby are shown: they are found through an index on
(status, lat, lng).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_boundaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey("org_units.id", name="fk_unit_boundaries_org_unit_id_org_units",
                                                             ondelete="CASCADE"), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("schematic", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unit_boundaries"),
        sa.UniqueConstraint("org_unit_id", name="uq_unit_boundaries_org_unit_id"),
    )
    op.create_index("ix_cases_status_lat_lng", "cases", ["status", "lat", "lng"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_lat_lng", table_name="cases")
    op.drop_table("unit_boundaries")
