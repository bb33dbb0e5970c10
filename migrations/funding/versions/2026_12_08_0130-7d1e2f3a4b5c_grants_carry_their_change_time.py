"""grants carry their change time

A grant changes after its decision (a CPO's yearly review amends its amount): `updated_at`, indexed for
`GET /grants?updated_since=`, starts as the grant's creation time.

Revision ID: 7d1e2f3a4b5c
Revises: 6044a5eadf38
Create Date: 2026-12-08 01:30:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime

revision: str = '7d1e2f3a4b5c'
down_revision: str | None = '6044a5eadf38'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', UtcDateTime(timezone=True), nullable=True))
    # Until now a grant never said when it changed: its creation is its last known change.
    op.execute(sa.text("UPDATE grants SET updated_at = created_at"))
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=UtcDateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f('ix_grants_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_updated_at'))
        batch_op.drop_column('updated_at')
