"""Category catalogue: the GB/T 47678.5 directory and the 12345 topic tree as versioned reference data

Each load of a catalogue (``gb47678_5`` or ``topics_12345``) is one version row holding the
content's sha256; loading the same content again adds nothing, changed content adds a version
that becomes the active one. Old versions keep their rows, so a case keeps the key it was
classified with. Categories and topics carry their pinyin initials and full pinyin (every reading
of polyphonic characters, space-separated) for the operators' search.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalog", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=80), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
        sa.UniqueConstraint("catalog", "sha256", name="uq_catalog_versions_sha256"),
        sa.UniqueConstraint("catalog", "version", name="uq_catalog_versions_version"),
    )
    op.create_table(
        "catalog_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("major_code", sa.String(length=2), nullable=False),
        sa.Column("major_class", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("initials", sa.String(length=500), nullable=False),
        sa.Column("pinyin", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_versions.id"],
                                name=op.f("fk_catalog_categories_version_id_catalog_versions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_categories")),
        sa.UniqueConstraint("version_id", "key", name="uq_catalog_categories_key"),
    )
    op.create_table(
        "catalog_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_code", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path_name", sa.String(length=700), nullable=False),
        sa.Column("initials", sa.String(length=500), nullable=False),
        sa.Column("pinyin", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_versions.id"],
                                name=op.f("fk_catalog_topics_version_id_catalog_versions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_topics")),
        sa.UniqueConstraint("version_id", "code", name="uq_catalog_topics_code"),
    )


def downgrade() -> None:
    op.drop_table("catalog_topics")
    op.drop_table("catalog_categories")
    op.drop_table("catalog_versions")
