"""Partial index for the claimable inbox: open, unclaimed tasks by role, unit path and due time

The general inbox index covers every task ever created; once most tasks are completed, the
planner (PostgreSQL especially) misjudges how many rows are open and unclaimed. This index holds
only those rows, so the claimable inbox reads a small index whatever the history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 03:55:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CONDITION = "state = 'open' AND claimed_by_id IS NULL"


def upgrade() -> None:
    op.create_index("ix_tasks_claimable", "tasks", ["role", "unit_path", "due_at"],
                    sqlite_where=sa.text(CONDITION), postgresql_where=sa.text(CONDITION))


def downgrade() -> None:
    op.drop_index("ix_tasks_claimable", table_name="tasks")
