"""Envelopes: what each funder puts into a programme for a year, the money committed on it, and its ledger.

Money moves with one conditional UPDATE (`committed + x <= total`) backed by CHECK constraints, never with a
read-check-write: on PostgreSQL two such reads would both see room and over-commit the envelope.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import get_row, utcnow
from common.money import euros
from common.pagination import decode_sequence, encode_sequence, keyset
from common.problems import Conflict, Forbidden, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.envelopes.schemas import EnvelopeCreate, EnvelopePublic, EnvelopeUpdate, MovementPublic
from services.funding.models.envelope import Envelope, EnvelopeMovement, MovementKind
from services.funding.programmes import repository as programmes_repository
from services.vocabulary import DESK_ROLES, FUNDER_ROLES

ENVELOPE_NOT_FOUND = Text("Enveloppe introuvable.", "Envelope not found.")
COMMITMENT_KINDS = (MovementKind.committed, MovementKind.released)
DOSSIER_KINDS = (*COMMITMENT_KINDS, MovementKind.paid)


# Rules used by the committees' decisions.


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
    row = await _move(
        session, envelope_id, condition=Envelope.committed_cents + amount_cents <= Envelope.total_cents,
        committed_cents=Envelope.committed_cents + amount_cents,
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
    envelope = await get_row(session, Envelope, envelope_id, for_update=True)
    if dossier_id is not None:
        # What the dossier already had paid stays committed: only the rest can go back.
        committed, paid = await _dossier_money(session, envelope_id, dossier_id)
        if amount_cents > committed - paid:
            raise _release_refused(envelope, amount_cents, dossier_money=(committed, paid))
    row = await _move(
        session, envelope_id, condition=Envelope.committed_cents - amount_cents >= Envelope.paid_cents,
        committed_cents=Envelope.committed_cents - amount_cents,
    )
    if row is None:
        raise _release_refused(await get_row(session, Envelope, envelope_id, for_update=True), amount_cents)
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
    envelope = await get_row(session, Envelope, envelope_id, for_update=True)
    committed, paid = await _dossier_money(session, envelope_id, dossier_id)
    if amount_cents > committed - paid:
        raise _paid_exceeded(envelope, amount_cents, dossier_money=(committed, paid))
    # The envelope's own bound, checked by the database on the row as the UPDATE locks it (see `commit`).
    row = await _move(
        session, envelope_id, condition=Envelope.paid_cents + amount_cents <= Envelope.committed_cents,
        paid_cents=Envelope.paid_cents + amount_cents,
    )
    if row is None:
        raise _paid_exceeded(await get_row(session, Envelope, envelope_id, for_update=True), amount_cents)
    return await _record(session, envelope_id, row, MovementKind.paid, amount_cents, dossier_id, actor)


async def _envelope_id(session: AsyncSession, *, funder_id: uuid.UUID, programme_id: uuid.UUID, year: int) -> uuid.UUID:
    statement = select(Envelope.id).where(
        Envelope.funder_id == funder_id, Envelope.programme_id == programme_id, Envelope.year == year
    )
    envelope_id = (await session.execute(statement)).scalar_one_or_none()
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


async def _move(session: AsyncSession, envelope_id: uuid.UUID, *, condition: Any, **values: Any) -> Any:
    """One conditional UPDATE of the envelope; the balances after it, or None when the condition failed."""
    statement = (
        update(Envelope)
        .where(Envelope.id == envelope_id, condition)
        .values(**values, version=Envelope.version + 1, updated_at=utcnow())
        .returning(Envelope.total_cents, Envelope.committed_cents, Envelope.paid_cents, Envelope.version)
        # Refreshes an Envelope this session already holds from the row the database returns.
        .execution_options(synchronize_session="fetch")
    )
    return (await session.execute(statement)).first()


async def _record(
    session: AsyncSession, envelope_id: uuid.UUID, row: Any, kind: MovementKind, amount_cents: int,
    dossier_id: uuid.UUID | None, actor: str,
) -> EnvelopeMovement:
    movement = EnvelopeMovement(
        envelope_id=envelope_id, sequence=row.version, kind=kind, amount_cents=amount_cents,
        total_cents=row.total_cents, committed_cents=row.committed_cents, paid_cents=row.paid_cents,
        dossier_id=dossier_id, actor=actor,
    )
    session.add(movement)
    await session.flush()
    return movement


async def _dossier_money(
    session: AsyncSession, envelope_id: uuid.UUID, dossier_id: uuid.UUID
) -> tuple[int, int]:
    """What the dossier has committed (commitments less releases) and been paid on the envelope, from its ledger."""
    is_paid = EnvelopeMovement.kind == MovementKind.paid
    statement = select(
        func.coalesce(func.sum(case((is_paid, 0), else_=EnvelopeMovement.amount_cents)), 0),
        func.coalesce(func.sum(case((is_paid, EnvelopeMovement.amount_cents), else_=0)), 0),
    ).where(
        EnvelopeMovement.envelope_id == envelope_id,
        EnvelopeMovement.dossier_id == dossier_id,
        EnvelopeMovement.kind.in_(DOSSIER_KINDS),
    )
    committed, paid = (await session.execute(statement)).one()
    return int(committed), int(paid)


def _balances(envelope: Envelope) -> dict[str, Any]:
    return {
        "envelope_id": str(envelope.id),
        "total_cents": envelope.total_cents,
        "committed_cents": envelope.committed_cents,
        "paid_cents": envelope.paid_cents,
        "available_cents": envelope.total_cents - envelope.committed_cents,
    }


async def _exceeded(session: AsyncSession, envelope_id: uuid.UUID, amount_cents: int) -> Conflict:
    envelope = (
        await session.execute(
            select(Envelope).where(Envelope.id == envelope_id).execution_options(populate_existing=True)
        )
    ).scalar_one()
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
        extra={**_balances(envelope), "amount_cents": amount_cents},
    )


def _dossier_extra(dossier_money: tuple[int, int]) -> dict[str, int]:
    committed, paid = dossier_money
    return {"dossier_committed_cents": committed, "dossier_paid_cents": paid}


def _release_refused(
    envelope: Envelope, amount_cents: int, *, dossier_money: tuple[int, int] | None = None
) -> Conflict:
    extra: dict[str, Any] = {**_balances(envelope), "amount_cents": amount_cents}
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
    extra: dict[str, Any] = {**_balances(envelope), "amount_cents": amount_cents}
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


# The envelopes' own life: opened by the funder's managers, read by its people and the desk.


async def open_envelope(
    session: AsyncSession, *, funder_id: uuid.UUID, programme_id: uuid.UUID, year: int, total_cents: int, actor: str
) -> Envelope:
    """A new envelope and the first line of its ledger; 409 when the funder has one for that programme and year."""
    envelope = Envelope(
        funder_id=funder_id, programme_id=programme_id, year=year, total_cents=total_cents, created_by=actor
    )
    try:
        # A savepoint: a concurrent opening of the same envelope fails on the unique constraint, and only that.
        async with session.begin_nested():
            session.add(envelope)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            Text(
                f"Votre organisation a déjà une enveloppe pour ce programme en {year}.",
                f"Your organisation already has an envelope for this programme in {year}.",
            ),
            code="envelope_exists",
            extra={"year": year, "programme_id": str(programme_id)},
        ) from exc
    session.add(_movement_of(envelope, MovementKind.opened, total_cents, actor))
    await session.flush()
    return envelope


async def create_envelope(session: AsyncSession, *, principal: Principal, request: EnvelopeCreate) -> EnvelopePublic:
    """The programme must exist and count the caller's organisation among its funders (422)."""
    funder_id = _funder_of(principal)
    programme = await programmes_repository.programme_by_id(session, request.programme_id)
    if programme is None:
        raise UnprocessableContent(
            Text("Programme inconnu.", "Unknown programme."),
            errors=[("body.programme_id", Text("Programme inconnu.", "Unknown programme."))],
        )
    funders = (await programmes_repository.funders_of_programmes(session, [programme.id]))[programme.id]
    if funder_id not in funders:
        raise UnprocessableContent(
            Text("Votre organisation ne finance pas ce programme.", "Your organisation does not fund this programme."),
            errors=[("body.programme_id", Text("Financeur hors du programme.", "Funder outside the programme."))],
            code="funder_not_in_programme",
        )
    existing = await session.execute(
        select(Envelope.id).where(
            Envelope.funder_id == funder_id, Envelope.programme_id == programme.id, Envelope.year == request.year
        )
    )
    if existing.first() is not None:  # said at once; the unique constraint settles a race (open_envelope)
        raise Conflict(
            Text(
                f"Votre organisation a déjà une enveloppe pour ce programme en {request.year}.",
                f"Your organisation already has an envelope for this programme in {request.year}.",
            ),
            code="envelope_exists",
            extra={"year": request.year, "programme_id": str(programme.id)},
        )
    envelope = await open_envelope(
        session, funder_id=funder_id, programme_id=programme.id, year=request.year,
        total_cents=request.total_cents, actor=principal.subject,
    )
    return to_public(envelope)


def _funder_of(principal: Principal) -> uuid.UUID:
    if principal.organisation_id is None:  # a funder's role always comes with its organisation
        raise Forbidden(Text("Seul un financeur ouvre ses enveloppes.", "Only a funder opens its envelopes."))
    return principal.organisation_id


def _sees_all(principal: Principal) -> bool:
    return principal.has_any_role(DESK_ROLES)


def _sees(principal: Principal, envelope: Envelope) -> bool:
    return _sees_all(principal) or (
        principal.has_any_role(FUNDER_ROLES) and envelope.funder_id == principal.organisation_id
    )


async def visible_envelope(session: AsyncSession, *, principal: Principal, envelope_id: uuid.UUID) -> Envelope:
    """The desk sees every envelope; a funder's people, their organisation's; anyone else gets the 404."""
    envelope = await session.get(Envelope, envelope_id)
    if envelope is None or not _sees(principal, envelope):
        raise NotFound(ENVELOPE_NOT_FOUND)
    return envelope


async def managed_envelope(session: AsyncSession, *, principal: Principal, envelope_id: uuid.UUID) -> Envelope:
    """An envelope of the caller's own organisation, locked for the change it is about to make."""
    envelope = await get_row(session, Envelope, envelope_id, for_update=True)
    if envelope is None or envelope.funder_id != principal.organisation_id:
        raise NotFound(ENVELOPE_NOT_FOUND)
    return envelope


async def visible_envelopes(
    session: AsyncSession,
    *,
    principal: Principal,
    programme_id: uuid.UUID | None,
    year: int | None,
    funder_id: uuid.UUID | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
) -> list[Envelope]:
    """The list counterpart of `visible_envelope`; `funder_id` narrows it further."""
    statement = select(Envelope)
    if not _sees_all(principal):
        statement = statement.where(Envelope.funder_id == principal.organisation_id)
    if funder_id is not None:
        statement = statement.where(Envelope.funder_id == funder_id)
    if programme_id is not None:
        statement = statement.where(Envelope.programme_id == programme_id)
    if year is not None:
        statement = statement.where(Envelope.year == year)
    if updated_since is not None:
        statement = statement.where(Envelope.updated_at >= updated_since)
    return list((await session.execute(keyset(statement, Envelope, limit=limit, cursor=cursor))).scalars())


async def change_total(
    session: AsyncSession, *, principal: Principal, envelope: Envelope, request: EnvelopeUpdate
) -> EnvelopePublic:
    """The same total again keeps the version; below what is committed, 409 (the envelope is locked meanwhile)."""
    if request.total_cents is None or request.total_cents == envelope.total_cents:
        return to_public(envelope)
    if request.total_cents < envelope.committed_cents:
        asked, committed = euros(request.total_cents), euros(envelope.committed_cents)
        raise Conflict(
            Text(
                f"L'enveloppe ne peut descendre à {asked.fr} : {committed.fr} sont déjà engagés.",
                f"The envelope cannot go down to {asked.en}: {committed.en} are already committed.",
            ),
            code="envelope_below_committed",
            extra={**_balances(envelope), "requested_total_cents": request.total_cents},
        )
    change = request.total_cents - envelope.total_cents
    envelope.total_cents = request.total_cents
    envelope.version += 1
    envelope.updated_at = utcnow()
    session.add(_movement_of(envelope, MovementKind.total_changed, change, principal.subject))
    await session.flush()
    return to_public(envelope)


def _movement_of(envelope: Envelope, kind: MovementKind, amount_cents: int, actor: str) -> EnvelopeMovement:
    return EnvelopeMovement(
        envelope_id=envelope.id, sequence=envelope.version, kind=kind, amount_cents=amount_cents,
        total_cents=envelope.total_cents, committed_cents=envelope.committed_cents, paid_cents=envelope.paid_cents,
        actor=actor,
    )


# The ledger, in the order of the envelope's versions.


async def ledger(
    session: AsyncSession, envelope: Envelope, *, limit: int, cursor: str | None
) -> tuple[list[MovementPublic], str | None]:
    statement = select(EnvelopeMovement).where(EnvelopeMovement.envelope_id == envelope.id)
    if cursor:
        statement = statement.where(EnvelopeMovement.sequence > decode_sequence(cursor))
    statement = statement.order_by(EnvelopeMovement.sequence).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars())
    page = rows[:limit]
    next_cursor = encode_sequence(page[-1].sequence) if len(rows) > limit else None
    return [movement_public(m) for m in page], next_cursor


def to_public(envelope: Envelope) -> EnvelopePublic:
    return EnvelopePublic(
        **envelope.model_dump(exclude={"created_by"}),
        available_cents=envelope.total_cents - envelope.committed_cents,
    )


def movement_public(movement: EnvelopeMovement) -> MovementPublic:
    return MovementPublic(
        **movement.model_dump(), available_cents=movement.total_cents - movement.committed_cents
    )
