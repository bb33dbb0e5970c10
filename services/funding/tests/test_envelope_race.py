"""Races on an envelope, on both databases: commitments at once through separate writer sessions never commit more
than the envelope holds, lowering the total while they run never leaves committed above total, and payments at once
never pay more than is committed."""

import uuid
from functools import partial
from typing import Any

import anyio
import pytest
from sqlalchemy import select
from sqlmodel import col

from common.problems import Problem
from services.funding.envelopes import money
from services.funding.models.envelope import Envelope, EnvelopeMovement
from services.funding.tests.helpers import PROGRAMME_ID, VILLE
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, World

ENVELOPES = "/api/v1/envelopes"
CALLS = 40
HUNDRED_EUROS = 10_000
THOUSAND_EUROS = 100_000


def _open(world: World, total_cents: int) -> dict[str, Any]:
    response = world.as_("funding", CITY_MANAGER).post(
        ENVELOPES, json={"programme_id": PROGRAMME_ID, "year": TODAY.year + 1, "total_cents": total_cents}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _commit_alone(
    world: World, envelope: dict[str, Any], dossier_id: str, *, rule: Any = money.commit,
    amount_cents: int = HUNDRED_EUROS,
) -> object:
    """One commitment (or another `rule` of `envelopes`) in its own writer session and transaction: the movement,
    or the exception it ended with."""
    try:
        async with world.stack.apps["funding"].state.db.writer() as session:
            movement = await rule(
                session, funder_id=uuid.UUID(VILLE), programme_id=uuid.UUID(PROGRAMME_ID), year=envelope["year"],
                amount_cents=amount_cents, dossier_id=uuid.UUID(dossier_id), actor="committee",
            )
            await session.commit()
            return movement
    except Exception as error:  # every kind is recorded: the test says which ones may happen
        return error


def _stored(world: World, envelope_id: str) -> tuple[Envelope, list[EnvelopeMovement]]:
    async def read() -> tuple[Envelope, list[EnvelopeMovement]]:
        async with world.stack.apps["funding"].state.db.reader() as session:
            row = await session.get(Envelope, uuid.UUID(envelope_id))
            movements = await session.execute(
                select(EnvelopeMovement)
                .where(EnvelopeMovement.envelope_id == row.id)
                .order_by(col(EnvelopeMovement.sequence))
            )
            return row, list(movements.scalars())

    return world.stack.run(read)


def _check_ledger(envelope: Envelope, ledger: list[EnvelopeMovement]) -> None:
    """The ledger replayed from its first line gives every balance it records, and the envelope's."""
    assert [m.sequence for m in ledger] == list(range(1, len(ledger) + 1))
    total = committed = paid = 0
    for movement in ledger:
        if movement.kind in ("opened", "total_changed"):
            total += movement.amount_cents
        elif movement.kind in ("committed", "released"):
            committed += movement.amount_cents
        elif movement.kind == "paid":
            paid += movement.amount_cents
        else:
            raise AssertionError(f"a movement the replay does not know: {movement}")
        assert (movement.total_cents, movement.committed_cents, movement.paid_cents) == (total, committed, paid), (
            movement
        )
        assert 0 <= movement.paid_cents <= movement.committed_cents <= movement.total_cents, movement
    assert (envelope.total_cents, envelope.committed_cents, envelope.paid_cents, envelope.version) == (
        total, committed, paid, len(ledger),
    )
    commitments = sum(m.amount_cents for m in ledger if m.kind in ("committed", "released"))
    assert commitments == envelope.committed_cents


def test_forty_commitments_of_100_euros_on_1000_euros_let_exactly_ten_through(world: World) -> None:
    envelope = _open(world, THOUSAND_EUROS)
    dossier = world.create_dossier()
    results: list[object] = [None] * CALLS

    async def race() -> None:
        async def one(index: int) -> None:
            results[index] = await _commit_alone(world, envelope, dossier["id"])

        async with anyio.create_task_group() as group:
            for index in range(CALLS):
                group.start_soon(one, index)

    world.stack.run(race)

    granted = [r for r in results if isinstance(r, EnvelopeMovement)]
    refused = [r for r in results if isinstance(r, Problem)]
    others = [r for r in results if not isinstance(r, EnvelopeMovement | Problem)]
    assert others == [], others
    assert len(granted) == 10
    assert len(refused) == CALLS - 10
    assert {(p.status, p.code) for p in refused} == {(409, "envelope_exceeded")}
    assert all(p.extra["amount_cents"] == HUNDRED_EUROS for p in refused)
    assert all(p.extra["available_cents"] < HUNDRED_EUROS for p in refused)
    assert sorted(m.committed_cents for m in granted) == [HUNDRED_EUROS * n for n in range(1, 11)]

    stored, ledger = _stored(world, envelope["id"])
    assert stored.committed_cents == THOUSAND_EUROS == stored.total_cents
    assert [m.kind for m in ledger] == ["opened"] + ["committed"] * 10
    assert {m.dossier_id for m in ledger[1:]} == {uuid.UUID(dossier["id"])}
    _check_ledger(stored, ledger)
    read = world.as_("funding", CITY_MANAGER).get(f"{ENVELOPES}/{envelope['id']}")
    assert read.json()["available_cents"] == 0 and read.headers["etag"] == '"11"'


@pytest.mark.parametrize("lowered_to", [50_000, 0])
def test_lowering_the_total_while_commitments_run_never_leaves_committed_above_total(
    world: World, lowered_to: int
) -> None:
    envelope = _open(world, THOUSAND_EUROS)
    dossier = world.create_dossier()
    api = world.as_("funding", CITY_MANAGER)
    url = f"{ENVELOPES}/{envelope['id']}"
    commitments: list[object] = [None] * 20
    changes: list[Any] = [None] * 6

    async def race() -> None:
        async def commit(index: int) -> None:
            commitments[index] = await _commit_alone(world, envelope, dossier["id"])

        async def lower(index: int) -> None:
            # If-Match "*": the change is about the total only, whatever the commitments did to the version.
            changes[index] = await api.client.patch(
                url, json={"total_cents": lowered_to},
                headers={"Authorization": f"Bearer {api.token}", "If-Match": "*"},
            )

        async with anyio.create_task_group() as group:
            for index in range(len(commitments)):
                group.start_soon(commit, index)
                if index % 4 == 0:
                    group.start_soon(lower, index // 4)
            group.start_soon(lower, len(changes) - 1)

    world.stack.run(race)

    assert not [r for r in commitments if not isinstance(r, EnvelopeMovement | Problem)]
    granted = [r for r in commitments if isinstance(r, EnvelopeMovement)]
    assert {p.code for p in commitments if isinstance(p, Problem)} <= {"envelope_exceeded"}
    lowered = [answer for answer in changes if answer.status_code == 200]
    for answer in changes:
        assert answer.status_code in (200, 409), answer.text
        if answer.status_code == 409:
            assert problem(answer)["code"] == "envelope_below_committed"
            assert problem(answer)["committed_cents"] > lowered_to
        else:
            assert answer.json()["committed_cents"] <= lowered_to

    stored, ledger = _stored(world, envelope["id"])
    assert stored.committed_cents <= stored.total_cents
    assert stored.committed_cents == HUNDRED_EUROS * len(granted)
    assert stored.total_cents == (lowered_to if lowered else THOUSAND_EUROS)
    # the first change that went through moved the total; the others found it already there and kept the version
    assert [m.kind for m in ledger].count("total_changed") == (1 if lowered else 0)
    _check_ledger(stored, ledger)


def test_twenty_payments_of_100_euros_on_600_euros_committed_let_exactly_six_through(world: World) -> None:
    envelope = _open(world, THOUSAND_EUROS)
    dossier = world.create_dossier()
    committed = world.stack.run(partial(_commit_alone, world, envelope, dossier["id"], amount_cents=6 * HUNDRED_EUROS))
    assert isinstance(committed, EnvelopeMovement), committed
    results: list[object] = [None] * 20

    async def race() -> None:
        async def one(index: int) -> None:
            results[index] = await _commit_alone(world, envelope, dossier["id"], rule=money.pay)

        async with anyio.create_task_group() as group:
            for index in range(len(results)):
                group.start_soon(one, index)

    world.stack.run(race)

    paid = [r for r in results if isinstance(r, EnvelopeMovement)]
    refused = [r for r in results if isinstance(r, Problem)]
    others = [r for r in results if not isinstance(r, EnvelopeMovement | Problem)]
    assert others == [], others
    assert len(paid) == 6
    assert len(refused) == 14
    assert {(p.status, p.code) for p in refused} == {(409, "envelope_paid_exceeded")}
    assert all(p.extra["amount_cents"] == HUNDRED_EUROS for p in refused)
    # every refusal saw all six payments: none was let through on a stale read of what was left to pay
    assert {(p.extra["committed_cents"], p.extra["paid_cents"]) for p in refused} == {(60_000, 60_000)}
    assert sorted(m.paid_cents for m in paid) == [HUNDRED_EUROS * n for n in range(1, 7)]
    assert {(m.kind, m.amount_cents, m.committed_cents) for m in paid} == {("paid", HUNDRED_EUROS, 60_000)}

    stored, ledger = _stored(world, envelope["id"])
    assert (stored.total_cents, stored.committed_cents, stored.paid_cents) == (THOUSAND_EUROS, 60_000, 60_000)
    assert [m.kind for m in ledger] == ["opened", "committed"] + ["paid"] * 6
    assert {m.dossier_id for m in ledger[1:]} == {uuid.UUID(dossier["id"])}
    _check_ledger(stored, ledger)
    read = world.as_("funding", CITY_MANAGER).get(f"{ENVELOPES}/{envelope['id']}").json()
    assert (read["paid_cents"], read["available_cents"], read["version"]) == (60_000, 40_000, 8)
