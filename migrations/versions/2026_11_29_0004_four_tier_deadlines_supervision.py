"""Four-tier circulation, working-time deadlines and lights, supervision requests, notifications

Cases get their tier, escalation/return counters, earliest deadline (for lights), supervision
and parking marks; tasks get the clock of their deadline (start at claim, yellow moment, pause,
extensions, urges). New tables: extension/return requests waiting for a supervisor, and in-app
notifications.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 04:36:03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.core.db


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('actor_name', sa.String(length=80), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_notifications_task_id_tasks')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_unread', ['user_id', 'id'], unique=False, sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))
        batch_op.create_index('ix_notifications_user', ['user_id', 'id'], unique=False)

    op.create_table('task_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=1000), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('amount', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_task_requests_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_task_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_task_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_requests_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_requests'))
    )
    with op.batch_alter_table('task_requests', schema=None) as batch_op:
        batch_op.create_index('ix_task_requests_pending', ['kind', 'unit_path'], unique=False, sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
        batch_op.create_index('ix_task_requests_task', ['task_id', 'state'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('escalation_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('return_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('due_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('yellow_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('supervised_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('parked_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('park_reason', sa.Text(), nullable=True))
        batch_op.create_index('ix_cases_status_due', ['status', 'due_at'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_limit', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('started_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('yellow_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('extension_minutes', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('urge_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('ix_tasks_open_unit_due', ['unit_path', 'due_at'], unique=False, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_open_unit_due', sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
        batch_op.drop_column('urge_count')
        batch_op.drop_column('extension_minutes')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('yellow_at')
        batch_op.drop_column('started_at')
        batch_op.drop_column('sign_limit')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_due')
        batch_op.drop_column('park_reason')
        batch_op.drop_column('parked_at')
        batch_op.drop_column('supervised_at')
        batch_op.drop_column('yellow_at')
        batch_op.drop_column('due_at')
        batch_op.drop_column('return_count')
        batch_op.drop_column('escalation_count')
        batch_op.drop_column('tier')

    with op.batch_alter_table('task_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_task_requests_task')
        batch_op.drop_index('ix_task_requests_pending', sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))

    op.drop_table('task_requests')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user')
        batch_op.drop_index('ix_notifications_unread', sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))

    op.drop_table('notifications')
