"""handled requests and one active lock

Revision ID: 0006_handled_requests
Revises: 0005
Create Date: 2026-12-02 01:44:40.173378
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types


revision = '0006_handled_requests'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handled_requests',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    # Until now an expired lock stayed unreleased, and a race could leave two: keep only the newest
    # unreleased lock per environment, marking the older ones released when they expired.
    op.execute("UPDATE locks SET released_at = expires_at WHERE released_at IS NULL AND id NOT IN "
               "(SELECT MAX(id) FROM locks WHERE released_at IS NULL GROUP BY service, environment)")
    with op.batch_alter_table('locks', schema=None) as batch_op:
        batch_op.create_index('uq_locks_one_active', ['service', 'environment'], unique=True, sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('locks', schema=None) as batch_op:
        batch_op.drop_index('uq_locks_one_active', sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))

    op.drop_table('handled_requests')
