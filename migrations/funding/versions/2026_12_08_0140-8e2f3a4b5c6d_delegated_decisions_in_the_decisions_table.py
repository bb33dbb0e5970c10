"""delegated decisions in the decisions table

A small project's decision, taken by its lead funder outside any session, is a row of `committee_decisions`
without an item, so that `GET /decisions` and the decisions export list it beside the committee's. The delegated
grants already made become such rows (a delegated refusal kept no reason until now: none can be written back).

Revision ID: 8e2f3a4b5c6d
Revises: 7d1e2f3a4b5c
Create Date: 2026-12-08 01:40:00.000000+00:00
"""
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '8e2f3a4b5c6d'
down_revision: str | None = '7d1e2f3a4b5c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('committee_decisions', schema=None) as batch_op:
        batch_op.alter_column('item_id', existing_type=sa.Uuid(), nullable=True)
    connection = op.get_bind()
    delegated = connection.execute(sa.text(
        "SELECT g.dossier_id, g.funder_id, g.amount_cents, g.conditions, g.decision_reference, g.decided_at, "
        "a.sent_by FROM grants g LEFT JOIN agreements a ON a.grant_id = g.id WHERE g.session_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM committee_decisions d WHERE d.dossier_id = g.dossier_id "
        "AND d.funder_id = g.funder_id)"
    )).all()
    decisions = sa.table(
        'committee_decisions', sa.column('id', sa.Uuid()), sa.column('item_id', sa.Uuid()),
        # The ids read back as the backend wrote them, and go in again as they are.
        sa.column('dossier_id'), sa.column('funder_id'), sa.column('granted_cents'),
        sa.column('conditions'), sa.column('refusal_reason'), sa.column('decision_reference'),
        sa.column('decided_by'), sa.column('version'), sa.column('created_at'), sa.column('updated_at'),
    )
    if delegated:
        # The letter of a delegated decision is sent by the manager who decides: its sender is the decider.
        op.bulk_insert(decisions, [
            {"id": uuid.uuid4(), "item_id": None, "dossier_id": row.dossier_id, "funder_id": row.funder_id,
             "granted_cents": row.amount_cents, "conditions": row.conditions, "refusal_reason": None,
             "decision_reference": row.decision_reference, "decided_by": row.sent_by or "unknown", "version": 1,
             "created_at": row.decided_at, "updated_at": row.decided_at}
            for row in delegated
        ])


def downgrade() -> None:
    op.execute("DELETE FROM committee_decisions WHERE item_id IS NULL")
    with op.batch_alter_table('committee_decisions', schema=None) as batch_op:
        batch_op.alter_column('item_id', existing_type=sa.Uuid(), nullable=False)
