"""weekly_reviews: one weekly release confidence review per team channel and week

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('weekly_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('week_end', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('posted_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'week_end', name='uq_weekly_reviews_channel_week')
    )


def downgrade() -> None:
    op.drop_table('weekly_reviews')
