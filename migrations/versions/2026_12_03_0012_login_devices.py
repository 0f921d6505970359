"""Device cookies: the browsers users logged in from

One address's failed logins locked every user behind it out (an operations centre behind one NAT,
or a proxy without TONGGUAN_TRUSTED_PROXIES), and a username's lock let anyone lock a named
dispatcher out. A successful login now gives the browser a signed cookie naming the user; its
server-side half is a row here (the SHA-256 of the cookie's secret, the user, expiry, wrong
passwords since). Logins that present it are exempt from the username and address locks.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_login_devices_user_id_users",
                                                         ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_devices"),
        sa.UniqueConstraint("key_hash", name="uq_login_devices_key_hash"),
    )
    op.create_index("ix_login_devices_user_id", "login_devices", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_login_devices_user_id", table_name="login_devices")
    op.drop_table("login_devices")
