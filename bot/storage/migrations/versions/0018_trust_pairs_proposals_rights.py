"""earned deploy rights: who paired on which release, proposals to grant rights, the rights granted

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trust_pairs',
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('developer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('pair', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('joined_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], ),
    sa.PrimaryKeyConstraint('release_id')
    )
    op.create_index(op.f('ix_trust_pairs_developer'), 'trust_pairs', ['developer'], unique=False)
    op.create_table('trust_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('developer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('paired_releases', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('proposed_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('decided_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_trust_proposals_one_open', 'trust_proposals', ['service', 'environment', 'developer'],
                    unique=True, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_table('deploy_rights',
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('granted_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('grant_seq', sa.Integer(), nullable=False),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('revoked_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoke_seq', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('service', 'environment', 'user')
    )


def downgrade() -> None:
    op.drop_table('deploy_rights')
    op.drop_index('uq_trust_proposals_one_open', table_name='trust_proposals')
    op.drop_table('trust_proposals')
    op.drop_index(op.f('ix_trust_pairs_developer'), table_name='trust_pairs')
    op.drop_table('trust_pairs')
