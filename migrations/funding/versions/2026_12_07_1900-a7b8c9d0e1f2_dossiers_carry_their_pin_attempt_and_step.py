"""dossiers carry their pin attempt and the step owed to projects

Revision ID: a7b8c9d0e1f2
Revises: e869f21da2b7
Create Date: 2026-12-07 19:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'a7b8c9d0e1f2'
down_revision: str | None = 'e869f21da2b7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing dossiers owe projects nothing: their pins were made before reservations, and stay confirmed there.
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_attempt_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('pin_step', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.create_index(batch_op.f('ix_dossiers_pin_step'), ['pin_step'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossiers_pin_step'))
        batch_op.drop_column('pin_step')
        batch_op.drop_column('pin_attempt_id')
