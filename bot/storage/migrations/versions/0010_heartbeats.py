"""heartbeats: when each configured heartbeat last checked in

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('heartbeats',
    sa.Column('rotation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('last_seen_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pings', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('rotation', 'name')
    )


def downgrade() -> None:
    op.drop_table('heartbeats')
