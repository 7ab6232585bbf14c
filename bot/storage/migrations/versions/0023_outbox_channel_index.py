"""outbox: index pending rows by channel, so each channel's sender reads only its own heads

Each channel's outbox worker asks for the oldest pending row of every thread with a row for its
channel. Only (state, thread, id) was indexed, so that question scanned every pending row of every
channel: with a thousand channels sending at once, a million row visits per round (docs/benchmarks.md).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_state_channel_thread", "outbox_messages", ["state", "channel", "thread"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state_channel_thread", table_name="outbox_messages")
