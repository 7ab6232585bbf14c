"""ledger subject fits a full ref

`service/environment@ref` with a 255-byte ref (git's limit, §2) overflowed the 255-character subject.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('subject', existing_type=sqlmodel.sql.sqltypes.AutoString(length=255),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=512), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('subject', existing_type=sqlmodel.sql.sqltypes.AutoString(length=512),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=255), existing_nullable=False)
