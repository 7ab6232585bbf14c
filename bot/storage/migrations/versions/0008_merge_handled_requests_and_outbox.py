"""merge the handled-requests (0006) and outbox (0007) branches

Revision ID: 0008
Revises: 0006_handled_requests, 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = '0008'
down_revision = ('0006_handled_requests', '0007')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
