"""every dossier carries its thread's reference

The thread's reference is the one the association, the funders and the open data quote: a first dossier's is its
own (written now for the dossiers already there, which kept NULL), a renewal's or a graduation's the first
dossier's, as before. The letters and the domain events carry it beside the dossier's own reference, read from
their dossier. The dossiers' version and change time stay: the value is the one the API gave already (a first
dossier's reference), now stored. Agreements already numbered keep their numbers (sent, signed, published).

Revision ID: 9a3b4c5d6e7f
Revises: 00a2b0f89ddd
Create Date: 2026-12-08 03:00:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '9a3b4c5d6e7f'
down_revision: str | None = '00a2b0f89ddd'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCE = sqlmodel.sql.sqltypes.AutoString(length=20)
OF_THE_DOSSIER = "(SELECT d.thread_reference FROM dossiers d WHERE d.id = {table}.dossier_id)"


def upgrade() -> None:
    op.execute(sa.text("UPDATE dossiers SET thread_reference = reference WHERE thread_reference IS NULL"))
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.alter_column('thread_reference', existing_type=REFERENCE, nullable=False)
    for table in ('notifications', 'domain_events'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('thread_reference', REFERENCE, nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET thread_reference = {OF_THE_DOSSIER.format(table=table)} "
                           "WHERE dossier_id IS NOT NULL"))
    # Every notification is of a dossier; an event of a session or a webhook has none.
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('thread_reference', existing_type=REFERENCE, nullable=False)


def downgrade() -> None:
    for table in ('domain_events', 'notifications'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('thread_reference')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.alter_column('thread_reference', existing_type=REFERENCE, nullable=True)
    op.execute(sa.text("UPDATE dossiers SET thread_reference = NULL WHERE thread_reference = reference"))
