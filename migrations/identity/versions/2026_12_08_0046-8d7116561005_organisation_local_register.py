"""organisations: the seat's département, the register entry of Alsace-Moselle associations (tribunal, volume,
folio) and the prefecture receipt of older associations

Revision ID: 8d7116561005
Revises: dc449e5d26c0
Create Date: 2026-12-08 00:46:54.240151+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '8d7116561005'
down_revision: str | None = 'dc449e5d26c0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))
        batch_op.add_column(sa.Column('register_court', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('register_volume', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('register_folio', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('prefecture_receipt', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True))
        batch_op.create_unique_constraint(
            'uq_organisations_register', ['register_court', 'register_volume', 'register_folio']
        )


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_organisations_register', type_='unique')
        batch_op.drop_column('prefecture_receipt')
        batch_op.drop_column('register_folio')
        batch_op.drop_column('register_volume')
        batch_op.drop_column('register_court')
        batch_op.drop_column('department')
