"""A dossier's co-funding plan: which funders it may ask, what the track's ceiling allows, its stored lines."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.money import euros
from common.problems import Text, UnprocessableContent
from services.funding.dossiers import cpo_plan
from services.funding.dossiers.schemas import FundingLineIn, FundingLinePublic
from services.funding.models.dossier import FundingLine
from services.funding.models.programme import Programme
from services.funding.programmes import repository as programmes_repository
from services.funding.programmes.track_rules import rules_of


async def funders_outside(
    session: AsyncSession, programme_id: uuid.UUID, funder_ids: list[uuid.UUID | None]
) -> list[str]:
    """The funders named that do not take part in the programme."""
    participating = set((await programmes_repository.funders_of_programmes(session, [programme_id]))[programme_id])
    return [str(funder) for funder in funder_ids if funder is not None and funder not in participating]


async def check_plan(session: AsyncSession, programme: Programme, plan: list[FundingLineIn]) -> None:
    strangers = await funders_outside(session, programme.id, [line.funder_id for line in plan])
    if strangers:
        raise UnprocessableContent(
            Text("Financeur(s) hors du programme.", "Funder(s) outside the programme."),
            errors=[("body.funding_plan", Text(", ".join(strangers), ", ".join(strangers)))],
            code="funder_not_in_programme",
        )


def plan_of(programme: Programme, plan: list[FundingLineIn] | None, requested: int | None) -> list[FundingLineIn]:
    """The co-funding plan, or, for a small project, the amount asked of the lead funder the programme names;
    the track's ceiling either way (422 naming the rule and the limit)."""
    rules = rules_of(programme)
    if rules.delegated:
        if plan is not None:
            raise UnprocessableContent(
                Text("Dossier simplifié : pas de plan de cofinancement, le programme nomme son financeur.",
                     "Simplified dossier: no co-funding plan, the programme names its funder."),
                errors=[("body.funding_plan", Text("Donnez requested_amount_cents.", "Give requested_amount_cents."))],
                code="simplified_dossier",
            )
        if requested is None:
            raise UnprocessableContent(
                Text("Le montant demandé est obligatoire.", "The requested amount is required."),
                errors=[("body.requested_amount_cents", Text("Obligatoire.", "Required."))],
                code="simplified_dossier",
            )
        plan = [FundingLineIn(funder_id=uuid.UUID(rules.lead_funder_id), amount_cents=requested)]
    elif plan is None:
        raise UnprocessableContent(
            Text("Ce programme demande un plan de cofinancement.", "This programme asks for a co-funding plan."),
            errors=[("body.funding_plan", Text("Obligatoire.", "Required."))],
            code="funding_plan_required",
        )
    asked = sum(line.amount_cents for line in plan)
    if rules.ceiling_cents is not None and asked > rules.ceiling_cents:
        ceiling = euros(rules.ceiling_cents)
        raise UnprocessableContent(
            Text(f"Plafond du programme dépassé : {ceiling.fr} au plus.",
                 f"Above the programme's ceiling: {ceiling.en} at most."),
            errors=[("body.requested_amount_cents" if rules.delegated else "body.funding_plan",
                     Text(f"Au plus {ceiling.fr}.", f"At most {ceiling.en}."))],
            code="above_ceiling",
            extra={"rule": "ceiling_cents", "limit_cents": rules.ceiling_cents, "asked_cents": asked},
        )
    return plan


def lines_for(dossier_id: uuid.UUID, plan: list[FundingLineIn], cpo_years: int | None) -> list[FundingLine]:
    return [
        FundingLine(dossier_id=dossier_id, position=index, funder_id=line.funder_id, amount_cents=line.amount_cents,
                    yearly_amounts_cents=cpo_plan.yearly_of(line, cpo_years) if cpo_years else [])
        for index, line in enumerate(plan)
    ]


def comparable(line: FundingLine | FundingLinePublic) -> tuple[uuid.UUID | None, int, list[int]]:
    return line.funder_id, line.amount_cents, list(line.yearly_amounts_cents or [])
