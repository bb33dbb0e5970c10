"""What the databases hold after a fault, read directly (not through the API the fault may have disturbed)."""

import json
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, text

from common.db import connect_args_for, sync_url
from tests.faults.desk import FaultDesk, wait_until
from tests.faults.filings import Draft


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
    ids = {_key(i) for i in dossier_ids}

    def ours(value: Any) -> bool:
        return _key(value) in ids

    key = _key
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


def _key(value: Any) -> str:
    return str(value).replace("-", "")


def pin_ledger(desk: FaultDesk, dossier_ids: list[str]) -> dict[str, set[tuple[str, str]]]:
    """The (version, state) of every pin projects holds for each of these dossiers."""
    ids = {_key(i): i for i in dossier_ids}
    held: dict[str, set[tuple[str, str]]] = {i: set() for i in dossier_ids}
    for row in rows(desk, "projects", "SELECT dossier_id, version_id, state FROM document_pins"):
        if _key(row["dossier_id"]) in ids:
            held[ids[_key(row["dossier_id"])]].add((_dashed(row["version_id"]), row["state"]))
    return held


def stray_pins(desk: FaultDesk) -> list[dict[str, Any]]:
    """Pins that should not be there once the worker and the sweep have run: unconfirmed, or naming a dossier that
    is not submitted (or later), or a version its snapshot does not list; and dossiers still owing a pin step."""
    dossiers = {_key(r["id"]): r
                for r in rows(desk, "funding", "SELECT id, state, documents_snapshot, pin_step FROM dossiers")}
    stray = []
    for pin in rows(desk, "projects", "SELECT dossier_id, version_id, state FROM document_pins"):
        dossier = dossiers.get(_key(pin["dossier_id"]))
        snapshot = _snapshot_versions(dossier["documents_snapshot"]) if dossier else set()
        if (pin["state"] != "confirmed" or dossier is None or dossier["state"] in LEFT_OR_NOT_FILED
                or _key(pin["version_id"]) not in snapshot):
            stray.append({**pin, "dossier": dossier and dossier["state"]})
    stray += [{"owing": row["pin_step"], "dossier_id": key} for key, row in dossiers.items() if row["pin_step"]]
    return stray


# States in which a dossier holds no pin: never filed, or out of the flow.
LEFT_OR_NOT_FILED = {"draft", "withdrawn", "inadmissible"}


def _snapshot_versions(snapshot: Any) -> set[str]:
    if isinstance(snapshot, str):
        snapshot = json.loads(snapshot)
    return {_key(version["id"]) for version in snapshot or []}


def _dashed(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def assert_submitted_once(desk: FaultDesk, drafts: list[Draft]) -> None:
    """Each draft submitted exactly once (its snapshot, one trail line, one event), its versions' pins confirmed,
    and nothing astray anywhere once the worker and the sweep have run."""
    ledger = submission_ledger(desk, [draft.id for draft in drafts])
    assert len(ledger) == len(drafts)
    assert {tuple(entry.values()) for entry in ledger.values()} == {("submitted", True, 1, 1)}, ledger
    # The worker confirms what a crash left owed; past their lapse, the sweep deletes the reservations nobody will
    # confirm (projects' clock stands still in the live environment: moved here beyond a reservation's life).
    desk.move_projects_clock(timedelta(minutes=30))
    try:
        wait_until(lambda: not stray_pins(desk), timeout=30, what="no pin left reserved or astray")
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}: {stray_pins(desk)}") from None
    pins = pin_ledger(desk, [draft.id for draft in drafts])
    assert pins == {draft.id: {(version, "confirmed") for version in draft.version_ids} for draft in drafts}
