"""What the databases hold after a fault, read directly (not through the API the fault may have disturbed)."""

from collections import Counter
from typing import Any

from sqlalchemy import create_engine, text

from common.db import connect_args_for, sync_url
from tests.faults.desk import FaultDesk


def rows(desk: FaultDesk, service: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    url = desk.database_url(service)
    engine = create_engine(sync_url(url), connect_args=connect_args_for(url, desk.schema(service) or "public"))
    try:
        with engine.connect() as connection:
            return [dict(row) for row in connection.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()


def submission_ledger(desk: FaultDesk, dossier_ids: list[str]) -> dict[str, Any]:
    """For each dossier: its state, whether it holds the submission's snapshot, how many `submitted` trail lines and
    `dossier.submitted` events it has."""
    ids = {str(i).replace("-", "") for i in dossier_ids}

    def ours(value: Any) -> bool:
        return str(value).replace("-", "") in ids

    def key(value: Any) -> str:
        return str(value).replace("-", "")

    dossiers = {key(r["id"]): r for r in rows(desk, "funding", "SELECT id, state, project_snapshot FROM dossiers")
                if ours(r["id"])}
    trail = Counter(key(r["dossier_id"]) for r in rows(
        desk, "funding", "SELECT dossier_id FROM dossier_history WHERE action = 'submitted'") if ours(r["dossier_id"]))
    events = Counter(key(r["dossier_id"]) for r in rows(
        desk, "funding", "SELECT dossier_id FROM domain_events WHERE type = 'dossier.submitted'")
        if ours(r["dossier_id"]))
    return {
        dossier_id: {
            "state": row["state"], "snapshot": row["project_snapshot"] is not None,
            "trail": trail[dossier_id], "events": events[dossier_id],
        }
        for dossier_id, row in dossiers.items()
    }
