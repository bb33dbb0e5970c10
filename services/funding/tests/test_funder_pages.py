"""A funder's pages of its agreements and of its dossiers, read through the index of its own rows: walked by small
pages they give each row it reads once, in (created_at, id) order, rows of one instant split by their id; a
multi-party agreement in every party's list (not only its lead funder's); nothing of another funder's.

The rows are written straight into funding's tables (as many ties as wanted, without a committee for each), and
what each caller reads is compared with the visibility rule written plainly in SQL, read from the same tables."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, exists, or_, select
from sqlmodel import col

from scripts import demo_data
from services.funding.models.agreement import Agreement, AgreementParty, Grant
from services.funding.models.dossier import Dossier, DossierRouting
from services.funding.tests.committee_helpers import ready
from services.funding.tests.helpers import CAF, PREFECTURE, VILLE, listed_ids
from services.funding.tests.test_small_projects import admitted, simplified, small  # noqa: F401  (a fixture)
from tests.support.clock import TEST_NOW
from tests.support.world import CITY_MANAGER, DESK, World, org_id

STATE_MANAGER = "direction@prefecture35.example"
CAF_MANAGER = "direction@caf35.example"
AGREEMENTS = "/api/v1/agreements"
DOSSIERS = "/api/v1/dossiers"
MANAGERS = {VILLE: CITY_MANAGER, PREFECTURE: STATE_MANAGER, CAF: CAF_MANAGER}
COUNT = 12
# Each dossier's agreement: (lead funder, the other parties); the city leads 0-3 with the State, the State leads 4-5
# with the city, and the others are one funder's.
AGREED = {**{i: (VILLE, [PREFECTURE]) for i in range(4)}, **{i: (PREFECTURE, [VILLE]) for i in (4, 5)},
          **{i: (VILLE, []) for i in range(6, 10)}, **{i: (CAF, []) for i in (10, 11)}}


def _instant(i: int) -> Any:
    """Three rows an instant: a page boundary falls inside one, where only the id orders them."""
    return TEST_NOW - timedelta(days=30) + timedelta(minutes=i // 3)


def _write(world: World) -> None:
    holder = uuid.UUID(org_id("blosne-avenir"))

    async def write() -> None:
        async with world.stack.apps["funding"].state.db.writer() as session:
            dossiers = [Dossier(reference=f"GU-2026-9{i:05d}", programme_id=demo_data.PROGRAMME_ID,
                                project_id=uuid.uuid4(), organisation_id=holder, state="in_instruction",
                                created_by="test", created_at=_instant(i), updated_at=_instant(i))
                        for i in range(COUNT)]
            session.add_all(dossiers)
            await session.flush()
            # Routed to the city one in two (and declined on one more: not the city's any longer), to the State one
            # in three; the routings' copy of the dossier's creation is left to the insert.
            for i, dossier in enumerate(dossiers):
                routings = [(VILLE, "routed")] if i % 2 == 0 else [(VILLE, "declined")] if i == 3 else []
                routings += [(PREFECTURE, "routed")] if i % 3 == 0 else []
                for funder, state in routings:
                    session.add(DossierRouting(dossier_id=dossier.id, funder_id=uuid.UUID(funder), state=state,
                                               amount_cents=100, routed_by="test"))
            for i, dossier in enumerate(dossiers):
                lead, others = AGREED[i]
                grants = [Grant(dossier_id=dossier.id, funder_id=uuid.UUID(funder), organisation_id=holder,
                                programme_id=demo_data.PROGRAMME_ID, year=TEST_NOW.year, amount_cents=100,
                                decided_at=_instant(i)) for funder in (lead, *others)]
                session.add_all(grants)
                await session.flush()
                agreement = Agreement(number=f"CV-TEST-{i:03d}", kind="convention", grant_id=grants[0].id,
                                      dossier_id=dossier.id, funder_id=uuid.UUID(lead), organisation_id=holder,
                                      object="Atelier", amount_cents=100 * len(grants), created_at=_instant(i),
                                      updated_at=_instant(i))
                session.add(agreement)
                await session.flush()
                if others:
                    session.add_all(AgreementParty(agreement_id=agreement.id, agreement_created_at=agreement.created_at,
                                                   funder_id=grant.funder_id, grant_id=grant.id) for grant in grants)
            await session.commit()

    world.stack.run(write)


def _expected(world: World, what: str, funder: str) -> list[str]:
    """The rule, plainly: a funder's agreements are those it leads or is a party to; its dossiers, those routed to
    it and not declined; in (created_at, id) order."""
    funder_id = uuid.UUID(funder)
    statement = (
        select(col(Agreement.id)).where(or_(col(Agreement.funder_id) == funder_id, col(Agreement.id).in_(
            select(col(AgreementParty.agreement_id)).where(col(AgreementParty.funder_id) == funder_id))))
        .order_by(col(Agreement.created_at), col(Agreement.id))
        if what == "agreements" else
        select(col(Dossier.id)).where(exists().where(
            col(DossierRouting.dossier_id) == col(Dossier.id), col(DossierRouting.funder_id) == funder_id,
            col(DossierRouting.state) == "routed"))
        .order_by(col(Dossier.created_at), col(Dossier.id))
    )

    async def read() -> list[str]:
        async with world.stack.apps["funding"].state.db.reader() as session:
            return [str(row) for row in (await session.execute(statement)).scalars()]

    return world.stack.run(read)


@pytest.fixture
def written(world: World) -> World:
    _write(world)
    return world


def _numbers(world: World, agreement_ids: list[str]) -> set[int]:
    """Which of the written agreements (by their index) these are."""
    listed = {item["id"]: item for item in world.as_("funding", DESK).get(AGREEMENTS, params={"limit": 200})
              .json()["items"]}
    return {int(listed[i]["number"].removeprefix("CV-TEST-")) for i in agreement_ids
            if listed.get(i, {}).get("number", "").startswith("CV-TEST-")}


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_a_funder_s_agreements_each_once_in_order_multi_party_ones_in_each_party_s(written: World, limit: int) -> None:
    for funder, email in MANAGERS.items():
        walked = listed_ids(written.as_("funding", email), AGREEMENTS, limit=limit)
        assert walked == _expected(written, "agreements", funder), funder
    city, state, caf = (set(listed_ids(written.as_("funding", MANAGERS[f]), AGREEMENTS, limit=200))
                        for f in (VILLE, PREFECTURE, CAF))
    assert _numbers(written, sorted(city)) == set(range(10))  # leading 0-3 and 6-9, a party to 4-5
    assert _numbers(written, sorted(state)) == set(range(6))  # leading 4-5, a party to 0-3
    assert _numbers(written, sorted(caf)) == {10, 11}


def test_the_desk_narrowed_to_a_funder_reads_that_funder_s_agreements(written: World) -> None:
    desk = written.as_("funding", DESK)
    for funder in MANAGERS:
        assert listed_ids(desk, AGREEMENTS, limit=2, funder_id=funder) == _expected(written, "agreements", funder)


def test_a_funder_narrowed_to_another_reads_the_agreements_they_share(written: World) -> None:
    shared = listed_ids(written.as_("funding", CITY_MANAGER), AGREEMENTS, limit=2, funder_id=PREFECTURE)
    assert _numbers(written, shared) == set(range(6))
    assert shared == [i for i in _expected(written, "agreements", VILLE) if i in set(shared)]
    assert listed_ids(written.as_("funding", CITY_MANAGER), AGREEMENTS, limit=2, funder_id=CAF) == []


def test_a_funder_s_filtered_agreements_page_by_page(written: World) -> None:
    """A filter narrows each of the funder's two pages before their limit: no page comes short of a row."""
    city = written.as_("funding", CITY_MANAGER)
    every = {i: a for i, a in ((a["id"], a) for a in city.get(AGREEMENTS, params={"limit": 200}).json()["items"])}
    written_ids = [i for i in _expected(written, "agreements", VILLE) if every[i]["number"].startswith("CV-TEST-")]
    first = written_ids[0]
    narrowed = listed_ids(city, AGREEMENTS, limit=1, dossier_id=every[first]["dossier_id"])
    assert narrowed == [first]


@pytest.mark.parametrize("view", ["summary", "full"])
@pytest.mark.parametrize("limit", [1, 2, 50])
def test_a_funder_s_dossiers_each_once_in_order_only_those_routed_to_it(written: World, view: str, limit: int) -> None:
    for funder, email in MANAGERS.items():
        walked = listed_ids(written.as_("funding", email), DOSSIERS, limit=limit, view=view)
        assert walked == _expected(written, "dossiers", funder), funder
    references = {d["id"]: d["reference"] for d in written.as_("funding", DESK).get(
        DOSSIERS, params={"limit": 200, "view": "summary"}).json()["items"]}
    city = {references[i] for i in listed_ids(written.as_("funding", CITY_MANAGER), DOSSIERS, limit=200)}
    # Routed to the city: the even ones; the third was declined by it.
    assert {r for r in city if r.startswith("GU-2026-9")} == {f"GU-2026-9{i:05d}" for i in range(0, COUNT, 2)}
    assert listed_ids(written.as_("funding", CAF_MANAGER), DOSSIERS, limit=2) == _expected(written, "dossiers", CAF)


def test_a_funder_s_narrowed_dossiers_page_by_page(written: World) -> None:
    city = written.as_("funding", CITY_MANAGER)
    walked = listed_ids(city, DOSSIERS, limit=1, state="in_instruction", view="summary")
    states = {d["id"]: d["state"] for d in city.get(DOSSIERS, params={"limit": 200, "view": "summary"}).json()["items"]}
    assert walked == [i for i in _expected(written, "dossiers", VILLE) if states[i] == "in_instruction"]
    assert len(walked) >= COUNT // 2


def test_a_routing_carries_its_dossier_s_creation_whoever_routes_it(
    world: World, small: dict[str, Any]  # noqa: F811
) -> None:
    """Routed by the desk (instruction) and, a small project, to its lead funder at admissibility."""
    instructed = ready(world, plan=[{"funder_id": VILLE, "amount_cents": 1_000_000}])
    delegated = admitted(world, simplified(world, small))

    async def read() -> list[tuple[Any, Any, Any]]:
        async with world.stack.apps["funding"].state.db.reader() as session:
            return list((await session.execute(
                select(col(Dossier.id), col(DossierRouting.dossier_created_at), col(Dossier.created_at))
                .join(Dossier, col(Dossier.id) == col(DossierRouting.dossier_id)))).all())

    rows = world.stack.run(read)
    assert {instructed["id"], delegated["id"]} <= {str(dossier_id) for dossier_id, _, _ in rows}
    assert all(copied == created for _, copied, created in rows)
    assert {instructed["id"], delegated["id"]} <= set(listed_ids(world.as_("funding", CITY_MANAGER), DOSSIERS, limit=1))


def _plans(world: World, backend: str, url: str, params: dict[str, Any], marker: str) -> list[str]:
    """The plan of each statement naming `marker` that a funder's page ran (the city's, from a cursor), as the
    backend makes it: PostgreSQL told to take no sequential scan, as it would not at a country's size."""
    engine = world.stack.apps["funding"].state.db.engine.sync_engine
    ran: list[tuple[str, Any]] = []

    def seen(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if marker in statement:
            ran.append((statement, parameters))

    first = world.as_("funding", CITY_MANAGER).get(url, params={**params, "limit": 1}).json()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert world.as_("funding", CITY_MANAGER).get(url, params={
            **params, "limit": 1, "cursor": first["next_cursor"]}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    async def explain() -> list[str]:
        async with world.stack.apps["funding"].state.db.reader() as session:
            connection = await session.connection()
            if backend == "postgres":
                await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
            return [" ".join(str(row[-1]) for row in await connection.exec_driver_sql(prefix + statement, parameters))
                    for statement, parameters in ran]

    return world.stack.run(explain)


def test_a_funder_s_page_from_a_cursor_starts_its_index_ranges_there(written: World, backend: str) -> None:
    """What keeps a page's cost from growing with the funder's rows: each of its index scans starts at the cursor
    (a row-value bound on the index's columns after the funder), none reads the funder's rows from the first."""
    [dossiers] = _plans(written, backend, DOSSIERS, {"view": "summary"}, "dossier_routings.dossier_id) >")
    [agreements] = _plans(written, backend, AGREEMENTS, {}, "agreement_parties.agreement_id) >")
    if backend == "sqlite":
        assert ("ix_dossier_routings_funder_dossier_created (funder_id=? AND state=? AND "
                "(dossier_created_at,dossier_id)>(?,?))") in dossiers, dossiers
        assert "ix_agreements_funder_created (funder_id=? AND (created_at,id)>(?,?))" in agreements, agreements
        assert ("ix_agreement_parties_funder_created (funder_id=? AND "
                "(agreement_created_at,agreement_id)>(?,?))") in agreements, agreements
    else:
        assert "ix_dossier_routings_funder_dossier_created on dossier_routings" in dossiers, dossiers
        assert "AND (ROW(dossier_created_at, dossier_id) > ROW(" in dossiers, dossiers
        assert "ix_agreements_funder_created on agreements" in agreements, agreements
        assert "(funder_id = '" + VILLE + "'::uuid) AND (ROW(created_at, id) > ROW(" in agreements, agreements
        assert "ix_agreement_parties_funder_created on agreement_parties" in agreements, agreements
        assert "AND (ROW(agreement_created_at, agreement_id) > ROW(" in agreements, agreements
