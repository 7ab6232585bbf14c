"""merge the branches that grew from 0012 (weekly reviews 0014, release metrics indexes 0015)

Revision ID: 0017
Revises: 0014, 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = '0017'
down_revision = ('0014', '0015')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
