"""The migration 6b2d8f4a1e90 on a database written before it: citizen councils' QPVs move from the demo's
invented codes to the real ones; run twice, it changes nothing more."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from services.identity.models import Organisation
from tests.support.migration_steps import ServiceDatabase, as_it_was, service_database

BEFORE, AFTER = "dc449e5d26c0", "6b2d8f4a1e90"
CREATED = datetime(2026, 12, 1, tzinfo=UTC)
COUNCILS = {
    uuid.UUID(int=1): ["QN03502B"],
    uuid.UUID(int=2): ["QN03501M", "QN03504M", "QN02A91K"],  # old and new of Maurepas, and Ajaccio's
    uuid.UUID(int=3): ["QN05991G"],  # no real counterpart
    uuid.UUID(int=4): [],
}


@pytest.fixture
def database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceDatabase]:
    with service_database("identity", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade(BEFORE)
        # The columns of that revision only: later migrations add others (the seat's département) that the
        # model already knows.
        with db.engine.begin() as connection:
            table = as_it_was(connection, Organisation)
            for number, (council_id, codes) in enumerate(COUNCILS.items()):
                connection.execute(table.insert().values(
                    id=council_id, kind="citizen_council", name=f"Conseil {number}", qpv_codes=codes, version=1,
                    created_at=CREATED, updated_at=CREATED))
        yield db


def councils(db: ServiceDatabase) -> dict[int, tuple[list[str], int]]:
    with Session(db.engine) as session:
        return {o.id.int: (o.qpv_codes, o.version) for o in session.exec(select(Organisation))}


def test_the_invented_codes_move_to_the_real_ones(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    assert councils(database) == {
        1: (["QN03505M"], 2),
        2: (["QN03504M", "QN02A02M"], 2),  # one Maurepas; the order kept (it was not sorted)
        3: (["QN05991G"], 1),
        4: ([], 1),
    }


def test_run_again_changes_nothing_more(database: ServiceDatabase) -> None:
    database.upgrade(AFTER)
    first = councils(database)
    database.downgrade(BEFORE)
    database.upgrade(AFTER)
    assert councils(database) == first
