"""web release log: page views, audit verify runs, and indexes for the filtered release list

`/log/releases` lists releases newest first, filtered by service, environment, outcome, person and
date, a page at a time by keyset (`id < last`). Each (column, id) index lets one filter be read in
id order without sorting the matching rows; decisions by actor find the releases a person approved
or overrode.

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = '0021'
down_revision = '0017'
branch_labels = None
depends_on = None

RELEASE_INDEXES = {
    'ix_releases_service_id': ['service', 'id'],
    'ix_releases_environment_id': ['environment', 'id'],
    'ix_releases_state_id': ['state', 'id'],
    'ix_releases_requested_by_id': ['requested_by', 'id'],
    'ix_releases_created_at': ['created_at'],
}


def upgrade() -> None:
    op.create_table('web_log_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('viewer', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('remote', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('viewed_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_web_log_views_viewer_at', 'web_log_views', ['viewer', 'viewed_at'], unique=False)
    op.create_index(op.f('ix_web_log_views_viewed_at'), 'web_log_views', ['viewed_at'], unique=False)
    op.create_table('audit_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ran_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('problems', sa.Integer(), nullable=False),
    sa.Column('first_problem', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('head_seq', sa.Integer(), nullable=True),
    sa.Column('head_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    for name, columns in RELEASE_INDEXES.items():
        op.create_index(name, 'releases', columns, unique=False)
    op.create_index('ix_decisions_actor_release', 'decisions', ['actor', 'release_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_decisions_actor_release', table_name='decisions')
    for name in reversed(RELEASE_INDEXES):
        op.drop_index(name, table_name='releases')
    op.drop_table('audit_runs')
    op.drop_index(op.f('ix_web_log_views_viewed_at'), table_name='web_log_views')
    op.drop_index('ix_web_log_views_viewer_at', table_name='web_log_views')
    op.drop_table('web_log_views')
