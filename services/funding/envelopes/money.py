"""The money on an envelope, moved by the decisions and the payments: committed, released, paid, each move
written in the ledger.

Money moves with one conditional UPDATE (`committed + x <= total`) backed by CHECK constraints, never with a
read-check-write: on PostgreSQL two such reads would both see room and over-commit the envelope.
"""

import uuid
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.money import euros
from common.problems import Conflict, Text
from services.funding.envelopes import repository
from services.funding.envelopes.service import balances
from services.funding.models.envelope import Envelope, EnvelopeMovement, MovementKind


async def commit(
    session: AsyncSession,
    *,
    funder_id: uuid.UUID,
    programme_id: uuid.UUID,
    year: int,
    amount_cents: int,
    dossier_id: uuid.UUID | None,
    actor: str,
) -> EnvelopeMovement:
    """Commit money on the funder's envelope in the caller's transaction, or 409 when it cannot cover it."""
    if amount_cents <= 0:
        raise ValueError("a commitment is a positive amount")
    envelope_id = await _envelope_id(session, funder_id=funder_id, programme_id=programme_id, year=year)
    # The condition is checked by the database on the row as it stands when the UPDATE takes its lock: two
    # commitments can never both see the same room. No row back (rowcount 0): the envelope cannot cover the amount.
    row = await repository.move(
        session, envelope_id, condition=col(Envelope.committed_cents) + amount_cents <= col(Envelope.total_cents),
        committed_cents=col(Envelope.committed_cents) + amount_cents,
    )
    if row is None:
        raise await _exceeded(session, envelope_id, amount_cents)
    return await _record(session, envelope_id, row, MovementKind.committed, amount_cents, dossier_id, actor)


async def release(
    session: AsyncSession,
    *,
    funder_id: uuid.UUID,
    programme_id: uuid.UUID,
    year: int,
    amount_cents: int,
    dossier_id: uuid.UUID | None,
    actor: str,
) -> EnvelopeMovement:
    """Give back committed money (never below what is paid, nor more than the dossier holds and was not paid to it),
    or 409 `envelope_release_exceeded`."""
    if amount_cents <= 0:
        raise ValueError("a release is a positive amount")
    envelope_id = await _envelope_id(session, funder_id=funder_id, programme_id=programme_id, year=year)
    # Locked first, so that the dossier's share read next cannot change before the UPDATE (two releases of the
    # same dossier at once); the UPDATE keeps its own condition all the same.
    envelope = await repository.locked_by_id(session, envelope_id)
    if dossier_id is not None:
        # What the dossier already had paid stays committed: only the rest can go back.
        committed, paid = await repository.dossier_money(session, envelope_id, dossier_id)
        if amount_cents > committed - paid:
            raise _release_refused(envelope, amount_cents, dossier_money=(committed, paid))
    row = await repository.move(
        session, envelope_id, condition=col(Envelope.committed_cents) - amount_cents >= col(Envelope.paid_cents),
        committed_cents=col(Envelope.committed_cents) - amount_cents,
    )
    if row is None:
        raise _release_refused(await repository.locked_by_id(session, envelope_id), amount_cents)
    return await _record(session, envelope_id, row, MovementKind.released, -amount_cents, dossier_id, actor)


async def pay(
    session: AsyncSession,
    *,
    funder_id: uuid.UUID,
    programme_id: uuid.UUID,
    year: int,
    amount_cents: int,
    dossier_id: uuid.UUID,
    actor: str,
) -> EnvelopeMovement:
    """Pay committed money to a dossier in the caller's transaction; 409 `envelope_paid_exceeded` beyond what the
    dossier, or the envelope, has committed and not yet paid."""
    if amount_cents <= 0:
        raise ValueError("a payment is a positive amount")
    envelope_id = await _envelope_id(session, funder_id=funder_id, programme_id=programme_id, year=year)
    # Locked first, as in `release`: two payments of the same dossier at once cannot both read the same unpaid rest.
    envelope = await repository.locked_by_id(session, envelope_id)
    committed, paid = await repository.dossier_money(session, envelope_id, dossier_id)
    if amount_cents > committed - paid:
        raise _paid_exceeded(envelope, amount_cents, dossier_money=(committed, paid))
    # The envelope's own bound, checked by the database on the row as the UPDATE locks it (see `commit`).
    row = await repository.move(
        session, envelope_id, condition=col(Envelope.paid_cents) + amount_cents <= col(Envelope.committed_cents),
        paid_cents=col(Envelope.paid_cents) + amount_cents,
    )
    if row is None:
        raise _paid_exceeded(await repository.locked_by_id(session, envelope_id), amount_cents)
    return await _record(session, envelope_id, row, MovementKind.paid, amount_cents, dossier_id, actor)


async def _envelope_id(session: AsyncSession, *, funder_id: uuid.UUID, programme_id: uuid.UUID, year: int) -> uuid.UUID:
    envelope_id = await repository.envelope_id_of(session, funder_id=funder_id, programme_id=programme_id, year=year)
    if envelope_id is None:
        raise Conflict(
            Text(
                f"Le financeur n'a pas d'enveloppe pour ce programme en {year}.",
                f"The funder has no envelope for this programme in {year}.",
            ),
            code="envelope_missing",
            extra={"funder_id": str(funder_id), "programme_id": str(programme_id), "year": year},
        )
    return envelope_id


async def _record(
    session: AsyncSession, envelope_id: uuid.UUID, row: Row[int, int, int, int], kind: MovementKind,
    amount_cents: int, dossier_id: uuid.UUID | None, actor: str,
) -> EnvelopeMovement:
    total, committed, paid, version = row
    movement = EnvelopeMovement(
        envelope_id=envelope_id, sequence=version, kind=kind, amount_cents=amount_cents, total_cents=total,
        committed_cents=committed, paid_cents=paid, dossier_id=dossier_id, actor=actor,
    )
    session.add(movement)
    await session.flush()
    return movement


async def _exceeded(session: AsyncSession, envelope_id: uuid.UUID, amount_cents: int) -> Conflict:
    envelope = await repository.refreshed(session, envelope_id)
    total, committed = euros(envelope.total_cents), euros(envelope.committed_cents)
    available, asked = euros(envelope.total_cents - envelope.committed_cents), euros(amount_cents)
    return Conflict(
        Text(
            f"L'enveloppe ne peut couvrir {asked.fr} : total {total.fr}, déjà engagé {committed.fr}, "
            f"disponible {available.fr}.",
            f"The envelope cannot cover {asked.en}: total {total.en}, already committed {committed.en}, "
            f"available {available.en}.",
        ),
        code="envelope_exceeded",
        extra={**balances(envelope), "amount_cents": amount_cents},
    )


def _dossier_extra(dossier_money: tuple[int, int]) -> dict[str, int]:
    committed, paid = dossier_money
    return {"dossier_committed_cents": committed, "dossier_paid_cents": paid}


def _release_refused(
    envelope: Envelope, amount_cents: int, *, dossier_money: tuple[int, int] | None = None
) -> Conflict:
    extra: dict[str, Any] = {**balances(envelope), "amount_cents": amount_cents}
    if dossier_money is not None:
        extra.update(_dossier_extra(dossier_money))
        held = euros(dossier_money[0] - dossier_money[1])
        detail = Text(
            f"Le dossier n'a que {held.fr} engagés et non versés sur cette enveloppe.",
            f"The dossier only has {held.en} committed and not paid on this envelope.",
        )
    else:
        releasable = euros(envelope.committed_cents - envelope.paid_cents)
        detail = Text(
            f"Seuls {releasable.fr} engagés et non versés peuvent être libérés.",
            f"Only {releasable.en} committed and not paid can be released.",
        )
    return Conflict(detail, code="envelope_release_exceeded", extra=extra)


def _paid_exceeded(envelope: Envelope, amount_cents: int, *, dossier_money: tuple[int, int] | None = None) -> Conflict:
    """One code whether the dossier's rest or the envelope's is short: `dossier_committed_cents` and
    `dossier_paid_cents` in `extra` say it was the dossier's."""
    extra: dict[str, Any] = {**balances(envelope), "amount_cents": amount_cents}
    asked = euros(amount_cents)
    if dossier_money is not None:
        extra.update(_dossier_extra(dossier_money))
        committed, paid, unpaid = (euros(c) for c in (*dossier_money, dossier_money[0] - dossier_money[1]))
        detail = Text(
            f"Le dossier ne peut recevoir {asked.fr} : engagé pour lui {committed.fr}, déjà versé {paid.fr}, "
            f"reste à verser {unpaid.fr}.",
            f"The dossier cannot be paid {asked.en}: committed for it {committed.en}, already paid {paid.en}, "
            f"left to pay {unpaid.en}.",
        )
    else:
        committed, paid = euros(envelope.committed_cents), euros(envelope.paid_cents)
        unpaid = euros(envelope.committed_cents - envelope.paid_cents)
        detail = Text(
            f"L'enveloppe ne peut verser {asked.fr} : engagé {committed.fr}, déjà versé {paid.fr}, "
            f"reste à verser {unpaid.fr}.",
            f"The envelope cannot pay {asked.en}: committed {committed.en}, already paid {paid.en}, "
            f"left to pay {unpaid.en}.",
        )
    return Conflict(detail, code="envelope_paid_exceeded", extra=extra)
