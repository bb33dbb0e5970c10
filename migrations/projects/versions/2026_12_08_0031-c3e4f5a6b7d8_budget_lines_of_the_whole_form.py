"""budget lines of the whole form: every account group, sub-accounts, indirect charges, own resources,
forecast result, and the type of a funder outside the desk

Revision ID: c3e4f5a6b7d8
Revises: 9c4e2a71b3d8
Create Date: 2026-12-08 00:30:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'c3e4f5a6b7d8'
down_revision: str | None = '9c4e2a71b3d8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.alter_column('account_group', existing_type=sqlmodel.sql.sqltypes.AutoString(length=2),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=24), existing_nullable=False)
        batch_op.add_column(sa.Column('funder_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.drop_constraint('ck_budget_lines_grant_only', type_='check')
        batch_op.create_check_constraint(
            'ck_budget_lines_grant_only',
            "(funder_id IS NULL AND NOT to_be_allocated AND funder_type IS NULL) OR account_group = '74'",
        )


def downgrade() -> None:
    # Lines the old form did not know cannot be kept in two characters.
    op.execute("DELETE FROM budget_lines WHERE length(account_group) > 2")
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.drop_constraint('ck_budget_lines_grant_only', type_='check')
        batch_op.create_check_constraint(
            'ck_budget_lines_grant_only', "(funder_id IS NULL AND NOT to_be_allocated) OR account_group = '74'"
        )
        batch_op.drop_column('funder_type')
        batch_op.alter_column('account_group', existing_type=sqlmodel.sql.sqltypes.AutoString(length=24),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=2), existing_nullable=False)
