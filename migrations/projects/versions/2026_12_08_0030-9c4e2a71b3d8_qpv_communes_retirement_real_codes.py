"""QPV communes (every commune of an intercommunal QPV), retirement, and the demo's invented codes moved to real ones

Revision ID: 9c4e2a71b3d8
Revises: f1a2b3c4d5e6
Create Date: 2026-12-08 00:30:00+00:00

The first reference sample and the shipped CSV sample carried invented look-alike codes. Rows that still hold
them move to the real codes of the 2024 list (décret 2023-1314): links follow, the invented row goes. Invented
codes with no real counterpart (no QPV of that name in that commune) are deleted when no project refers to them,
retired otherwise. Safe to run again: a code already moved is simply absent.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = '9c4e2a71b3d8'
down_revision: str | None = 'f1a2b3c4d5e6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Invented code -> (real code, its name in the 2024 list). Frozen here: a migration never reads live data files.
MOVED: dict[str, tuple[str, str]] = {
    'QN03501M': ('QN03504M', 'Maurepas'),
    'QN03502B': ('QN03505M', 'Le Blosne'),
    'QN03503V': ('QN03502M', 'Villejean'),
    'QN03504C': ('QN03503I', 'Bréquigny - Champs-Manceaux - Les Clôteaux'),
    'QN03505K': ('QN03506I', 'Cleunay'),
    'QN04491A': ('QN04405M', 'Bellevue'),
    'QN04492B': ('QN04413M', 'Malakoff'),
    'QN06991D': ('QN06934M', 'Duchère'),
    'QN06992E': ('QN06916M', 'Grande Île'),
    'QN01391F': ('QN01344M', 'Frais Vallon'),
    'QN09391J': ('QN09328M', 'Franc Moisin - Cosmonautes - Cristino Garcia - Landy'),
    'QN02A91K': ('QN02A02M', 'Salines - Cannes'),
}
# Invented, with no QPV of that name in that commune in the 2024 list (Nantes Nord, Lille Sud, Alma in Roubaix).
UNMATCHED = ('QN04493C', 'QN05991G', 'QN05992H')

QPV_COLUMNS = ('code', 'name', 'commune', 'insee_commune', 'epci', 'epci_siren', 'department')
qpv = sa.table(
    'qpv', *(sa.column(name, sa.String) for name in QPV_COLUMNS),
    sa.column('retired_at', common.db.UtcDateTime(timezone=True)),
)
qpv_communes = sa.table(
    'qpv_communes', sa.column('qpv_code', sa.String), sa.column('insee_code', sa.String),
    sa.column('position', sa.Integer), sa.column('name', sa.String),
)
project_qpv = sa.table('project_qpv', sa.column('project_id', sa.Uuid), sa.column('qpv_code', sa.String))


def _move(connection: sa.Connection, old: str, new: str, name: str) -> None:
    row = connection.execute(sa.select(qpv).where(qpv.c.code == old)).mappings().first()
    if row is None:
        return  # never there, or already moved
    if connection.execute(sa.select(qpv.c.code).where(qpv.c.code == new)).first() is None:
        connection.execute(qpv.insert().values({**row, 'code': new, 'name': name}))
        connection.execute(
            qpv_communes.insert().from_select(
                ['qpv_code', 'insee_code', 'position', 'name'],
                sa.select(sa.literal(new), qpv_communes.c.insee_code, qpv_communes.c.position, qpv_communes.c.name)
                .where(qpv_communes.c.qpv_code == old),
            )
        )
    # A project tagged with both keeps one link to the real code.
    already = sa.select(project_qpv.c.project_id).where(project_qpv.c.qpv_code == new).scalar_subquery()
    connection.execute(
        project_qpv.update()
        .where(project_qpv.c.qpv_code == old, project_qpv.c.project_id.not_in(already))
        .values(qpv_code=new)
    )
    connection.execute(project_qpv.delete().where(project_qpv.c.qpv_code == old))
    connection.execute(qpv_communes.delete().where(qpv_communes.c.qpv_code == old))
    connection.execute(qpv.delete().where(qpv.c.code == old))


def _drop_or_retire(connection: sa.Connection, code: str, now: datetime) -> None:
    if connection.execute(sa.select(project_qpv.c.project_id).where(project_qpv.c.qpv_code == code)).first():
        connection.execute(qpv.update().where(qpv.c.code == code, qpv.c.retired_at.is_(None)).values(retired_at=now))
        return
    connection.execute(qpv_communes.delete().where(qpv_communes.c.qpv_code == code))
    connection.execute(qpv.delete().where(qpv.c.code == code))


def upgrade() -> None:
    with op.batch_alter_table('qpv', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', common.db.UtcDateTime(timezone=True), nullable=True))
    op.create_table('qpv_communes',
    sa.Column('qpv_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('insee_code', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['qpv_code'], ['qpv.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('qpv_code', 'insee_code')
    )
    with op.batch_alter_table('qpv_communes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qpv_communes_insee_code'), ['insee_code'], unique=False)

    connection = op.get_bind()
    # Until now only the first commune's INSEE code was kept; its name is the first of the joined names.
    for code, insee, communes in connection.execute(sa.select(qpv.c.code, qpv.c.insee_commune, qpv.c.commune)):
        connection.execute(
            qpv_communes.insert().values(
                qpv_code=code, insee_code=insee, position=0, name=communes.split(', ')[0].strip()
            )
        )
    for old, (new, name) in MOVED.items():
        _move(connection, old, new, name)
    now = datetime.now(UTC)
    for code in UNMATCHED:
        _drop_or_retire(connection, code, now)


def downgrade() -> None:
    # The codes stay real: the invented ones are not brought back.
    with op.batch_alter_table('qpv_communes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qpv_communes_insee_code'))
    op.drop_table('qpv_communes')
    with op.batch_alter_table('qpv', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
