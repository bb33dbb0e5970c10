"""dossier tags carry the programme's year

Revision ID: e869f21da2b7
Revises: b9b28bbbfd51
Create Date: 2026-11-26 08:38:40.374871+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e869f21da2b7'
down_revision: str | None = 'b9b28bbbfd51'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dossier_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('year', sa.Integer(), nullable=True))
    # Each tag takes its dossier's programme's year (PostgreSQL joins once; SQLite has no UPDATE … FROM before
    # 3.33, so a correlated subquery there).
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE dossier_tags SET year = p.year FROM dossiers d JOIN programmes p ON p.id = d.programme_id "
                   "WHERE d.id = dossier_tags.dossier_id")
    else:
        op.execute("UPDATE dossier_tags SET year = (SELECT p.year FROM dossiers d JOIN programmes p "
                   "ON p.id = d.programme_id WHERE d.id = dossier_tags.dossier_id)")
    with op.batch_alter_table('dossier_tags', schema=None) as batch_op:
        batch_op.alter_column('year', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index('ix_dossier_tags_value')
        batch_op.create_index('ix_dossier_tags_value', ['kind', 'value', 'year', 'dossier_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dossier_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_tags_value')
        batch_op.create_index('ix_dossier_tags_value', ['kind', 'value', 'dossier_id'], unique=False)
        batch_op.drop_column('year')
