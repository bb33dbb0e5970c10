"""The agreements and payments a route works on, loaded (or loaded and locked) for the caller: 404 for what it
may not see, 412 for a stale If-Match."""

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request

from common.clock import ClockDep
from common.db import Database
from common.resources import locked_resource, resource, validated_body
from common.tokens import Principal
from services.funding.exports.open_data import Cards
from services.funding.grants import agreements_repository, payments, payments_repository
from services.funding.grants.auth import (
    AgreementManager,
    AgreementSigner,
    AgreementsReader,
    PaymentManager,
    PaymentRequester,
    PaymentsReader,
)
from services.funding.grants.payments_repository import PaymentRow
from services.funding.grants.schemas import Cancellation
from services.funding.models.agreement import Agreement
from services.funding.peers import PeersDep

CurrentAgreement = Annotated[
    Agreement, resource(agreements_repository.readable_agreement, path="agreement_id", caller=AgreementsReader)
]


def _locked_agreement(guard: Any, before: Sequence[Any] = ()) -> Any:
    return locked_resource(
        agreements_repository.locked_agreement, path="agreement_id", caller=guard, if_match_required=False,
        before=before,
    )


async def _party_cards(agreement_id: uuid.UUID, request: Request, caller: Principal, peers: PeersDep) -> Cards:
    """Identity's cards of the agreement's funders and association, for its open-data rows should this move notify
    it: asked before the agreement is locked (no call to another service under the write lock), the agreement read
    in its own short transaction."""
    database: Database = request.app.state.db
    async with database.transaction(write=False) as reading:
        agreement = await agreements_repository.readable_agreement(reading, caller, agreement_id)
        parties = await agreements_repository.parties_of(reading, agreement.id)
    return await peers.organisations([agreement.funder_id, *(p.funder_id for p in parties), agreement.organisation_id])


async def _sending_cards(agreement_id: uuid.UUID, request: Request, caller: AgreementManager, peers: PeersDep) -> Cards:
    return await _party_cards(agreement_id, request, caller, peers)


async def _signing_cards(agreement_id: uuid.UUID, request: Request, caller: AgreementSigner, peers: PeersDep) -> Cards:
    return await _party_cards(agreement_id, request, caller, peers)


# Declared in the route before the locked agreement, and given to the lock's `before`: FastAPI solves each once.
SENDING_CARDS = Depends(_sending_cards)
SIGNING_CARDS = Depends(_signing_cards)
SendingCards = Annotated[Cards, SENDING_CARDS]
SigningCards = Annotated[Cards, SIGNING_CARDS]
ManagedAgreement = Annotated[Agreement, _locked_agreement(AgreementManager)]
SendableAgreement = Annotated[Agreement, _locked_agreement(AgreementManager, before=[SENDING_CARDS])]
SignableAgreement = Annotated[Agreement, _locked_agreement(AgreementSigner, before=[SIGNING_CARDS])]

CurrentPayment = Annotated[
    PaymentRow, resource(payments_repository.readable_payment, path="payment_id", caller=PaymentsReader)
]


async def _require_bank_details(
    payment_id: uuid.UUID, request: Request, caller: Principal, peers: PeersDep, clock: ClockDep
) -> None:
    """The association's bank details, asked of the vault before the payment is locked (on SQLite the writer's
    first statement takes the write lock, which no call to another service may hold): a dependency declared
    before the locked payment, reading the payment in its own short transaction."""
    database: Database = request.app.state.db
    async with database.transaction(write=False) as reading:
        payment, _ = await payments_repository.readable_payment(reading, caller, payment_id)
    compliance = await peers.document_compliance(
        organisation_id=payment.organisation_id, kinds=[payments.BANK_DETAILS], on=clock.today()
    )
    payments.require_bank_details(compliance)


async def _requester_bank_details(
    payment_id: uuid.UUID, request: Request, caller: PaymentRequester, peers: PeersDep, clock: ClockDep
) -> None:
    await _require_bank_details(payment_id, request, caller, peers, clock)


async def _manager_bank_details(
    payment_id: uuid.UUID, request: Request, caller: PaymentManager, peers: PeersDep, clock: ClockDep
) -> None:
    await _require_bank_details(payment_id, request, caller, peers, clock)


def _locked_payment(guard: Any, *, before: list[Any]) -> Any:
    return locked_resource(
        payments_repository.locked_payment, path="payment_id", caller=guard, if_match_required=False,
        version_of=lambda row: row[0].version, before=before,
    )


HeldPayment = Annotated[PaymentRow, _locked_payment(PaymentRequester, before=[Depends(_requester_bank_details)])]
PayablePayment = Annotated[PaymentRow, _locked_payment(PaymentManager, before=[Depends(_manager_bank_details)])]
ManagedPayment = Annotated[PaymentRow, _locked_payment(PaymentManager, before=[validated_body(Cancellation)])]
