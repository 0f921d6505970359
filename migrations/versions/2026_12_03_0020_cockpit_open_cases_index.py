"""Cockpit: a covering index of the open cases, so counting them by light and tier reads no table rows

The cockpit counts a unit's open cases by tier and light, with the escalated and parked ones, on
every refresh. This partial index holds only the open cases and every column that count reads,
so the count is an index-only scan of the open set, whatever the size of the closed history.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

COLUMNS = ["status", "tier", "due_at", "yellow_at", "parked_at", "grid_unit_id", "handling_unit_id",
           "escalation_count", "supervised_at"]
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index("ix_cases_open_cockpit", "cases", COLUMNS, sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_cases_open_cockpit", table_name="cases")
