"""Admissibility and supplements: the desk's messages, reasons, comments in the trail, programme territory

Revision ID: f2b3c4d50e02
Revises: e1a2b3c40d01
Create Date: 2026-11-25 22:31:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = 'f2b3c4d50e02'
down_revision: str | None = 'e1a2b3c40d01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dossier_history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))

    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('supplements_message', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
        )
        batch_op.add_column(sa.Column('supplements_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closing_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))

    # Existing programmes keep the whole contrat de ville as their territory.
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qpv_codes', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_column('qpv_codes')

    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_column('closing_reason')
        batch_op.drop_column('supplements_due_on')
        batch_op.drop_column('supplements_message')

    with op.batch_alter_table('dossier_history', schema=None) as batch_op:
        batch_op.drop_column('comment')
