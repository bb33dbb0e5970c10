"""programmes and decisions carry their open data fields

The SCDL columns that were constants become the programme's (dispositifAide's stable code, the nature of the aid,
notificationUE, idRAE), with the defaults the export wrote until now; a funder's decision and its grant may carry
the funder's own decision reference (referenceDecision).

Revision ID: 6044a5eadf38
Revises: c9a22abc4884
Create Date: 2026-12-08 00:43:36.001002+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '6044a5eadf38'
down_revision: str | None = 'c9a22abc4884'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('committee_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_reference', sqlmodel.sql.sqltypes.AutoString(length=100),
                                      nullable=True))

    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_reference', sqlmodel.sql.sqltypes.AutoString(length=100),
                                      nullable=True))

    # Existing programmes take what the export published for them: cash aid, not notified to the Commission.
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheme_code', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))
        batch_op.add_column(sa.Column('aid_nature', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                      server_default='cash'))
        batch_op.add_column(sa.Column('eu_notified', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('rae_id', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
        batch_op.create_check_constraint('ck_programmes_aid_nature', "aid_nature IN ('cash', 'in_kind', 'both')")


def downgrade() -> None:
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_constraint('ck_programmes_aid_nature', type_='check')
        batch_op.drop_column('rae_id')
        batch_op.drop_column('eu_notified')
        batch_op.drop_column('aid_nature')
        batch_op.drop_column('scheme_code')

    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_column('decision_reference')

    with op.batch_alter_table('committee_decisions', schema=None) as batch_op:
        batch_op.drop_column('decision_reference')
