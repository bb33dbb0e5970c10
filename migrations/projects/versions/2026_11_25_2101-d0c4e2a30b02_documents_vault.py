"""documents vault

Revision ID: d0c4e2a30b02
Revises: b7d3e1f20a01
Create Date: 2026-11-25 21:01:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import common.db

revision: str = 'd0c4e2a30b02'
down_revision: str | None = 'b7d3e1f20a01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind IN ('activity_report', 'approved_accounts')) = (year IS NOT NULL)", name='ck_documents_year_per_kind'),
    sa.CheckConstraint("kind IN ('activity_report', 'approved_accounts', 'bank_details', 'board_members', 'insurance_certificate', 'other', 'statutes')", name='ck_documents_kind'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_org_created', ['organisation_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_documents_org_kind', ['organisation_id', 'kind', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_updated_at'), ['updated_at'], unique=False)

    op.create_table('document_versions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('declared_content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('uploaded_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(sha256) = 64', name='ck_document_versions_sha256_length'),
    sa.CheckConstraint('size_bytes > 0', name='ck_document_versions_size_positive'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id', 'number', name='uq_document_versions_number')
    )
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_versions_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_versions_sha256'), ['sha256'], unique=False)

    # A version referenced by a submitted dossier: RESTRICT, so that it can never be deleted.
    op.create_table('document_pins',
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('dossier_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('pinned_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('pinned_at', common.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['document_versions.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('version_id', 'dossier_id')
    )
    with op.batch_alter_table('document_pins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_pins_dossier_id'), ['dossier_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('document_pins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_pins_dossier_id'))

    op.drop_table('document_pins')
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_versions_sha256'))
        batch_op.drop_index(batch_op.f('ix_document_versions_document_id'))

    op.drop_table('document_versions')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_updated_at'))
        batch_op.drop_index('ix_documents_org_kind')
        batch_op.drop_index('ix_documents_org_created')

    op.drop_table('documents')
