"""The migration 9f3a4b5c6d7e on a database written before it: each routing gets its dossier's creation time, each
agreement party its agreement's, both then required, and a funder's indexes over them; its downgrade gives back
the indexes that were."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from services.funding.models.agreement import Agreement, AgreementParty, Grant
from services.funding.models.dossier import Dossier, DossierRouting
from services.funding.models.programme import Programme
from tests.support.migration_steps import ServiceDatabase, as_it_was, service_database

BEFORE, AFTER = "8e2f3a4b5c6d", "9f3a4b5c6d7e"
PROGRAMME, HOLDER = uuid.UUID(int=1), uuid.UUID(int=99)
CITY, STATE = uuid.UUID(int=201), uuid.UUID(int=202)
FIRST, SECOND = uuid.UUID(int=11), uuid.UUID(int=12)
CREATED = {FIRST: datetime(2026, 3, 1, 9, tzinfo=UTC), SECOND: datetime(2026, 4, 2, 10, tzinfo=UTC)}
AGREEMENT = uuid.UUID(int=31)
AGREED_AT = datetime(2026, 9, 1, 8, tzinfo=UTC)


@pytest.fixture
def database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceDatabase]:
    with service_database("funding", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade(BEFORE)
        with db.engine.begin() as connection:
            programmes, dossiers, routings, grants, agreements, parties = (
                as_it_was(connection, model)
                for model in (Programme, Dossier, DossierRouting, Grant, Agreement, AgreementParty))
            connection.execute(programmes.insert().values(
                id=PROGRAMME, title="Appel", track="annual", year=2026, opens_on=date(2026, 1, 1),
                closes_on=date(2026, 3, 31), qpv_codes=[], quorum_funder_ids=[], rules={}, created_by="test",
                version=1, created_at=AGREED_AT, updated_at=AGREED_AT))
            for number, (dossier_id, created) in enumerate(CREATED.items()):
                connection.execute(dossiers.insert().values(
                    id=dossier_id, reference=f"GU-2026-{number:06d}", programme_id=PROGRAMME, project_id=uuid.uuid4(),
                    organisation_id=HOLDER, created_by="test", state="in_instruction", requested_total_cents=0,
                    document_version_ids=[], partners=[], cpo_targets=[], version=1, created_at=created,
                    updated_at=created + timedelta(days=20)))
                for funder in (CITY, STATE):
                    connection.execute(routings.insert().values(
                        id=uuid.uuid4(), dossier_id=dossier_id, funder_id=funder, state="routed", amount_cents=100,
                        routed_by="test", routed_at=created + timedelta(days=10)))
            grant_ids = {funder: uuid.uuid4() for funder in (CITY, STATE)}
            for funder, grant_id in grant_ids.items():
                connection.execute(grants.insert().values(
                    id=grant_id, dossier_id=FIRST, funder_id=funder, organisation_id=HOLDER, programme_id=PROGRAMME,
                    year=2026, amount_cents=100, decided_at=AGREED_AT, created_at=AGREED_AT, updated_at=AGREED_AT))
            connection.execute(agreements.insert().values(
                id=AGREEMENT, number="CV-2026-0001", kind="convention", grant_id=grant_ids[CITY], dossier_id=FIRST,
                funder_id=CITY, organisation_id=HOLDER, state="drafted", object="Atelier", amount_cents=200,
                terms={}, version=1, created_at=AGREED_AT, updated_at=AGREED_AT + timedelta(days=3)))
            for funder, grant_id in grant_ids.items():
                connection.execute(parties.insert().values(
                    id=uuid.uuid4(), agreement_id=AGREEMENT, funder_id=funder, grant_id=grant_id))
        yield db


def _indexes(db: ServiceDatabase, table: str) -> dict[str | None, list[str | None]]:
    with db.engine.connect() as connection:
        return {index["name"]: index["column_names"] for index in inspect(connection).get_indexes(table)}


def test_each_copy_is_its_parent_s_creation_and_the_funder_s_indexes_cover_them(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    with Session(database.engine) as session:
        routed = session.exec(select(DossierRouting.dossier_id, DossierRouting.dossier_created_at)).all()
        parties = session.exec(select(AgreementParty.agreement_created_at)).all()
    assert sorted(routed) == sorted((dossier_id, CREATED[dossier_id]) for dossier_id in CREATED for _ in range(2))
    assert parties == [AGREED_AT, AGREED_AT]
    routings, agreement_parties = _indexes(database, "dossier_routings"), _indexes(database, "agreement_parties")
    assert routings["ix_dossier_routings_funder_dossier_created"] == [
        "funder_id", "state", "dossier_created_at", "dossier_id"]
    assert "ix_dossier_routings_funder" not in routings
    assert agreement_parties["ix_agreement_parties_funder_created"] == [
        "funder_id", "agreement_created_at", "agreement_id"]
    assert "ix_agreement_parties_funder" not in agreement_parties
    with database.engine.connect() as connection:
        columns = {table: {c["name"]: c["nullable"] for c in inspect(connection).get_columns(table)}
                   for table in ("dossier_routings", "agreement_parties")}
    assert columns["dossier_routings"]["dossier_created_at"] is False
    assert columns["agreement_parties"]["agreement_created_at"] is False


def test_its_downgrade_gives_back_the_indexes_that_were(database: ServiceDatabase) -> None:
    before = _indexes(database, "dossier_routings"), _indexes(database, "agreement_parties")
    database.upgrade(AFTER)
    database.downgrade(BEFORE)
    assert (_indexes(database, "dossier_routings"), _indexes(database, "agreement_parties")) == before
    with Session(database.engine) as session:
        assert len(session.exec(select(DossierRouting.id)).all()) == 4  # the rows stay
