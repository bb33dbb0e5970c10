"""Admissibility: the desk checks a submitted dossier, asks for supplements, allocates the share left to it,
declares it admissible or not; the holder may withdraw it before a decision. Every move is in the trail."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.money import euros
from common.problems import Conflict, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee import decisions, delegated
from services.funding.dossiers import pin_saga, service_clock
from services.funding.dossiers import readiness as dossiers_readiness
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers.funding_plan import funders_outside
from services.funding.dossiers.lifecycle import moved, require_action, trace
from services.funding.dossiers.public import to_public
from services.funding.dossiers.readiness import GRANT_GROUP
from services.funding.dossiers.schemas import DossierPublic, HistoryEntry
from services.funding.dossiers.submission import required_documents
from services.funding.instruction.schemas import (
    AdmissibilityCheck,
    AdmissibilityDecision,
    AdmissibilityRule,
    Allocation,
    SupplementsRequest,
    Withdrawal,
)
from services.funding.models.dossier import Dossier, DossierState, FundingLine
from services.funding.models.programme import Programme
from services.funding.peers import Peers
from services.funding.programmes.service import get_programme


def _territory_rule(programme: Programme, dossier: Dossier) -> tuple[bool, Text]:
    touched = set((dossier.project_snapshot or {}).get("qpv_codes") or [])
    territory = set(programme.qpv_codes)
    eligible = touched & territory if territory else touched
    if eligible:
        codes = ", ".join(sorted(eligible))
        return True, Text(f"QPV du territoire : {codes}.", f"QPVs of the territory: {codes}.")
    return False, Text(
        "Le projet ne touche aucun QPV du territoire du programme.",
        "The project touches no QPV of the programme's territory.",
    )


def _plan_rule(dossier: Dossier, lines: list[FundingLine]) -> tuple[bool, Text]:
    """What the plan asks in all equals what the budget frozen at submission asks of the desk's funders."""
    asked = sum(line.amount_cents for line in lines)
    budget = dossiers_readiness.requested_budget(dossier) or {"income": []}
    grants = sum(
        line["amount_cents"]
        for line in budget["income"]
        if line["account_group"] == GRANT_GROUP and (line.get("funder_id") or line.get("to_be_allocated"))
    )
    if asked == grants:
        return True, Text(f"Plan et budget demandent {euros(asked).fr}.", f"Plan and budget ask {euros(asked).en}.")
    return False, Text(
        f"Le plan demande {euros(asked).fr}, le budget (compte 74) {euros(grants).fr}.",
        f"The plan asks {euros(asked).en}, the budget (account 74) {euros(grants).en}.",
    )


def _republican_contract_rule(dossier: Dossier) -> tuple[bool, Text]:
    """The association signed the contrat d'engagement républicain (loi 2021-1109), as its profile said when the
    dossier was submitted: every request for public aid carries it."""
    contract = (dossier.organisation_snapshot or {}).get("republican_contract")
    if contract:
        return True, Text(
            f"Contrat d'engagement républicain signé le {contract['signed_on']} par {contract['signatory_name']}.",
            f"Republican commitment contract signed on {contract['signed_on']} by {contract['signatory_name']}.",
        )
    return False, Text(
        "La fiche de l'association ne porte pas le contrat d'engagement républicain signé (loi 2021-1109).",
        "The association's profile does not carry the signed republican commitment contract (loi 2021-1109).",
    )


async def _reports_rule(
    session: AsyncSession, dossier: Dossier, lines: list[FundingLine], today: date
) -> tuple[bool, Text]:
    """No financial report past its date owed to a funder of the plan (CERFA 15059: before any new request)."""
    funders = {line.funder_id for line in lines if line.funder_id is not None}
    late = await dossiers_readiness.overdue_with(
        session, organisation_id=dossier.organisation_id, funder_ids=funders, today=today
    )
    if late:
        return False, dossiers_readiness.overdue_text(late)
    return True, Text("Aucun compte rendu financier en retard auprès des financeurs du plan.",
                      "No overdue financial report with the plan's funders.")


async def check(
    session: AsyncSession, *, dossier: Dossier, peers: Peers, language: str, today: date,
    compliance: dict[str, Any] | None = None,
) -> AdmissibilityCheck:
    """Every admissibility rule with what fails, computed now from the vault (`compliance` when it was asked
    before the dossier was locked) and the frozen dossier."""
    programme = await get_programme(session, dossier.programme_id)
    documents = await required_documents(session, dossier=dossier, peers=peers, today=today, compliance=compliance)
    missing = [
        item.kind + (f" ({item.reason})" if item.reason else "") for item in documents.items if not item.satisfied
    ]
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    rules = [
        (
            "required_documents",
            not missing,
            Text("Toutes les pièces exigées sont valides.", "Every required document is valid.")
            if not missing
            else Text(f"Pièces manquantes ou périmées : {', '.join(missing)}.",
                      f"Missing or outdated documents: {', '.join(missing)}."),
        ),
        ("territory_eligible", *_territory_rule(programme, dossier)),
        ("plan_coherent_with_budget", *_plan_rule(dossier, lines)),
        ("no_overdue_financial_report", *await _reports_rule(session, dossier, lines, today)),
        ("republican_contract_signed", *_republican_contract_rule(dossier)),
    ]
    return AdmissibilityCheck(
        dossier_id=dossier.id,
        state=DossierState(dossier.state),
        admissible=all(satisfied for _, satisfied, _ in rules),
        rules=[AdmissibilityRule(rule=rule, satisfied=ok, detail=text.pick(language)) for rule, ok, text in rules],
    )



async def decide(
    session: AsyncSession,
    *,
    principal: Principal,
    dossier: Dossier,
    request: AdmissibilityDecision,
    peers: Peers,
    language: str,
    today: date,
    compliance: dict[str, Any] | None,
) -> DossierPublic:
    """Admissible only when every rule holds (409 listing the failed ones); inadmissible with a reason, its
    documents' pins then owed a release."""
    require_action(dossier, "decide_admissibility")
    if request.decision == "admissible":
        result = await check(session, dossier=dossier, peers=peers, language=language, today=today,
                             compliance=compliance)
        failed = [rule for rule in result.rules if not rule.satisfied]
        if failed:
            raise Conflict(
                Text(
                    "Le dossier ne remplit pas toutes les règles de recevabilité : demandez des compléments "
                    "ou déclarez-le irrecevable.",
                    "The dossier fails some admissibility rules: ask for supplements or declare it inadmissible.",
                ),
                code="admissibility_rules_failed",
                errors=[(rule.rule, Text(rule.detail, rule.detail)) for rule in failed],
                extra={"failed_rules": [rule.rule for rule in failed]},
            )
    previous = dossier.state
    dossier.state = DossierState(request.decision)
    if request.decision == "inadmissible":
        dossier.closing_reason = request.reason
        service_clock.stop(dossier)
        pin_saga.owe_release(dossier)
    else:
        await delegated.route_to_lead(session, principal=principal, dossier=dossier)
    moved(dossier)
    session.add(trace(dossier, principal, f"declared_{request.decision}", previous, request.reason))
    await session.flush()
    return await to_public(session, dossier)


async def request_supplements(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: SupplementsRequest, now: datetime
) -> DossierPublic:
    """The dossier goes back to the holder with a message and a due date; it comes back by a new submission."""
    require_action(dossier, "request_supplements")
    if request.due_on <= now.date():
        raise UnprocessableContent(
            Text("La date limite doit être postérieure à aujourd'hui.", "The due date must be after today."),
            errors=[("body.due_on", Text("Date passée.", "Date in the past."))],
        )
    previous = dossier.state
    dossier.state = DossierState.supplements_requested
    dossier.supplements_message = request.message
    dossier.supplements_due_on = request.due_on
    moved(dossier)
    service_clock.pause(dossier, now)
    session.add(trace(dossier, principal, "supplements_requested", previous, request.message))
    await session.flush()
    return await to_public(session, dossier)


async def allocate(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: Allocation
) -> DossierPublic:
    """Share the plan's to-be-allocated line among the programme's funders, to the cent; a funder already in
    the plan gets the share added to its line."""
    require_action(dossier, "allocate")
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    pending = next((line for line in lines if line.funder_id is None), None)
    if pending is None:
        raise Conflict(
            Text("Le plan ne laisse aucun montant à répartir.", "The plan leaves nothing to allocate."),
            code="nothing_to_allocate",
        )
    shared = sum(line.amount_cents for line in request.lines)
    if shared != pending.amount_cents:
        raise UnprocessableContent(
            Text(
                f"Les parts ({euros(shared).fr}) doivent faire exactement le montant à répartir "
                f"({euros(pending.amount_cents).fr}).",
                f"The shares ({euros(shared).en}) must add up to the amount to allocate "
                f"({euros(pending.amount_cents).en}).",
            ),
            errors=[("body.lines", Text("Total différent.", "Different total."))],
            code="allocation_total_mismatch",
        )
    strangers = await funders_outside(session, dossier.programme_id, [line.funder_id for line in request.lines])
    if strangers:
        raise UnprocessableContent(
            Text("Financeur(s) hors du programme.", "Funder(s) outside the programme."),
            errors=[("body.lines", Text(", ".join(strangers), ", ".join(strangers)))],
            code="funder_not_in_programme",
        )
    declined = await dossiers_repository.declined_funders(session, dossier.id)
    refused = [str(share.funder_id) for share in request.lines if share.funder_id in declined]
    if refused:
        raise UnprocessableContent(
            Text("Ce(s) financeur(s) ont décliné le dossier.", "These funders declined the dossier."),
            errors=[("body.lines", Text(", ".join(refused), ", ".join(refused)))],
            code="funder_declined",
        )
    by_funder: dict[uuid.UUID, int] = {line.funder_id: line.amount_cents for line in lines if line.funder_id}
    for share in request.lines:
        if share.funder_id is not None:  # always: Allocation refuses a share that names no funder
            by_funder[share.funder_id] = by_funder.get(share.funder_id, 0) + share.amount_cents
    await dossiers_repository.replace_lines(session, dossier.id, [
        FundingLine(dossier_id=dossier.id, position=index, funder_id=funder, amount_cents=amount)
        for index, (funder, amount) in enumerate(by_funder.items())
    ])
    moved(dossier)
    detail = "; ".join(f"{share.funder_id}: {share.amount_cents}" for share in request.lines)
    session.add(trace(dossier, principal, "allocated", dossier.state, detail))
    await session.flush()
    return await to_public(session, dossier)


async def withdraw(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: Withdrawal
) -> DossierPublic:
    """The holder takes the dossier back for good, before any decision."""
    require_action(dossier, "withdraw")
    await decisions.on_withdrawn(session, dossier=dossier, actor=principal.subject)
    service_clock.stop(dossier)
    previous = dossier.state
    dossier.state = DossierState.withdrawn
    dossier.closing_reason = request.reason
    pin_saga.owe_release(dossier)
    moved(dossier)
    session.add(trace(dossier, principal, "withdrawn", previous, request.reason))
    await session.flush()
    return await to_public(session, dossier)


async def history(session: AsyncSession, *, dossier: Dossier) -> list[HistoryEntry]:
    """The dossier's audit trail: who moved it from which state to which, when, why; the oldest first."""
    return [HistoryEntry(**row.model_dump()) for row in await dossiers_repository.history_of(session, dossier.id)]
