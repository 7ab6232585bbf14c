"""merge the branches that grew from 0017: earned trust (0018), commit authors (0020) and the web release
log (0021); 0019 was set aside for rollback drills, which needed no table

Revision ID: 0022
Revises: 0018, 0020, 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = '0022'
down_revision = ('0018', '0020', '0021')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
