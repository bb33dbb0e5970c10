"""Is a dossier ready to leave the holder's hands? What the other services hold, checked at submission, and the
association's financial reports past their date with the funders it asks (read again at admissibility).

Everything is read once, in parallel, and the copies read are both what the rules check and what the dossier
keeps as its snapshot: an edit racing the submission lands either wholly before it or wholly after.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.money import euros
from common.problems import Conflict, Text
from services.funding.dossiers import repository
from services.funding.models.dossier import Dossier, FundingLine, RequestObject
from services.funding.models.financial_report import FinancialReport
from services.funding.peers import Peers

GRANT_GROUP = "74"


@dataclass(frozen=True)
class Facts:
    """What the dossier's submission reads from identity and projects."""

    project: dict[str, Any] | None
    budget: dict[str, Any] | None
    association_budget: dict[str, Any]
    profile: dict[str, Any] | None
    budget_year: int


async def gather(
    peers: Peers, *, organisation_id: uuid.UUID, project_id: uuid.UUID, year: int, language: str
) -> Facts:
    project, budget, association_budget, profile = await asyncio.gather(
        peers.project(project_id),
        peers.project_budget(project_id, language=language),
        peers.association_budget(organisation_id, year, language=language),
        peers.organisation_profile(organisation_id),
    )
    return Facts(project, budget, association_budget, profile, year)


def requested_budget(dossier: Dossier) -> dict[str, Any] | None:
    """The budget frozen at submission that the request is about: the project's, or for the association's
    overall running costs its yearly budget."""
    if dossier.request_object == RequestObject.operating:
        return dossier.association_budget_snapshot
    return dossier.budget_snapshot


def _as_text(message: str) -> Text:
    """A message another service already wrote in our caller's language."""
    return Text(message, message)


def _plan_mismatches(
    budget: dict[str, Any], plan: list[FundingLine], *, where: str = "project_budget"
) -> list[tuple[str, str, Text]]:
    """The budget's account 74 lines and the co-funding plan ask the same funders for the same amounts."""
    grants = [line for line in budget["income"] if line["account_group"] == GRANT_GROUP]
    in_budget: dict[str | None, int] = {}
    for line in grants:
        if line["funder_id"] is not None or line["to_be_allocated"]:
            in_budget[line["funder_id"]] = line["amount_cents"]
    in_plan: dict[str | None, int] = {
        (str(line.funder_id) if line.funder_id else None): line.amount_cents for line in plan
    }
    failures = []
    for funder in sorted(set(in_budget) | set(in_plan), key=lambda key: key or ""):
        budget_amount, plan_amount = in_budget.get(funder, 0), in_plan.get(funder, 0)
        if budget_amount == plan_amount:
            continue
        who = Text(f"le financeur {funder}", f"funder {funder}") if funder else Text(
            "la part à répartir par le guichet", "the share left to the desk"
        )
        asked, planned = euros(budget_amount), euros(plan_amount)
        failures.append((
            "budget_plan_mismatch",
            f"funding_plan.{funder or 'to_be_allocated'}",
            Text(
                f"Pour {who.fr}, le budget{BUDGET_NAMES[where].fr} (compte 74) demande {asked.fr} et le plan "
                f"de financement {planned.fr}.",
                f"For {who.en}, the{BUDGET_NAMES[where].en} budget (account 74) asks {asked.en} and the co-funding "
                f"plan {planned.en}.",
            ),
        ))
    return failures


# Which budget a mismatch is found in, as the message names it (the project's is "the budget", as always).
BUDGET_NAMES = {"project_budget": Text("", ""),
                "association_budget": Text(" annuel de l'association", " association's yearly")}


def check_one_moment(facts: Facts) -> None:
    """The project and its budget come from two reads: if the project changed in between, the budget's
    issues were computed on another version than the one the dossier would keep. The holder retries."""
    if facts.project and facts.budget and facts.budget.get("project_version") != facts.project.get("version"):
        raise Conflict(
            Text(
                "Le projet a été modifié pendant le dépôt ; déposez à nouveau.",
                "The project was changed during the submission; submit again.",
            ),
            code="concurrent_change",
        )


def failed_rules(
    facts: Facts, plan: list[FundingLine], *, request_object: str = RequestObject.project
) -> list[tuple[str, str, Text]]:
    """Every rule the dossier breaks, as (rule, where, message): all are listed at once, not one per try. A
    request for the association's overall running costs is judged on its yearly budget, not a project's."""
    failures: list[tuple[str, str, Text]] = []
    operating = request_object == RequestObject.operating
    if facts.budget is not None and not operating:
        failures += [
            (f"project_budget_{issue['code']}", "project_budget", _as_text(issue["message"]))
            for issue in facts.budget["issues"]
        ]
        if facts.budget["income"]:  # an empty budget is one failure, not one more per line of the plan
            failures += _plan_mismatches(facts.budget, plan)
    year = facts.budget_year
    if facts.association_budget["version"] == 0:
        failures.append((
            "association_budget_missing",
            "association_budget",
            Text(
                f"Le budget prévisionnel {year} de l'association n'est pas saisi.",
                f"The association's {year} budget has not been entered.",
            ),
        ))
    else:
        failures += [
            (f"association_budget_{issue['code']}", "association_budget", _as_text(issue["message"]))
            for issue in facts.association_budget["issues"]
        ]
        if operating and facts.association_budget["income"]:
            failures += _plan_mismatches(facts.association_budget, plan, where="association_budget")
    if facts.profile is None:
        failures.append((
            "organisation_profile_missing",
            "organisation_profile",
            Text(
                "La fiche de l'association (représentant légal, contact, adresse, moyens humains) n'est pas saisie.",
                "The association's profile (legal representative, contact, address, people) has not been entered.",
            ),
        ))
    return failures


def unknown_documents(refusal: dict[str, Any]) -> list[tuple[str, str, Text]]:
    """The vault refused to pin some attached versions: unknown, or not the association's."""
    unknown = refusal.get("unknown_version_ids") or []
    listed = ", ".join(str(version) for version in unknown) or "?"
    return [(
        "unknown_document_version",
        "document_version_ids",
        Text(
            f"Document(s) joint(s) inconnu(s) du coffre-fort de l'association : {listed}.",
            f"Attached document(s) unknown to the association's vault: {listed}.",
        ),
    )]


def not_ready(failures: list[tuple[str, str, Text]]) -> Conflict:
    return Conflict(
        Text(
            "Le dossier ne peut pas encore être déposé : voir chaque point à corriger.",
            "The dossier cannot be submitted yet: see each point to fix.",
        ),
        code="dossier_not_ready",
        errors=[(where, message) for _, where, message in failures],
        extra={"failed_rules": sorted({rule for rule, _, _ in failures})},
    )


async def overdue_with(
    session: AsyncSession, *, organisation_id: uuid.UUID, funder_ids: set[uuid.UUID], today: date
) -> list[FinancialReport]:
    """The association's reports owed to these funders and past their date."""
    if not funder_ids:
        return []
    return await repository.overdue_reports(
        session, organisation_id=organisation_id, funder_ids=funder_ids, today=today
    )


def overdue_text(reports: list[FinancialReport]) -> Text:
    """Which funder each late report is owed to (its id: the funder's card is identity's), its year and date."""
    fr = ", ".join(f"financeur {r.funder_id}, exercice {r.year}, dû le {r.due_on}" for r in reports)
    en = ", ".join(f"funder {r.funder_id}, year {r.year}, due on {r.due_on}" for r in reports)
    return Text(f"Compte rendu financier en retard : {fr}.", f"Financial report overdue: {en}.")
