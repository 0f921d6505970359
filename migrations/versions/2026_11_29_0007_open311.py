"""Open311 GeoReport v2: API keys of the clients, and the token of each request filed through it

``open311_api_keys`` keeps one row per key an administrator issued: a name, the SHA-256 of the
key (the plaintext is shown once and never stored), its first characters for display, who issued
it and when, when it was revoked and when it was last used. ``open311_requests`` links each case
filed through ``POST requests`` to the key that filed it and to the token that
``GET tokens/{token}`` answers with its service_request_id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 06:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_open311_api_keys_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_open311_api_keys_prefix"), "open311_api_keys", ["prefix"], unique=False)
    op.create_table(
        "open311_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["open311_api_keys.id"],
                                name=op.f("fk_open311_requests_api_key_id_open311_api_keys")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_open311_requests_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_requests")),
        sa.UniqueConstraint("case_id", name=op.f("uq_open311_requests_case_id")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_requests_token")),
    )
    op.create_index(op.f("ix_open311_requests_api_key_id"), "open311_requests", ["api_key_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_open311_requests_api_key_id"), table_name="open311_requests")
    op.drop_table("open311_requests")
    op.drop_index(op.f("ix_open311_api_keys_prefix"), table_name="open311_api_keys")
    op.drop_table("open311_api_keys")
