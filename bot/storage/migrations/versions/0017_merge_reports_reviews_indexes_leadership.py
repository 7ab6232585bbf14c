"""merge the branches that grew from 0012: release reports (0013), weekly reviews (0014), release
metrics indexes (0015) and the leadership epoch (0016)

Revision ID: 0017
Revises: 0013, 0014, 0015, 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = '0017'
down_revision = ('0013', '0014', '0015', '0016')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
