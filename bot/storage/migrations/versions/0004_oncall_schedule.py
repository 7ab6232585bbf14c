"""oncall schedule: overrides, absences, swap/cover requests, handoff runs, graduation proposals

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 18:37:06.535529
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types


revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oncall_absences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('start', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oncall_absences', schema=None) as batch_op:
        batch_op.create_index('ix_oncall_absences_person_end', ['person', 'end'], unique=False)

    op.create_table('oncall_graduation_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('developer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reverse_shadow', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('shadow_shifts', sa.Integer(), nullable=False),
    sa.Column('pages_seen', sa.Integer(), nullable=False),
    sa.Column('proposed_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rotation', 'developer', name='uq_oncall_graduation_rotation_developer')
    )
    op.create_table('oncall_handoff_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('shift_start', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('shift_end', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('slot_index', sa.Integer(), nullable=True),
    sa.Column('primary', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('shadow', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('claimed_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rotation', 'shift_start', name='uq_oncall_handoff_runs_rotation_start')
    )
    op.create_table('oncall_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('rotation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('requester', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('start', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('swap_start', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('swap_end', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('taker', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('approver', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oncall_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_requests_rotation'), ['rotation'], unique=False)

    op.create_table('oncall_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('start', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['oncall_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oncall_overrides', schema=None) as batch_op:
        batch_op.create_index('ix_oncall_overrides_rotation_end', ['rotation', 'end'], unique=False)

    with op.batch_alter_table('rotations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rotations', schema=None) as batch_op:
        batch_op.drop_column('channel_id')

    with op.batch_alter_table('oncall_overrides', schema=None) as batch_op:
        batch_op.drop_index('ix_oncall_overrides_rotation_end')

    op.drop_table('oncall_overrides')
    with op.batch_alter_table('oncall_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_requests_rotation'))

    op.drop_table('oncall_requests')
    op.drop_table('oncall_handoff_runs')
    op.drop_table('oncall_graduation_proposals')
    with op.batch_alter_table('oncall_absences', schema=None) as batch_op:
        batch_op.drop_index('ix_oncall_absences_person_end')

    op.drop_table('oncall_absences')
