"""QPV and priorities reference sample (Rennes, official 2024 code format; a sample, not the official list)

Revision ID: 5b0c1d2e3f41
Revises: 83fa7ee88d9a
Create Date: 2026-11-25 19:05:00+00:00
"""
import json
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "5b0c1d2e3f41"
down_revision: str | None = "83fa7ee88d9a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy beside the migration: reference data changes by new migrations, never by editing this file.
DATA = Path(__file__).resolve().parent.parent / "data" / "reference_sample_2024.json"

qpv = sa.table(
    "qpv",
    sa.column("code", sa.String), sa.column("name", sa.String), sa.column("commune", sa.String),
    sa.column("insee_commune", sa.String), sa.column("epci", sa.String), sa.column("epci_siren", sa.String),
    sa.column("department", sa.String),
)
priorities = sa.table(
    "priorities",
    sa.column("code", sa.String), sa.column("kind", sa.String),
    sa.column("label_fr", sa.String), sa.column("label_en", sa.String),
)


def upgrade() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    op.bulk_insert(qpv, data["qpv"])
    op.bulk_insert(priorities, data["priorities"])


def downgrade() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    op.execute(priorities.delete().where(priorities.c.code.in_([p["code"] for p in data["priorities"]])))
    op.execute(qpv.delete().where(qpv.c.code.in_([q["code"] for q in data["qpv"]])))
