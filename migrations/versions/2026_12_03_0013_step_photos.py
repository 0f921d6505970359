"""Photos of a step: attachments tied to the task and form field they were taken for

数字城管 practice asks for photos inside the steps (现场核实, 任务处理, 执行反馈, 核查结案), before and
after the handling (处置前 / 处置后), not only loose files on the case. An attachment now names the
task whose form carried it, the form field, and the field's tag (``before`` / ``after``); loose
case attachments keep the three columns empty.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("field", sa.String(64), nullable=True))
        batch.add_column(sa.Column("tag", sa.String(20), nullable=True))
        batch.create_foreign_key("fk_attachments_task_id_tasks", "tasks", ["task_id"], ["id"])
        batch.create_index("ix_attachments_task_id", ["task_id"])


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.drop_index("ix_attachments_task_id")
        batch.drop_constraint("fk_attachments_task_id_tasks", type_="foreignkey")
        batch.drop_column("tag")
        batch.drop_column("field")
        batch.drop_column("task_id")
