"""dossiers say what they ask: a project or the association's running costs, first request or renewal, cash
or in kind

Revision ID: d4e5f6a7b8c9
Revises: c0c1c2c3c4c5
Create Date: 2026-12-08 00:45:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd4e5f6a7b8c9'
down_revision: str | None = 'c0c1c2c3c4c5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every dossier filed so far asked cash for a project; those that follow another (a CPO's renewal, written
    # as a follow-on with the action "opened_by_renewal") are renewals.
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_object', sa.String(length=16), nullable=False,
                                      server_default='project'))
        batch_op.add_column(sa.Column('request_kind', sa.String(length=16), nullable=False,
                                      server_default='first'))
        batch_op.add_column(sa.Column('aid_nature', sa.JSON(), nullable=False, server_default='["cash"]'))
    op.execute(
        "UPDATE dossiers SET request_kind = 'renewal' WHERE id IN "
        "(SELECT dossier_id FROM dossier_history WHERE action = 'opened_by_renewal')"
    )
    # The server defaults stay: the seeds' bulk loaders write rows without these columns.
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_dossiers_request_object', "request_object IN ('project', 'operating')")
        batch_op.create_check_constraint('ck_dossiers_request_kind', "request_kind IN ('first', 'renewal')")


def downgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_constraint('ck_dossiers_request_kind', type_='check')
        batch_op.drop_constraint('ck_dossiers_request_object', type_='check')
        batch_op.drop_column('aid_nature')
        batch_op.drop_column('request_kind')
        batch_op.drop_column('request_object')
