"""Keyset pages: a page starts where the cursor points, found by the index (not by walking every earlier row),
and rows sharing a creation instant are split between pages by their id, none lost or repeated."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlmodel import Session, select

from common.pagination import encode_cursor, keyset, split_page
from services.funding.models.base import FundingTable
from services.funding.models.dossier import Dossier

SAME_INSTANT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _database() -> Session:
    engine = create_engine("sqlite://")
    FundingTable.metadata.create_all(engine)
    return Session(engine)


def _dossier(number: int, created_at: datetime) -> Dossier:
    return Dossier(id=uuid.UUID(int=number), reference=f"GU-2027-{number:06d}", programme_id=uuid.uuid4(),
                   project_id=uuid.uuid4(), organisation_id=uuid.uuid4(), requested_total_cents=1, created_by="t",
                   created_at=created_at, updated_at=created_at)


def test_a_page_starts_its_index_range_at_the_cursor() -> None:
    session = _database()
    cursor = encode_cursor(SAME_INSTANT, uuid.UUID(int=7))
    statement = keyset(select(Dossier.id), Dossier, limit=50, cursor=cursor)
    compiled = statement.compile(session.get_bind())
    # The plan does not depend on the values: any of the right count.
    assert compiled.positiontup is not None  # SQLite's parameters are positional
    plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ("x",) * len(compiled.positiontup))
    steps = " ".join(str(row[-1]) for row in plan)
    assert "SEARCH dossiers USING COVERING INDEX ix_dossiers_created ((created_at,id)>(?,?))" in steps, steps


def test_rows_of_one_instant_are_split_by_id() -> None:
    session = _database()
    session.add_all([_dossier(number, SAME_INSTANT) for number in (5, 1, 4, 2, 3)])
    session.add(_dossier(6, datetime(2027, 3, 2, tzinfo=UTC)))
    session.commit()
    seen, cursor = [], None
    while True:
        rows = list(session.execute(keyset(select(Dossier), Dossier, limit=2, cursor=cursor)).scalars())
        page, cursor = split_page(rows, limit=2)
        seen += [row.id.int for row in page]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5, 6]
