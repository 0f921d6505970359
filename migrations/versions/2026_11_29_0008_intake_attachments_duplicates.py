"""Unified intake: channel extension forms, attachments, duplicate detection and merging

Cases keep their channel's extension fields (forms/channels/<channel>.json) as JSON text, and a
merged case points at its master (status 'merged'); the master counts the repeats it absorbed.
Attachments are rows pointing at content-addressed files outside the database. The duplicate
detector keeps a fingerprint per case, a few hashed lookup keys per live case, and the candidates
it proposed with the dispatcher's decision; when a master case ends, the reporters of the cases
merged into it are owed a notice (an outbox for the channel adapters).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("extension", sa.Text(), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("merged_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("repeat_count", sa.Integer(), nullable=False, server_default="0"))
        batch.create_foreign_key("fk_cases_merged_into_id_cases", "cases", ["merged_into_id"], ["id"])
        batch.create_index("ix_cases_merged_into_id", ["merged_into_id"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_attachments_case_id_cases"), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_attachments_uploaded_by_id_users"), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
    )
    op.create_index("ix_attachments_case_id", "attachments", ["case_id"])

    op.create_table(
        "case_fingerprints",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_case_fingerprints_case_id_cases"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("category_code", sa.String(40), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("reporter", sa.String(64), nullable=True),
        sa.Column("exact", sa.String(32), nullable=False),
        sa.Column("indexed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_fingerprints"),
    )
    op.create_index("ix_case_fingerprints_indexed", "case_fingerprints", ["case_id"],
                    sqlite_where=sa.text("indexed"), postgresql_where=sa.text("indexed"))
    op.create_table(
        "duplicate_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_duplicate_keys_case_id_cases"), nullable=False),
        sa.PrimaryKeyConstraint("key", "case_id", name="pk_duplicate_keys"),
    )
    op.create_index("ix_duplicate_keys_case", "duplicate_keys", ["case_id"])
    op.create_table(
        "duplicate_candidates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_duplicate_candidates_case_id_cases"), nullable=False),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_duplicate_candidates_candidate_id_cases"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_duplicate_candidates_decided_by_id_users"), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_duplicate_candidates"),
        sa.UniqueConstraint("case_id", "candidate_id", name="uq_duplicate_candidates_pair"),
    )
    op.create_index("ix_duplicate_candidates_case_id", "duplicate_candidates", ["case_id"])
    op.create_index("ix_duplicate_candidates_candidate", "duplicate_candidates", ["candidate_id"])
    op.create_table(
        "reporter_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_reporter_notices_case_id_cases"), nullable=False),
        sa.Column("master_id", sa.Integer(), sa.ForeignKey("cases.id", name="fk_reporter_notices_master_id_cases"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(120), nullable=True),
        sa.Column("reporter_name", sa.String(100), nullable=True),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_by_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_reporter_notices_delivered_by_id_users"), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reporter_notices"),
    )
    op.create_index("ix_reporter_notices_case_id", "reporter_notices", ["case_id"])
    op.create_index("ix_reporter_notices_pending", "reporter_notices", ["channel", "id"],
                    sqlite_where=sa.text("delivered_at IS NULL"), postgresql_where=sa.text("delivered_at IS NULL"))


def downgrade() -> None:
    op.drop_table("reporter_notices")
    op.drop_table("duplicate_candidates")
    op.drop_table("duplicate_keys")
    op.drop_table("case_fingerprints")
    op.drop_table("attachments")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_merged_into_id")
        batch.drop_constraint("fk_cases_merged_into_id_cases", type_="foreignkey")
        for column in ("repeat_count", "merged_at", "merged_into_id", "extension"):
            batch.drop_column(column)
