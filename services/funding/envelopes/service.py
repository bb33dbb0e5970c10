"""Envelopes: what each funder puts into a programme for a year, opened and changed by its managers, read by its
people and the desk, with its ledger. The money committed, released and paid on it moves in money.py.
"""

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.money import euros
from common.pagination import encode_sequence
from common.problems import Conflict, Forbidden, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.envelopes import repository
from services.funding.envelopes.schemas import EnvelopeCreate, EnvelopePublic, EnvelopeUpdate, MovementPublic
from services.funding.models.envelope import Envelope, EnvelopeMovement, MovementKind
from services.funding.programmes import repository as programmes_repository


def balances(envelope: Envelope) -> dict[str, Any]:
    """What a refusal says of the envelope (money.py's too)."""
    return {
        "envelope_id": str(envelope.id),
        "total_cents": envelope.total_cents,
        "committed_cents": envelope.committed_cents,
        "paid_cents": envelope.paid_cents,
        "available_cents": envelope.total_cents - envelope.committed_cents,
    }


# The envelopes' own life: opened and changed by the funder's managers.


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
    existing = await repository.envelope_id_of(
        session, funder_id=funder_id, programme_id=programme.id, year=request.year
    )
    if existing is not None:  # said at once; the unique constraint settles a race (open_envelope)
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
            extra={**balances(envelope), "requested_total_cents": request.total_cents},
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
    """A page of the envelope's ledger, in the order of its versions, and the cursor of the next."""
    rows = await repository.ledger_page(session, envelope.id, limit=limit, cursor=cursor)
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
