"""author loop: the commits each release brought, the DMs owed to their authors, email → Slack person cache

`release_commits` is filled from each release's change preview (what `/deploy where` reads);
`author_notices` holds one DM owed per author per release outcome (unique `dm_key` once queued);
`known_people` caches users.lookupByEmail answers, misses included, until `expires_at`.

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = '0020'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('known_people',
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('tz', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('is_bot', sa.Boolean(), nullable=False),
    sa.Column('fetched_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email')
    )
    op.create_index(op.f('ix_known_people_user_id'), 'known_people', ['user_id'], unique=False)
    op.create_table('author_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('slack_user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('dm_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dm_key', name='uq_author_notices_dm_key'),
    sa.UniqueConstraint('release_id', 'outcome', 'email', name='uq_author_notices_release_email')
    )
    op.create_index(op.f('ix_author_notices_release_id'), 'author_notices', ['release_id'], unique=False)
    op.create_index('ix_author_notices_state', 'author_notices', ['state', 'next_attempt_at'], unique=False)
    op.create_table('release_commits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('author_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('committed_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('release_id', 'sha', name='uq_release_commits_release_sha')
    )
    op.create_index('ix_release_commits_author_email', 'release_commits', ['author_email'], unique=False)
    op.create_index(op.f('ix_release_commits_release_id'), 'release_commits', ['release_id'], unique=False)
    op.create_index('ix_release_commits_sha', 'release_commits', ['sha'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_release_commits_sha', table_name='release_commits')
    op.drop_index(op.f('ix_release_commits_release_id'), table_name='release_commits')
    op.drop_index('ix_release_commits_author_email', table_name='release_commits')
    op.drop_table('release_commits')
    op.drop_index('ix_author_notices_state', table_name='author_notices')
    op.drop_index(op.f('ix_author_notices_release_id'), table_name='author_notices')
    op.drop_table('author_notices')
    op.drop_index(op.f('ix_known_people_user_id'), table_name='known_people')
    op.drop_table('known_people')
