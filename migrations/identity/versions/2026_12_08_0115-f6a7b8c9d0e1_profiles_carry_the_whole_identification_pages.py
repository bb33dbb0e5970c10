"""profiles carry the whole identification pages of the CERFA 12156: acronym, purpose and activities,
correspondence address, public utility, statutory auditor, more people, fiscal year, republican contract

Revision ID: f6a7b8c9d0e1
Revises: 6b2d8f4a1e90
Create Date: 2026-12-08 01:15:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'f6a7b8c9d0e1'
down_revision: str | None = '6b2d8f4a1e90'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Profiles entered before say nothing of these: no auditor, none of these people, a calendar fiscal year, and
    # no republican contract recorded (the admissibility asks for it again). The server defaults stay for the
    # seeds' bulk loaders.
    with op.batch_alter_table('organisation_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acronym', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True))
        batch_op.add_column(sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.add_column(sa.Column('activities', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.add_column(sa.Column('correspondence_address', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('public_utility_recognised_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('statutory_auditor', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('legal_person_members', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('civic_service_volunteers', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('seconded_public_staff', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('fiscal_year_start', sa.String(length=5), nullable=False,
                                      server_default='01-01'))
        batch_op.add_column(sa.Column('republican_contract_signed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('republican_contract_signatory', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=True))
        batch_op.create_check_constraint(
            'ck_organisation_profiles_more_counts',
            "legal_person_members >= 0 AND civic_service_volunteers >= 0 AND seconded_public_staff >= 0",
        )
        batch_op.create_check_constraint(
            'ck_organisation_profiles_republican_contract_whole',
            "(republican_contract_signed_on IS NULL) = (republican_contract_signatory IS NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table('organisation_profiles', schema=None) as batch_op:
        batch_op.drop_constraint('ck_organisation_profiles_republican_contract_whole', type_='check')
        batch_op.drop_constraint('ck_organisation_profiles_more_counts', type_='check')
        for column in ('republican_contract_signatory', 'republican_contract_signed_on', 'fiscal_year_start',
                       'seconded_public_staff', 'civic_service_volunteers', 'legal_person_members',
                       'statutory_auditor', 'public_utility_recognised_on', 'correspondence_address', 'activities',
                       'purpose', 'acronym'):
            batch_op.drop_column(column)
