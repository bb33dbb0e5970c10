"""envelopes and their ledger

Revision ID: e1a2b3c40d01
Revises: 00b430862fbe
Create Date: 2026-11-25 22:30:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = 'e1a2b3c40d01'
down_revision: str | None = '00b430862fbe'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The CHECK constraints are the last guard of the money: 0 <= paid <= committed <= total, whatever the code does.
    op.create_table('envelopes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('funder_id', sa.Uuid(), nullable=False),
    sa.Column('programme_id', sa.Uuid(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('committed_cents', sa.BigInteger(), nullable=False),
    sa.Column('paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('committed_cents <= total_cents', name='ck_envelopes_committed_within_total'),
    sa.CheckConstraint('paid_cents <= committed_cents', name='ck_envelopes_paid_within_committed'),
    sa.CheckConstraint('paid_cents >= 0', name='ck_envelopes_paid_not_negative'),
    sa.CheckConstraint('total_cents >= 0', name='ck_envelopes_total_not_negative'),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('funder_id', 'programme_id', 'year', name='uq_envelopes_funder_programme_year')
    )
    with op.batch_alter_table('envelopes', schema=None) as batch_op:
        batch_op.create_index('ix_envelopes_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_envelopes_funder_created', ['funder_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_envelopes_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_envelopes_updated_at'), ['updated_at'], unique=False)

    op.create_table('envelope_movements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('envelope_id', sa.Uuid(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('committed_cents', sa.BigInteger(), nullable=False),
    sa.Column('paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('dossier_id', sa.Uuid(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        'total_cents >= 0 AND paid_cents >= 0 AND paid_cents <= committed_cents AND committed_cents <= total_cents',
        name='ck_envelope_movements_balances',
    ),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], ),
    sa.ForeignKeyConstraint(['envelope_id'], ['envelopes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('envelope_id', 'sequence', name='uq_envelope_movements_sequence')
    )
    with op.batch_alter_table('envelope_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_envelope_movements_dossier_id'), ['dossier_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('envelope_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_envelope_movements_dossier_id'))

    op.drop_table('envelope_movements')
    with op.batch_alter_table('envelopes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_envelopes_updated_at'))
        batch_op.drop_index(batch_op.f('ix_envelopes_programme_id'))
        batch_op.drop_index('ix_envelopes_funder_created')
        batch_op.drop_index('ix_envelopes_created')

    op.drop_table('envelopes')
