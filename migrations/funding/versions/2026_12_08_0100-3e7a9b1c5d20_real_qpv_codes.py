"""the demo's invented QPV codes become the real ones: programmes' territories, dossiers' snapshots and tags

Revision ID: 3e7a9b1c5d20
Revises: a7b8c9d0e1f2
Create Date: 2026-12-08 01:00:00+00:00

Projects' migration 9c4e2a71b3d8 moves its QPV table and links from the invented codes of the first samples to
the real codes of the 2024 list; this one moves what funding copied of them. Invented codes with no real
counterpart are left as they are (projects keeps them retired when used). A row changed gets a new version, so
that its ETag moves. Safe to run again: a code already moved is simply absent.
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '3e7a9b1c5d20'
down_revision: str | None = 'a7b8c9d0e1f2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Invented code -> real code; the same map as projects' 9c4e2a71b3d8 (frozen here: services share no code).
MOVED: dict[str, str] = {
    'QN03501M': 'QN03504M', 'QN03502B': 'QN03505M', 'QN03503V': 'QN03502M', 'QN03504C': 'QN03503I',
    'QN03505K': 'QN03506I', 'QN04491A': 'QN04405M', 'QN04492B': 'QN04413M', 'QN06991D': 'QN06934M',
    'QN06992E': 'QN06916M', 'QN01391F': 'QN01344M', 'QN09391J': 'QN09328M', 'QN02A91K': 'QN02A02M',
}

programmes = sa.table('programmes', sa.column('id', sa.Uuid), sa.column('qpv_codes', sa.JSON),
                      sa.column('version', sa.Integer))
dossiers = sa.table('dossiers', sa.column('id', sa.Uuid), sa.column('project_snapshot', sa.JSON),
                    sa.column('version', sa.Integer))
tags = sa.table('dossier_tags', sa.column('dossier_id', sa.Uuid), sa.column('kind', sa.String),
                sa.column('value', sa.String))


def moved(codes: list[str]) -> list[str]:
    """The list with each invented code replaced, once each, sorted if it was."""
    out = list(dict.fromkeys(MOVED.get(code, code) for code in codes))
    return sorted(out) if codes == sorted(codes) else out


def upgrade() -> None:
    connection = op.get_bind()
    for row_id, codes, version in connection.execute(sa.select(programmes)).all():
        if codes and any(code in MOVED for code in codes):
            connection.execute(programmes.update().where(programmes.c.id == row_id)
                               .values(qpv_codes=moved(codes), version=version + 1))
    snapshots = connection.execute(sa.select(dossiers).where(dossiers.c.project_snapshot.is_not(None))).all()
    for row_id, snapshot, version in snapshots:
        codes: Any = snapshot.get('qpv_codes') if isinstance(snapshot, dict) else None
        if isinstance(codes, list) and any(code in MOVED for code in codes):
            connection.execute(dossiers.update().where(dossiers.c.id == row_id)
                               .values(project_snapshot={**snapshot, 'qpv_codes': moved(codes)}, version=version + 1))
    for old, new in MOVED.items():
        # A dossier tagged with both keeps one tag.
        both = sa.select(tags.c.dossier_id).where(tags.c.kind == 'qpv', tags.c.value == new).scalar_subquery()
        connection.execute(tags.update().where(tags.c.kind == 'qpv', tags.c.value == old,
                                               tags.c.dossier_id.not_in(both)).values(value=new))
        connection.execute(tags.delete().where(tags.c.kind == 'qpv', tags.c.value == old))


def downgrade() -> None:
    pass  # the codes stay real: the invented ones are not brought back
