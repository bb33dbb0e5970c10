"""payments wait for their cpo year budget

A CPO year's instalments are not due while the year waits for its budget (grant_years.state = 'awaiting'): the
payments of such years say so, so that the due lists, the payment.due events and the pay route agree.

Revision ID: fe24d6b4386e
Revises: 9f3a4b5c6d7e
Create Date: 2026-12-08 03:49:04.328199+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'fe24d6b4386e'
down_revision: str | None = '9f3a4b5c6d7e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget_pending', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE payments SET budget_pending = true WHERE state = 'scheduled' AND EXISTS (SELECT 1 FROM grant_years "
        "y WHERE y.grant_id = payments.grant_id AND y.year = payments.year AND y.state = 'awaiting')"
    )


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('budget_pending')
