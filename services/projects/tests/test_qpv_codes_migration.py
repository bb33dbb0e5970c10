"""The migration 9c4e2a71b3d8 on a database written before it: the demo's invented QPV codes move to the real ones
(project links follow), invented codes with no real counterpart are retired or deleted, every QPV gets its
commune row; run twice, it ends the same."""

import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.migration_steps import ServiceDatabase, service_database

BEFORE, AFTER = "f1a2b3c4d5e6", "9c4e2a71b3d8"
RENNES = ("Rennes", "35238", "Rennes Métropole", "243500139", "035")
# Rows as the first reference sample and the first shipped CSV sample wrote them (invented codes).
OLD_ROWS = {
    "QN03501M": ("Maurepas", *RENNES),
    "QN03502B": ("Le Blosne", *RENNES),
    "QN03505K": ("Cleunay", *RENNES),
    "QN04491A": ("Bellevue", "Nantes, Saint-Herblain", "44109", "Nantes Métropole", "244400404", "044"),
    "QN04493C": ("Nantes Nord", "Nantes", "44109", "Nantes Métropole", "244400404", "044"),
    "QN05991G": ("Lille Sud", "Lille", "59350", "Métropole Européenne de Lille", "200093201", "059"),
}
qpv = sa.table(
    "qpv", *(sa.column(name, sa.String) for name in (
        "code", "name", "commune", "insee_commune", "epci", "epci_siren", "department"
    ))
)
projects = sa.table(
    "projects", sa.column("id", sa.Uuid), sa.column("organisation_id", sa.Uuid), sa.column("title", sa.String),
    sa.column("summary", sa.String), sa.column("start_date", sa.Date), sa.column("end_date", sa.Date),
    sa.column("target_public", sa.String), sa.column("total_cost_cents", sa.BigInteger),
    sa.column("created_by", sa.String), sa.column("version", sa.Integer), sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
project_qpv = sa.table("project_qpv", sa.column("project_id", sa.Uuid), sa.column("qpv_code", sa.String))
ONLY_OLD, OLD_AND_NEW, NANTES_NORD = (uuid.UUID(int=n) for n in (1, 2, 3))


@pytest.fixture
def database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceDatabase]:
    with service_database("projects", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade(BEFORE)
        with db.engine.begin() as connection:
            # A database migrated before the reference sample held real codes: Rennes' as they were then.
            connection.execute(qpv.delete())
            connection.execute(qpv.insert(), [
                dict(zip(("code", "name", "commune", "insee_commune", "epci", "epci_siren", "department"),
                         (code, *row), strict=True))
                for code, row in OLD_ROWS.items()
            ])
            # The real Maurepas already there too (an import of the real list added it).
            connection.execute(qpv.insert().values(
                code="QN03504M", name="Maurepas", commune="Rennes", insee_commune="35238", epci="Rennes Métropole",
                epci_siren="243500139", department="035",
            ))
            for project_id in (ONLY_OLD, OLD_AND_NEW, NANTES_NORD):
                connection.execute(projects.insert().values(
                    id=project_id, organisation_id=uuid.UUID(int=99), title="Projet", summary="Résumé",
                    start_date=date(2027, 1, 1), end_date=date(2027, 12, 31), target_public="Habitants",
                    total_cost_cents=100, created_by="test", version=1, created_at=datetime(2026, 11, 1),
                    updated_at=datetime(2026, 11, 1),
                ))
            connection.execute(project_qpv.insert(), [
                {"project_id": ONLY_OLD, "qpv_code": "QN03501M"},
                {"project_id": ONLY_OLD, "qpv_code": "QN03502B"},
                {"project_id": OLD_AND_NEW, "qpv_code": "QN03501M"},
                {"project_id": OLD_AND_NEW, "qpv_code": "QN03504M"},
                {"project_id": NANTES_NORD, "qpv_code": "QN04493C"},
                {"project_id": NANTES_NORD, "qpv_code": "QN04491A"},
            ])
        yield db


def state(db: ServiceDatabase) -> dict[str, Any]:
    with db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT code, name, retired_at FROM qpv ORDER BY code")).all()
        links = connection.execute(sa.text("SELECT project_id, qpv_code FROM project_qpv")).all()
        communes = connection.execute(
            sa.text("SELECT qpv_code, insee_code, position, name FROM qpv_communes ORDER BY qpv_code, position")
        ).all()
    return {
        "qpv": {code: (name, retired_at is not None) for code, name, retired_at in rows},
        "links": sorted((str(uuid.UUID(str(p))), code) for p, code in links),
        "communes": [tuple(row) for row in communes],
    }


def test_the_invented_codes_move_to_the_real_ones(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    after = state(database)
    assert after["qpv"] == {
        "QN03504M": ("Maurepas", False),
        "QN03505M": ("Le Blosne", False),  # made from the invented row
        "QN03506I": ("Cleunay", False),
        "QN04405M": ("Bellevue", False),
        "QN04493C": ("Nantes Nord", True),  # no real counterpart, a project refers to it: retired
        # QN05991G (Lille Sud): no real counterpart, no project: gone
    }
    assert after["links"] == sorted([
        (str(ONLY_OLD), "QN03504M"), (str(ONLY_OLD), "QN03505M"),
        (str(OLD_AND_NEW), "QN03504M"),  # one link, not two
        (str(NANTES_NORD), "QN04405M"), (str(NANTES_NORD), "QN04493C"),
    ])
    assert after["communes"] == [
        ("QN03504M", "35238", 0, "Rennes"), ("QN03505M", "35238", 0, "Rennes"), ("QN03506I", "35238", 0, "Rennes"),
        ("QN04405M", "44109", 0, "Nantes"), ("QN04493C", "44109", 0, "Nantes"),
    ]


def test_down_and_up_again_ends_the_same(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    first = state(database)
    database.downgrade(BEFORE)
    database.upgrade(AFTER)
    assert state(database) == first


def test_a_database_with_real_codes_only_is_left_as_it_was(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with service_database("projects", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade(AFTER)  # a new database: the reference sample holds the real codes already
        after = state(db)
        assert after["qpv"] == {
            code: (name, False) for code, name in (
                ("QN03502M", "Villejean"), ("QN03503I", "Bréquigny - Champs-Manceaux - Les Clôteaux"),
                ("QN03504M", "Maurepas"), ("QN03505M", "Le Blosne"), ("QN03506I", "Cleunay"),
            )
        }
        assert after["links"] == []
        assert len(after["communes"]) == 5
