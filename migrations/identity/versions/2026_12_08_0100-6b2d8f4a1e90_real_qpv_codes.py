"""the demo's invented QPV codes become the real ones: the QPVs citizen councils speak for

Revision ID: 6b2d8f4a1e90
Revises: 8d7116561005
Create Date: 2026-12-08 01:00:00+00:00

Projects' migration 9c4e2a71b3d8 moves its QPV table from the invented codes of the first samples to the real
codes of the 2024 list; this one moves the councils' copies. Invented codes with no real counterpart are left as
they are. An organisation changed gets a new version, so that its ETag moves. Safe to run again.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '6b2d8f4a1e90'
down_revision: str | None = '8d7116561005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Invented code -> real code; the same map as projects' 9c4e2a71b3d8 (frozen here: services share no code).
MOVED: dict[str, str] = {
    'QN03501M': 'QN03504M', 'QN03502B': 'QN03505M', 'QN03503V': 'QN03502M', 'QN03504C': 'QN03503I',
    'QN03505K': 'QN03506I', 'QN04491A': 'QN04405M', 'QN04492B': 'QN04413M', 'QN06991D': 'QN06934M',
    'QN06992E': 'QN06916M', 'QN01391F': 'QN01344M', 'QN09391J': 'QN09328M', 'QN02A91K': 'QN02A02M',
}

organisations = sa.table('organisations', sa.column('id', sa.Uuid), sa.column('qpv_codes', sa.JSON),
                         sa.column('version', sa.Integer))


def upgrade() -> None:
    connection = op.get_bind()
    for row_id, codes, version in connection.execute(sa.select(organisations)).all():
        if codes and any(code in MOVED for code in codes):
            out = list(dict.fromkeys(MOVED.get(code, code) for code in codes))
            connection.execute(organisations.update().where(organisations.c.id == row_id)
                               .values(qpv_codes=sorted(out) if codes == sorted(codes) else out,
                                       version=version + 1))


def downgrade() -> None:
    pass  # the codes stay real: the invented ones are not brought back
