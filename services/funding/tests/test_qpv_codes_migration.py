"""The migration 3e7a9b1c5d20 on a database written before it: programmes' territories, dossiers' project
snapshots and QPV tags move from the demo's invented codes to the real ones; run twice, it changes nothing more."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from services.funding.models.dossier import Dossier, DossierTag
from services.funding.models.programme import Programme
from tests.support.migration_steps import ServiceDatabase, as_it_was, service_database

BEFORE, AFTER = "a7b8c9d0e1f2", "3e7a9b1c5d20"
ANNUAL, ANY_QPV = uuid.UUID(int=1), uuid.UUID(int=2)
OLD_ONLY, BOTH, UNTOUCHED, DRAFT = (uuid.UUID(int=n) for n in (11, 12, 13, 14))
CREATED = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceDatabase]:
    with service_database("funding", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade(BEFORE)
        with db.engine.begin() as connection:
            programmes, dossiers, tags = (as_it_was(connection, model) for model in (Programme, Dossier, DossierTag))
            for programme_id, codes in ((ANNUAL, ["QN03501M", "QN03502B", "QN04493C"]), (ANY_QPV, [])):
                connection.execute(programmes.insert().values(
                    id=programme_id, title="Appel", track="annual", year=2027, opens_on=date(2027, 1, 1),
                    closes_on=date(2027, 3, 31), qpv_codes=codes, quorum_funder_ids=[], rules={}, created_by="test",
                    version=1, created_at=CREATED, updated_at=CREATED))
            snapshots = {
                OLD_ONLY: {"title": "Aide aux devoirs", "qpv_codes": ["QN03502B"]},
                BOTH: {"title": "Deux quartiers", "qpv_codes": ["QN03501M", "QN03504M"]},
                UNTOUCHED: {"title": "Ailleurs", "qpv_codes": ["QN09328M"]},
                DRAFT: None,
            }
            for number, (dossier_id, snapshot) in enumerate(snapshots.items()):
                connection.execute(dossiers.insert().values(
                    id=dossier_id, reference=f"GU-2027-{number:06d}", programme_id=ANNUAL, project_id=uuid.uuid4(),
                    organisation_id=uuid.UUID(int=99), project_snapshot=snapshot, created_by="test", state="draft",
                    requested_total_cents=0, document_version_ids=[], partners=[], cpo_targets=[], version=1,
                    created_at=CREATED, updated_at=CREATED))
            for dossier_id, value in ((OLD_ONLY, "QN03502B"), (BOTH, "QN03501M"), (BOTH, "QN03504M"),
                                      (UNTOUCHED, "QN09328M"), (OLD_ONLY, "youth")):
                connection.execute(tags.insert().values(
                    dossier_id=dossier_id, kind="priority" if value == "youth" else "qpv", value=value, year=2027))
        yield db


def state(db: ServiceDatabase) -> dict[str, object]:
    with Session(db.engine) as session:
        return {
            "programmes": {programme_id: (codes, version) for programme_id, codes, version in session.exec(
                select(Programme.id, Programme.qpv_codes, Programme.version))},
            "dossiers": {dossier_id: (snapshot, version) for dossier_id, snapshot, version in session.exec(
                select(Dossier.id, Dossier.project_snapshot, Dossier.version))},
            "tags": sorted((dossier_id.int, kind, value) for dossier_id, kind, value in session.exec(
                select(DossierTag.dossier_id, DossierTag.kind, DossierTag.value))),
        }


def test_the_invented_codes_move_to_the_real_ones(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    after = state(database)
    assert after["programmes"] == {
        ANNUAL: (["QN03504M", "QN03505M", "QN04493C"], 2),  # Nantes Nord has no real counterpart: left
        ANY_QPV: ([], 1),
    }
    assert after["dossiers"] == {
        OLD_ONLY: ({"title": "Aide aux devoirs", "qpv_codes": ["QN03505M"]}, 2),
        BOTH: ({"title": "Deux quartiers", "qpv_codes": ["QN03504M"]}, 2),
        UNTOUCHED: ({"title": "Ailleurs", "qpv_codes": ["QN09328M"]}, 1),
        DRAFT: (None, 1),
    }
    assert after["tags"] == [
        (11, "priority", "youth"), (11, "qpv", "QN03505M"), (12, "qpv", "QN03504M"), (13, "qpv", "QN09328M"),
    ]


def test_run_again_changes_nothing_more(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    first = state(database)
    database.downgrade(BEFORE)
    database.upgrade(AFTER)
    assert state(database) == first
