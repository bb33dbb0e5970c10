"""The migration 9a3b4c5d6e7f on a database written before it: a first dossier's thread is its own reference, a
renewal keeps its first dossier's; its letter and its events carry the thread beside its own reference, an event of
no dossier none; back down, a first dossier's thread is empty again."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from services.funding.models.dossier import Dossier
from services.funding.models.event import DomainEvent
from services.funding.models.notification import Notification
from services.funding.models.programme import Programme
from tests.support.migration_steps import ServiceDatabase, as_it_was, service_database

BEFORE, AFTER = "8e2f3a4b5c6d", "9a3b4c5d6e7f"
PROGRAMME, FIRST, RENEWAL, LONE = (uuid.UUID(int=n) for n in (1, 11, 12, 13))
CREATED = datetime(2026, 12, 1, tzinfo=UTC)
REFERENCES = {FIRST: "GU-2027-000001", RENEWAL: "GU-2030-000007", LONE: "GU-2030-000008"}


@pytest.fixture
def database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceDatabase]:
    with service_database("funding", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade(BEFORE)
        with db.engine.begin() as connection:
            programmes, dossiers, notifications, events = (
                as_it_was(connection, model) for model in (Programme, Dossier, Notification, DomainEvent))
            connection.execute(programmes.insert().values(
                id=PROGRAMME, title="CPO", track="cpo", year=2027, opens_on=date(2027, 1, 1),
                closes_on=date(2027, 3, 31), qpv_codes=[], quorum_funder_ids=[], rules={}, created_by="test",
                version=1, created_at=CREATED, updated_at=CREATED))
            for dossier_id, reference in REFERENCES.items():
                renewal = dossier_id == RENEWAL
                connection.execute(dossiers.insert().values(
                    id=dossier_id, reference=reference, programme_id=PROGRAMME, project_id=uuid.uuid4(),
                    organisation_id=uuid.UUID(int=99), created_by="test", state="draft", requested_total_cents=0,
                    document_version_ids=[], partners=[], objectives=[], aid_nature=["cash"],
                    request_object="project", request_kind="renewal" if renewal else "first",
                    thread_reference=REFERENCES[FIRST] if renewal else None,
                    previous_dossier_id=FIRST if renewal else None, version=3, created_at=CREATED,
                    updated_at=CREATED))
            for dossier_id in (FIRST, RENEWAL):
                connection.execute(notifications.insert().values(
                    id=uuid.uuid4(), dossier_id=dossier_id, organisation_id=uuid.UUID(int=99),
                    reference=REFERENCES[dossier_id], kind="decision", content={}, recipients=[],
                    delivery_state="sent", attempts=1, created_at=CREATED, updated_at=CREATED))
            dossier_ids: tuple[uuid.UUID | None, ...] = (FIRST, RENEWAL, None)
            for sequence, of in enumerate(dossier_ids, start=1):
                connection.execute(events.insert().values(
                    sequence=sequence, id=uuid.uuid4(), type="session.planned" if of is None else "dossier.created",
                    subject_kind="session" if of is None else "dossier", subject_id=of or uuid.uuid4(),
                    dossier_id=of, reference=REFERENCES[of] if of else None, data={}, occurred_at=CREATED))
        yield db


def threads(db: ServiceDatabase) -> dict[str, object]:
    with Session(db.engine) as session:
        return {
            "dossiers": {dossier_id: (reference, thread, version) for dossier_id, reference, thread, version in
                         session.exec(select(Dossier.id, Dossier.reference, Dossier.thread_reference,
                                             Dossier.version))},
            "notifications": sorted(session.exec(select(Notification.reference, Notification.thread_reference))),
            "events": [tuple(row) for row in session.exec(
                select(DomainEvent.reference, DomainEvent.thread_reference).order_by(col(DomainEvent.sequence)))],
        }


def test_every_dossier_and_what_tells_of_it_carries_its_thread(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    after = threads(database)
    thread = REFERENCES[FIRST]
    assert after["dossiers"] == {
        FIRST: (thread, thread, 3),  # the value the API gave already: the version stays
        RENEWAL: (REFERENCES[RENEWAL], thread, 3),
        LONE: (REFERENCES[LONE], REFERENCES[LONE], 3),
    }
    assert after["notifications"] == [(thread, thread), (REFERENCES[RENEWAL], thread)]
    assert after["events"] == [(thread, thread), (REFERENCES[RENEWAL], thread), (None, None)]


def test_down_and_up_again(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    first = threads(database)
    database.downgrade(BEFORE)
    with Session(database.engine) as session:
        assert dict(session.exec(select(Dossier.id, Dossier.thread_reference)).all()) == {
            FIRST: None, RENEWAL: REFERENCES[FIRST], LONE: None}
    database.upgrade(AFTER)
    assert threads(database) == first
