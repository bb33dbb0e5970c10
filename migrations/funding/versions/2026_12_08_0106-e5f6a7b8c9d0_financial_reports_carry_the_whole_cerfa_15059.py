"""financial reports carry the whole CERFA 15059: the gap threshold of their programme, the annex, the
qualitative account and the signatory

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-08 01:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5f6a7b8c9d0'
down_revision: str | None = 'd4e5f6a7b8c9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every report owed so far was owed under the 15 % rule; the server default also serves the seeds' loaders.
    with op.batch_alter_table('financial_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explained_gap_bp', sa.Integer(), nullable=False, server_default='1500'))
        batch_op.add_column(sa.Column('annex', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('qualitative', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('signatory', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('financial_reports', schema=None) as batch_op:
        batch_op.drop_column('signatory')
        batch_op.drop_column('qualitative')
        batch_op.drop_column('annex')
        batch_op.drop_column('explained_gap_bp')
