"""a funder's pages walk one index

A routing carries its dossier's `created_at`, a party its agreement's, each beside the funder in one index: a
funder's page of its dossiers (and of its multi-party agreements) reads that index from the cursor on, a page
whatever the funder's number of rows. The new indexes start with the old ones' columns, which go.

Revision ID: 9f3a4b5c6d7e
Revises: 9a3b4c5d6e7f
Create Date: 2026-12-08 03:00:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime

revision: str = '9f3a4b5c6d7e'
down_revision: str | None = '9a3b4c5d6e7f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, its new column, the parent table and the foreign key the column's value is copied through)
COPIES = (
    ('dossier_routings', 'dossier_created_at', 'dossiers', 'dossier_id'),
    ('agreement_parties', 'agreement_created_at', 'agreements', 'agreement_id'),
)


def upgrade() -> None:
    for table, column, parent, key in COPIES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, UtcDateTime(timezone=True), nullable=True))
        # The parent's creation time never changes: a copy of it is right for good.
        op.execute(sa.text(f"UPDATE {table} SET {column} = "
                           f"(SELECT {parent}.created_at FROM {parent} WHERE {parent}.id = {table}.{key})"))
    with op.batch_alter_table('dossier_routings', schema=None) as batch_op:
        batch_op.alter_column('dossier_created_at', existing_type=UtcDateTime(timezone=True), nullable=False)
        batch_op.drop_index('ix_dossier_routings_funder')
        batch_op.create_index('ix_dossier_routings_funder_dossier_created',
                              ['funder_id', 'state', 'dossier_created_at', 'dossier_id'], unique=False)
    with op.batch_alter_table('agreement_parties', schema=None) as batch_op:
        batch_op.alter_column('agreement_created_at', existing_type=UtcDateTime(timezone=True), nullable=False)
        batch_op.drop_index('ix_agreement_parties_funder')
        batch_op.create_index('ix_agreement_parties_funder_created',
                              ['funder_id', 'agreement_created_at', 'agreement_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agreement_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_agreement_parties_funder_created')
        batch_op.create_index('ix_agreement_parties_funder', ['funder_id', 'agreement_id'], unique=False)
        batch_op.drop_column('agreement_created_at')
    with op.batch_alter_table('dossier_routings', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_routings_funder_dossier_created')
        batch_op.create_index('ix_dossier_routings_funder', ['funder_id', 'state'], unique=False)
        batch_op.drop_column('dossier_created_at')
