"""dossier snapshots at submission and attached documents

Revision ID: 00b430862fbe
Revises: 2d2a4d59d835
Create Date: 2026-11-25 21:48:12.697393+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = '00b430862fbe'
down_revision: str | None = '2d2a4d59d835'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget_snapshot', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('association_budget_snapshot', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('organisation_snapshot', sa.JSON(), nullable=True))
        # Existing dossiers attach no document.
        batch_op.add_column(sa.Column('document_version_ids', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('documents_snapshot', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_column('documents_snapshot')
        batch_op.drop_column('document_version_ids')
        batch_op.drop_column('organisation_snapshot')
        batch_op.drop_column('association_budget_snapshot')
        batch_op.drop_column('budget_snapshot')
