"""Process designer: drafts of the bundle (saved, reviewed, deployed) and the active version

A designer's draft holds the files they changed over the deployed version it started from; a
second designer approves it before it is deployed (when DESIGNER_REVIEW_REQUIRED). The active
version of a process is the one new cases start on: the newest, or an older one activated again
(rollback). Existing databases get the newest version of each process as its active one.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "active_process_versions",
        sa.Column("process_id", sa.String(100), nullable=False),
        sa.Column("definition_id", sa.Integer(), sa.ForeignKey(
            "process_definitions.id", name="fk_active_process_versions_definition_id_process_definitions"),
            nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=False),
        sa.Column("activated_by", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("process_id", name="pk_active_process_versions"),
    )
    op.execute("""
        INSERT INTO active_process_versions (process_id, definition_id, activated_at, activated_by)
        SELECT d.process_id, d.id, d.deployed_at, d.deployed_by FROM process_definitions d
        WHERE d.version = (SELECT MAX(o.version) FROM process_definitions o WHERE o.process_id = d.process_id)
    """)
    op.create_table(
        "process_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(100), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_process_drafts_owner_id_users"),
                  nullable=False),
        sa.Column("base_definition_id", sa.Integer(), sa.ForeignKey(
            "process_definitions.id", name="fk_process_drafts_base_definition_id_process_definitions"), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_process_drafts_approved_by_id_users"),
                  nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_revision", sa.Integer(), nullable=True),
        sa.Column("deployed_definition_id", sa.Integer(), sa.ForeignKey(
            "process_definitions.id", name="fk_process_drafts_deployed_definition_id_process_definitions"),
            nullable=True),
        sa.Column("deployed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_process_drafts"),
    )
    op.create_index("uq_process_drafts_open_owner", "process_drafts", ["process_id", "owner_id"], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))


def downgrade() -> None:
    op.drop_index("uq_process_drafts_open_owner", table_name="process_drafts")
    op.drop_table("process_drafts")
    op.drop_table("active_process_versions")
