"""Indexes for the timer sweep and the supervisor's console

The sweep now reads due cases in (next_timer_at, case_id) order with a keyset, so the timer
index carries case_id too. The console counts and orders lights from a covering index of open
tasks, and finds escalated, parked and returned cases through partial indexes that hold only those
open cases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN_TASK = "state = 'open'"
CASE_LISTS = {
    "ix_cases_open_escalated": "status = 'open' AND (escalation_count > 0 OR supervised_at IS NOT NULL)",
    "ix_cases_open_parked": "status = 'open' AND parked_at IS NOT NULL",
    "ix_cases_open_returned": "status = 'open' AND return_count > 0",
}


def _partial(condition: str) -> dict[str, object]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    with op.batch_alter_table("workflow_instances") as batch:
        batch.drop_index("ix_workflow_instances_next_timer")
        batch.create_index("ix_workflow_instances_next_timer", ["next_timer_at", "case_id"])
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_open_unit_due", **_partial(OPEN_TASK))
        batch.create_index("ix_tasks_open_unit_due", ["unit_path", "due_at", "yellow_at", "paused_at", "id"],
                           **_partial(OPEN_TASK))
    with op.batch_alter_table("cases") as batch:
        for name, condition in CASE_LISTS.items():
            batch.create_index(name, ["status"], **_partial(condition))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name, condition in CASE_LISTS.items():
            batch.drop_index(name, **_partial(condition))
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_open_unit_due", **_partial(OPEN_TASK))
        batch.create_index("ix_tasks_open_unit_due", ["unit_path", "due_at"], **_partial(OPEN_TASK))
    with op.batch_alter_table("workflow_instances") as batch:
        batch.drop_index("ix_workflow_instances_next_timer")
        batch.create_index("ix_workflow_instances_next_timer", ["next_timer_at"])
