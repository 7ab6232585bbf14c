"""indexes for release metrics over long histories

`/deploy metrics` reads the releases of one service's environment that finished in a window, and,
for each failed one, the first verification in that environment after the failure was detected
(bot/evidence/history.py). With only (service, environment, state) to go on, both scanned every
release the environment ever had: 54–62 s for a 90-day window of a 100k-release history on SQLite,
0.4 s with these two indexes (docs/benchmarks.md, "Release evidence").

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_releases_service_env_finished', 'releases', ['service', 'environment', 'finished_at'])
    op.create_index('ix_releases_service_env_verified', 'releases', ['service', 'environment', 'verified_at'])


def downgrade() -> None:
    op.drop_index('ix_releases_service_env_verified', table_name='releases')
    op.drop_index('ix_releases_service_env_finished', table_name='releases')
