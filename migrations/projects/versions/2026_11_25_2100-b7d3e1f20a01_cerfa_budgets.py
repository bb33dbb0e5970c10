"""CERFA 12156 budgets: project forecasts and associations' yearly budgets

Revision ID: b7d3e1f20a01
Revises: 7c1e2d3f4a52
Create Date: 2026-11-25 21:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = 'b7d3e1f20a01'
down_revision: str | None = '7c1e2d3f4a52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('budgets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('updated_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(project_id IS NULL) <> (year IS NULL)', name='ck_budgets_project_or_year'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organisation_id', 'year', name='uq_budgets_organisation_year'),
    sa.UniqueConstraint('project_id')
    )
    op.create_table('budget_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('budget_id', sa.Uuid(), nullable=False),
    sa.Column('side', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('account_group', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('funder_id', sa.Uuid(), nullable=True),
    sa.Column('to_be_allocated', sa.Boolean(), nullable=False),
    sa.CheckConstraint("(funder_id IS NULL AND NOT to_be_allocated) OR account_group = '74'",
                       name='ck_budget_lines_grant_only'),
    sa.CheckConstraint("side IN ('charge', 'income')", name='ck_budget_lines_side'),
    sa.CheckConstraint('amount_cents > 0', name='ck_budget_lines_amount_positive'),
    sa.ForeignKeyConstraint(['budget_id'], ['budgets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('budget_id', 'side', 'position', name='uq_budget_lines_position')
    )


def downgrade() -> None:
    op.drop_table('budget_lines')
    op.drop_table('budgets')
