"""leadership epoch: one row counting how often leadership changed hands

Each replica that takes the PostgreSQL advisory lock bumps the epoch; writes that only the leader
may make check that their epoch is still the current one (docs/decisions/0008-leadership.md).

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'leadership',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('epoch', sa.BigInteger(), nullable=False),
        sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column('taken_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(table, [{'id': 1, 'epoch': 0, 'holder': None, 'taken_at': None}])


def downgrade() -> None:
    op.drop_table('leadership')
