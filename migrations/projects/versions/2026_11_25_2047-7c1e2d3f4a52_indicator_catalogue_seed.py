"""The desk's starting catalogue of shared indicators

Revision ID: 7c1e2d3f4a52
Revises: ac480fe814f2
Create Date: 2026-11-25 20:47:00+00:00
"""
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import common.db

revision: str = "7c1e2d3f4a52"
down_revision: str | None = "ac480fe814f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy beside the migration; ids derived from the codes, so every database gets the same ones.
DATA = Path(__file__).resolve().parent.parent / "data" / "indicators_2026.json"
NAMESPACE = uuid.UUID("3b8f0f5e-8d61-4c1a-9d0e-6a6f3f1d2c11")

indicators = sa.table(
    "indicators",
    sa.column("id", sa.Uuid), sa.column("code", sa.String), sa.column("label", sa.String),
    sa.column("description", sa.String), sa.column("unit", sa.String), sa.column("aggregation", sa.String),
    sa.column("denominator_code", sa.String), sa.column("active", sa.Boolean), sa.column("version", sa.Integer),
    sa.column("created_at", common.db.UtcDateTime), sa.column("updated_at", common.db.UtcDateTime),
)
indicator_priorities = sa.table(
    "indicator_priorities", sa.column("indicator_id", sa.Uuid), sa.column("priority_code", sa.String)
)


def upgrade() -> None:
    now = datetime.now(UTC)
    rows = json.loads(DATA.read_text(encoding="utf-8"))["indicators"]
    # Denominators first: a ratio refers to an indicator that must already exist.
    rows.sort(key=lambda row: row.get("denominator_code") is not None)
    for row in rows:
        indicator_id = uuid.uuid5(NAMESPACE, row["code"])
        op.bulk_insert(indicators, [{
            "id": indicator_id, "code": row["code"], "label": row["label"], "description": row["description"],
            "unit": row["unit"], "aggregation": row["aggregation"], "denominator_code": row.get("denominator_code"),
            "active": True, "version": 1, "created_at": now, "updated_at": now,
        }])
        op.bulk_insert(indicator_priorities, [
            {"indicator_id": indicator_id, "priority_code": code} for code in row["priorities"]
        ])


def downgrade() -> None:
    codes = [row["code"] for row in json.loads(DATA.read_text(encoding="utf-8"))["indicators"]]
    ids = [uuid.uuid5(NAMESPACE, code) for code in codes]
    op.execute(indicator_priorities.delete().where(indicator_priorities.c.indicator_id.in_(ids)))
    op.execute(indicators.delete().where(indicators.c.denominator_code.is_not(None), indicators.c.code.in_(codes)))
    op.execute(indicators.delete().where(indicators.c.code.in_(codes)))
