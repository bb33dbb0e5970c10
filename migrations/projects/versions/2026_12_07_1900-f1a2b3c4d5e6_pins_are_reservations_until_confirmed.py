"""pins are reservations until funding confirms them

Revision ID: f1a2b3c4d5e6
Revises: e5f6a7b80c03
Create Date: 2026-12-07 19:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = 'f1a2b3c4d5e6'
down_revision: str | None = 'e5f6a7b80c03'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('document_pins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_id', sa.Uuid(), nullable=True))
        # Every pin made before reservations existed was made for a committed submission: it stays, confirmed.
        batch_op.add_column(sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='confirmed'))
        batch_op.add_column(sa.Column('confirmed_at', common.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reserved_until', common.db.UtcDateTime(timezone=True), nullable=True))
    op.execute("UPDATE document_pins SET confirmed_at = pinned_at")
    with op.batch_alter_table('document_pins', schema=None) as batch_op:
        batch_op.alter_column('state', server_default=None)
        batch_op.create_check_constraint('ck_document_pins_state', "state IN ('confirmed', 'reserved')")
        batch_op.create_check_constraint(
            'ck_document_pins_reserved_until', "(state = 'reserved') = (reserved_until IS NOT NULL)"
        )
        batch_op.create_index('ix_document_pins_reserved_until', ['reserved_until'], unique=False)
        batch_op.create_index('ix_document_pins_dossier_attempt', ['dossier_id', 'attempt_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM document_pins WHERE state = 'reserved'")
    with op.batch_alter_table('document_pins', schema=None) as batch_op:
        batch_op.drop_index('ix_document_pins_dossier_attempt')
        batch_op.drop_index('ix_document_pins_reserved_until')
        batch_op.drop_constraint('ck_document_pins_reserved_until', type_='check')
        batch_op.drop_constraint('ck_document_pins_state', type_='check')
        batch_op.drop_column('reserved_until')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('state')
        batch_op.drop_column('attempt_id')
