"""indicator targets and reports

Revision ID: e5f6a7b80c03
Revises: d0c4e2a30b02
Create Date: 2026-11-25 21:02:00+00:00
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = 'e5f6a7b80c03'
down_revision: str | None = 'd0c4e2a30b02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# "Of whom" links of the seeded catalogue: each part never exceeds its whole in a report or a plan.
PARTS_OF = {
    "women_reached": "qpv_residents_reached",
    "young_people_16_25_reached": "qpv_residents_reached",
    "people_into_work_or_training": "people_accompanied_to_employment",
}

indicators = sa.table(
    "indicators",
    sa.column("code", sa.String), sa.column("part_of_code", sa.String), sa.column("version", sa.Integer),
    sa.column("updated_at", common.db.UtcDateTime),
)


def upgrade() -> None:
    op.create_table('indicator_plans',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('updated_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id')
    )
    op.create_table('reports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.Column('submitted_at', common.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period = 'span' OR length(period) = 4", name='ck_reports_period'),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'accepted', 'changes_requested')", name='ck_reports_state'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'period', name='uq_reports_project_period')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_reports_org_created', ['organisation_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_reports_state_project', ['state', 'project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_updated_at'), ['updated_at'], unique=False)

    op.create_table('indicator_targets',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('indicator_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('target_hundredths', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("period = 'span' OR length(period) = 4", name='ck_indicator_targets_period'),
    sa.CheckConstraint('target_hundredths >= 0', name='ck_indicator_targets_target_positive'),
    sa.ForeignKeyConstraint(['indicator_code'], ['indicators.code'], ),
    sa.ForeignKeyConstraint(['project_id'], ['indicator_plans.project_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'indicator_code', 'period')
    )
    with op.batch_alter_table('indicator_targets', schema=None) as batch_op:
        batch_op.create_index('ix_indicator_targets_indicator', ['indicator_code'], unique=False)

    op.create_table('report_evidence',
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('document_version_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'document_version_id')
    )
    with op.batch_alter_table('report_evidence', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_report_evidence_document_version_id'), ['document_version_id'], unique=False
        )

    op.create_table('report_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('actor_organisation_id', sa.Uuid(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_history', schema=None) as batch_op:
        batch_op.create_index('ix_report_history_report_at', ['report_id', 'at'], unique=False)

    op.create_table('report_values',
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('indicator_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value_hundredths', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('value_hundredths >= 0', name='ck_report_values_value_positive'),
    sa.ForeignKeyConstraint(['indicator_code'], ['indicators.code'], ),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'indicator_code')
    )
    with op.batch_alter_table('report_values', schema=None) as batch_op:
        batch_op.create_index('ix_report_values_indicator', ['indicator_code'], unique=False)

    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('part_of_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_foreign_key('fk_indicators_part_of_code', 'indicators', ['part_of_code'], ['code'])
        batch_op.create_check_constraint(
            'ck_indicators_part_of_not_self', 'part_of_code IS NULL OR part_of_code <> code'
        )

    # The seeded indicators get their links; a new version, so that clients syncing with updated_since see it.
    now = datetime.now(UTC)
    for part, whole in PARTS_OF.items():
        op.execute(
            indicators.update()
            .where(indicators.c.code == part, indicators.c.part_of_code.is_(None))
            .values(part_of_code=whole, version=indicators.c.version + 1, updated_at=now)
        )


def downgrade() -> None:
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_constraint('ck_indicators_part_of_not_self', type_='check')
        batch_op.drop_constraint('fk_indicators_part_of_code', type_='foreignkey')
        batch_op.drop_column('part_of_code')

    with op.batch_alter_table('report_values', schema=None) as batch_op:
        batch_op.drop_index('ix_report_values_indicator')

    op.drop_table('report_values')
    with op.batch_alter_table('report_history', schema=None) as batch_op:
        batch_op.drop_index('ix_report_history_report_at')

    op.drop_table('report_history')
    with op.batch_alter_table('report_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_evidence_document_version_id'))

    op.drop_table('report_evidence')
    with op.batch_alter_table('indicator_targets', schema=None) as batch_op:
        batch_op.drop_index('ix_indicator_targets_indicator')

    op.drop_table('indicator_targets')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_updated_at'))
        batch_op.drop_index('ix_reports_state_project')
        batch_op.drop_index('ix_reports_org_created')
        batch_op.drop_index('ix_reports_created')

    op.drop_table('reports')
    op.drop_table('indicator_plans')
