"""webhook endpoints of citizen councils keep the QPVs they follow

Revision ID: c0c1c2c3c4c5
Revises: 3e7a9b1c5d20
Create Date: 2026-12-08 01:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c0c1c2c3c4c5'
down_revision: str | None = '3e7a9b1c5d20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for every existing endpoint: none belongs to a council (councils could not register one before).
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('council_qpv_codes', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('council_qpv_codes')
