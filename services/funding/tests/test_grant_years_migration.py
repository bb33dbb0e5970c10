"""The migration 00a2b0f89ddd on a database written before it: each grant gets its years (a CPO's from its current
version, all committed on its programme's year's envelope as they were; a one-year grant's on its year), less
what its cancelled payments gave back; a CPO's committee decisions get the yearly amounts of its first version,
and a later version that changed a funder's amounts becomes an amendment of that funder's decision."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlmodel import Session, SQLModel, select

from services.funding.models.agreement import Agreement, Grant, GrantYear, Payment
from services.funding.models.committee import AgendaItem, CommitteeSession, DecisionAmendment, FunderDecision
from services.funding.models.cpo import CpoVersion
from services.funding.models.dossier import Dossier
from services.funding.models.programme import Programme
from tests.support.migration_steps import ServiceDatabase, as_it_was, service_database

BEFORE, AFTER = "8e2f3a4b5c6d", "00a2b0f89ddd"
CITY, STATE, HOLDER = uuid.UUID(int=101), uuid.UUID(int=102), uuid.UUID(int=103)
CPO_PROGRAMME, ANNUAL_PROGRAMME = uuid.UUID(int=1), uuid.UUID(int=2)
CPO_DOSSIER, ANNUAL_DOSSIER = uuid.UUID(int=11), uuid.UUID(int=12)
CITY_CPO, STATE_CPO, CITY_ANNUAL = uuid.UUID(int=21), uuid.UUID(int=22), uuid.UUID(int=23)
DECIDED = datetime(2027, 1, 20, 10, tzinfo=UTC)
AMENDED = datetime(2028, 5, 15, 10, tzinfo=UTC)


def insert(connection: Connection, row: SQLModel) -> None:
    """The row with its model's defaults, in the columns the table had at this revision."""
    table = as_it_was(connection, type(row))
    values = {name: value for name, value in row.model_dump().items() if name in table.c}
    connection.execute(table.insert().values(**values))


def cpo_years(city: int, state: int) -> dict[str, dict[str, int]]:
    return {str(CITY): {"2027": city, "2028": city, "2029": city},
            str(STATE): {"2027": 2_000_000, "2028": 2_000_000, "2029": state}}


@pytest.fixture
def database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceDatabase]:
    with service_database("funding", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade(BEFORE)
        with db.engine.begin() as connection:
            for programme_id, track in ((CPO_PROGRAMME, "cpo"), (ANNUAL_PROGRAMME, "annual")):
                insert(connection, Programme(id=programme_id, title="Programme", track=track, year=2027,
                                             opens_on=date(2026, 11, 1), closes_on=date(2026, 12, 31),
                                             created_by="test"))
            for dossier_id, programme_id, rank in ((CPO_DOSSIER, CPO_PROGRAMME, 1),
                                                   (ANNUAL_DOSSIER, ANNUAL_PROGRAMME, 2)):
                insert(connection, Dossier(id=dossier_id, reference=f"GU-2027-{rank:06d}", programme_id=programme_id,
                                           project_id=uuid.uuid4(), organisation_id=HOLDER, created_by="test",
                                           state="decided", cpo_years=3 if programme_id == CPO_PROGRAMME else None))
            session_id, item_id = uuid.UUID(int=31), uuid.UUID(int=32)
            insert(connection, CommitteeSession(id=session_id, title="Comité", held_on=date(2027, 1, 20),
                                                place="Hôtel de ville", state="closed", created_by="test"))
            insert(connection, AgendaItem(id=item_id, session_id=session_id, dossier_id=CPO_DOSSIER, position=1,
                                          state="decided"))
            for funder, granted in ((CITY, 18_000_000), (STATE, 6_000_000)):
                insert(connection, FunderDecision(item_id=item_id, dossier_id=CPO_DOSSIER, funder_id=funder,
                                                  granted_cents=granted, decided_by="comite@example.org"))
            grants = ((CITY_CPO, CPO_DOSSIER, CITY, CPO_PROGRAMME, 18_000_000, session_id, 1),
                      (STATE_CPO, CPO_DOSSIER, STATE, CPO_PROGRAMME, 5_500_000, session_id, 2),
                      (CITY_ANNUAL, ANNUAL_DOSSIER, CITY, ANNUAL_PROGRAMME, 500_000, None, 1))
            for grant_id, dossier_id, funder, programme_id, amount, in_session, position in grants:
                insert(connection, Grant(id=grant_id, dossier_id=dossier_id, funder_id=funder, organisation_id=HOLDER,
                                         programme_id=programme_id, session_id=in_session, year=2027,
                                         amount_cents=amount, decided_at=DECIDED))
                agreement_number = f"CONV-2027-{(1 if dossier_id == CPO_DOSSIER else 2):06d}-{position}"
                insert(connection, Agreement(
                    id=uuid.uuid4(), number=agreement_number, kind="convention", grant_id=grant_id,
                    dossier_id=dossier_id, funder_id=funder, organisation_id=HOLDER, object="Centre social",
                    amount_cents=amount))
            agreement_of_state = _agreement_id(connection, STATE_CPO)
            # The State's 2028 balance was cancelled: its 2028 holds the rest only.
            for sequence, (year, cents, payment_state) in enumerate(
                    ((2028, 1_000_000, "paid"), (2028, 1_000_000, "cancelled")), start=1):
                insert(connection, Payment(grant_id=STATE_CPO, agreement_id=agreement_of_state,
                                           dossier_id=CPO_DOSSIER, funder_id=STATE, organisation_id=HOLDER,
                                           programme_id=CPO_PROGRAMME, year=year, sequence=sequence,
                                           amount_cents=cents, state=payment_state, condition="on_activation"))
            insert(connection, CpoVersion(dossier_id=CPO_DOSSIER, number=1, amounts=cpo_years(6_000_000, 2_000_000),
                                          created_by="comite@example.org", created_at=DECIDED))
            insert(connection, CpoVersion(dossier_id=CPO_DOSSIER, number=2, amounts=cpo_years(6_000_000, 1_500_000),
                                          reason="Baisse de l'État en 2029.", created_by="guichet@example.org",
                                          created_at=AMENDED))
        yield db


def _agreement_id(connection: Connection, grant_id: uuid.UUID) -> Any:
    table = as_it_was(connection, Agreement)
    return connection.execute(table.select().where(table.c.grant_id == grant_id)).one().id


def test_each_grant_gets_its_years_and_a_cpo_decision_its_versions(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    with Session(database.engine) as session:
        years = {(row.grant_id, row.year): (row.amount_cents, row.state, row.committed_cents, row.envelope_year)
                 for row in session.exec(select(GrantYear))}
        decisions = {d.funder_id: d.yearly_cents for d in session.exec(select(FunderDecision))}
        amendments = [(a.funder_id, a.number, a.granted_cents, a.yearly_cents["2029"], a.reference, a.amended_on)
                      for a in session.exec(select(DecisionAmendment))]
    assert years == {
        **{(CITY_CPO, year): (6_000_000, "committed", 6_000_000, 2027) for year in (2027, 2028, 2029)},
        (STATE_CPO, 2027): (2_000_000, "committed", 2_000_000, 2027),
        (STATE_CPO, 2028): (2_000_000, "committed", 1_000_000, 2027),
        (STATE_CPO, 2029): (1_500_000, "committed", 1_500_000, 2027),
        (CITY_ANNUAL, 2027): (500_000, "committed", 500_000, 2027),
    }
    assert decisions == {CITY: cpo_years(6_000_000, 2_000_000)[str(CITY)],
                         STATE: cpo_years(6_000_000, 2_000_000)[str(STATE)]}
    assert amendments == [(STATE, 2, 5_500_000, 1_500_000, "CONV-2027-000001-2-AV1", date(2028, 5, 15))]


def test_it_goes_back_down(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    database.downgrade(BEFORE)
    database.upgrade(AFTER)
    with Session(database.engine) as session:
        assert len(list(session.exec(select(GrantYear)))) == 7
