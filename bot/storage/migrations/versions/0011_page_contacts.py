"""page contacts

SMS, calls and emails a page sends per the people's notification rules, with each one's outcome.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('page_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('after_seconds', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('destination', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('due_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempted_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('page_id', 'user', 'method', 'after_seconds', name='uq_page_contacts_rule')
    )
    with op.batch_alter_table('page_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_contacts_page_id'), ['page_id'], unique=False)
        batch_op.create_index('ix_page_contacts_status_due', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('page_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_page_contacts_status_due')
        batch_op.drop_index(batch_op.f('ix_page_contacts_page_id'))
    op.drop_table('page_contacts')
