"""Intake keys scoped to their client, and a fingerprint of each intake request

An Idempotency-Key (or a web form's one-time token) was looked up across all clients, so another
user's key answered with their case. Keys are now stored as "<client>:<sha256 of the key>"
(user:<id>, open311:<api key id>, system); existing keys are rewritten to that form from the
case's creator or Open311 client. Each new case keeps a sha256 of its validated intake request,
so the same key sent again with other content is refused instead of answered.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:30:00
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("intake_digest", sa.String(64), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT c.id, c.idempotency_key, c.created_by_id, r.api_key_id FROM cases c "
        "LEFT JOIN open311_requests r ON r.case_id = c.id WHERE c.idempotency_key IS NOT NULL")).all()
    for case_id, key, user_id, api_key_id in rows:
        scope = f"open311:{api_key_id}" if api_key_id is not None else f"user:{user_id}" if user_id is not None else "system"
        conn.execute(sa.text("UPDATE cases SET idempotency_key = :key WHERE id = :id"),
                     {"id": case_id, "key": f"{scope}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"})


def downgrade() -> None:
    # the scoped keys stay (their clients' raw keys are not recoverable); only the fingerprint goes
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("intake_digest")
