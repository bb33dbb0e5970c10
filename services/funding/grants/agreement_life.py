"""An agreement's life: drafted → sent → signed by both sides → active → ended (a decision letter is in force
once notified); who may make each move, and the agreement as its reader sees it."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, Text
from common.tokens import Principal
from services.funding.dossiers import repository as dossiers_repository
from services.funding.exports import open_data
from services.funding.grants import agreements_repository
from services.funding.grants.schemas import AgreementPublic, PartyPublic
from services.funding.models.agreement import Agreement, AgreementKind, AgreementParty, AgreementState
from services.funding.peers import Peers
from services.vocabulary import Role

FUNDER_SIGNERS = frozenset({Role.funder_manager})
HOLDER_SIGNERS = frozenset({Role.holder_admin})


def _funders(agreement: Agreement, parties: list[AgreementParty]) -> set[uuid.UUID]:
    return {agreement.funder_id} | {party.funder_id for party in parties}


@dataclass(frozen=True)
class Parties:
    funder: str
    holder: str
    project: str


async def party_names(session: AsyncSession, peers: Peers, agreement: Agreement) -> Parties:
    """The parties as identity names them today (every funder of a multi-party agreement), and the project as
    the dossier froze it."""
    parties = await agreements_repository.parties_of(session, agreement.id)
    funders = [party.funder_id for party in parties] or [agreement.funder_id]
    cards = await peers.organisations([*funders, agreement.organisation_id])
    dossier = await dossiers_repository.dossier_by_id(session, agreement.dossier_id)
    assert dossier is not None  # a foreign key
    return Parties(
        funder=", ".join((cards[funder] or {}).get("name") or str(funder) for funder in funders),
        holder=(cards[agreement.organisation_id] or {}).get("name") or str(agreement.organisation_id),
        project=(dossier.project_snapshot or {}).get("title") or dossier.reference,
    )


def _side(principal: Principal, agreement: Agreement, parties: list[AgreementParty]) -> str | None:
    """Which party the caller speaks for: the (lead) funder's manager, another party's manager, or the
    association's admin."""
    if principal.has_any_role(FUNDER_SIGNERS):
        if principal.organisation_id == agreement.funder_id:
            return "funder"
        if principal.organisation_id in _funders(agreement, parties):
            return "co_funder"
    if principal.has_any_role(HOLDER_SIGNERS) and principal.organisation_id == agreement.organisation_id:
        return "holder"
    return None


def _funder_signed(principal: Principal, agreement: Agreement, parties: list[AgreementParty]) -> bool:
    mine = next((party for party in parties if party.funder_id == principal.organisation_id), None)
    return mine.signed_at is not None if mine is not None else agreement.funder_signed_at is not None


def allowed_actions(
    principal: Principal, agreement: Agreement, parties: list[AgreementParty] | None = None
) -> list[str]:
    """The moves open to the caller. The lead funder sends, activates and ends; each funder party signs once,
    and so does the association."""
    parties = parties or []
    side = _side(principal, agreement, parties)
    state = agreement.state
    unsigned = state == AgreementState.sent and not _funder_signed(principal, agreement, parties)
    if side == "funder":
        moves: dict[str, list[str]] = {
            AgreementState.drafted: ["send"],
            AgreementState.sent: ["sign"] if unsigned else [],
            AgreementState.signed: ["activate"],
            AgreementState.active: ["end"],
        }
        return moves.get(state, [])
    if side == "co_funder":
        return ["sign"] if unsigned else []
    if side == "holder" and state == AgreementState.sent and agreement.holder_signed_at is None:
        return ["sign"]
    return []


def _refuse(agreement: Agreement, action: str, allowed: list[str]) -> Conflict:
    return Conflict(
        Text(
            f"Action « {action} » impossible sur une convention « {agreement.state} ».",
            f"Action '{action}' is not allowed on a '{agreement.state}' agreement.",
        ),
        code="illegal_transition",
        extra={"state": agreement.state, "allowed_actions": allowed},
    )


def _require(
    principal: Principal, agreement: Agreement, action: str, parties: list[AgreementParty] | None = None
) -> None:
    allowed = allowed_actions(principal, agreement, parties)
    if action not in allowed:
        raise _refuse(agreement, action, allowed)


def _moved(agreement: Agreement) -> None:
    agreement.version += 1
    agreement.updated_at = utcnow()


async def send(
    session: AsyncSession, principal: Principal, agreement: Agreement, now: datetime, cards: open_data.Cards
) -> None:
    """The funder sends it to the association; a decision letter is in force once notified, and published as
    open data (`cards`: identity's, of the parties, read before the lock)."""
    _require(principal, agreement, "send")
    agreement.sent_at, agreement.sent_by = now, principal.subject
    if agreement.kind == AgreementKind.decision_letter:
        agreement.state, agreement.activated_at = AgreementState.active, now
    else:
        agreement.state = AgreementState.sent
    _moved(agreement)
    await open_data.publish(session, agreement, cards)


async def sign(
    session: AsyncSession, principal: Principal, agreement: Agreement, now: datetime, cards: open_data.Cards
) -> None:
    """Each side signs once — each funder party of a multi-party agreement, for its share; with every
    signature the convention is signed, i.e. concluded, and published as open data (`cards` as for `send`)."""
    parties = await agreements_repository.parties_of(session, agreement.id)
    _require(principal, agreement, "sign", parties)
    side = _side(principal, agreement, parties)
    if side == "holder":
        agreement.holder_signed_at, agreement.holder_signed_by = now, principal.subject
    elif parties:
        mine = next(party for party in parties if party.funder_id == principal.organisation_id)
        mine.signed_at, mine.signed_by = now, principal.subject
        if all(party.signed_at for party in parties):
            agreement.funder_signed_at, agreement.funder_signed_by = now, principal.subject
    else:
        agreement.funder_signed_at, agreement.funder_signed_by = now, principal.subject
    if agreement.funder_signed_at and agreement.holder_signed_at:
        agreement.state = AgreementState.signed
    _moved(agreement)
    await open_data.publish(session, agreement, cards)


def activate(principal: Principal, agreement: Agreement, now: datetime) -> None:
    _require(principal, agreement, "activate")
    agreement.state, agreement.activated_at = AgreementState.active, now
    _moved(agreement)


async def end(session: AsyncSession, principal: Principal, agreement: Agreement, now: datetime) -> None:
    """Once every payment is paid or cancelled."""
    _require(principal, agreement, "end")
    outstanding = await agreements_repository.outstanding_sequences(session, agreement.id)
    if outstanding:
        raise Conflict(
            Text("Des versements restent à faire ou à annuler.", "Some payments are still to be paid or cancelled."),
            code="payments_outstanding",
            extra={"sequences": outstanding},
        )
    agreement.state, agreement.ended_at = AgreementState.ended, now
    _moved(agreement)


async def to_public(session: AsyncSession, principal: Principal, agreement: Agreement) -> AgreementPublic:
    [public] = await to_public_many(session, principal, [agreement])
    return public


async def to_public_many(
    session: AsyncSession, principal: Principal, agreements: list[Agreement]
) -> list[AgreementPublic]:
    """Agreements as the caller reads them: three queries for a page (their dossiers' references, their grants'
    programme years, their parties), not three for each agreement."""
    references = await dossiers_repository.references_of(session, [a.dossier_id for a in agreements])
    years = await agreements_repository.programme_years(session, [a.grant_id for a in agreements])
    parties_by_agreement = await agreements_repository.parties_of_many(session, [a.id for a in agreements])
    public = []
    for agreement in agreements:
        parties = parties_by_agreement[agreement.id]
        amounts = {entry["funder_id"]: entry["amount_cents"] for entry in agreement.terms.get("parties", [])}
        public.append(AgreementPublic(
            **agreement.model_dump(exclude={"sent_by", "funder_signed_by", "holder_signed_by"}),
            # Foreign keys: every agreement has its dossier and its grant.
            reference=references[agreement.dossier_id][0], thread_reference=references[agreement.dossier_id][1],
            year=years[agreement.grant_id],
            allowed_actions=allowed_actions(principal, agreement, parties),
            parties=[PartyPublic(funder_id=party.funder_id, grant_id=party.grant_id,
                                 amount_cents=amounts.get(str(party.funder_id), 0), signed_at=party.signed_at)
                     for party in parties],
        ))
    return public
