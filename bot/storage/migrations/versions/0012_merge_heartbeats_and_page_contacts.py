"""merge the heartbeats (0010) and page-contacts (0011) branches

Revision ID: 0012
Revises: 0010, 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = '0012'
down_revision = ('0010', '0011')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
