"""A CPO's plan before the committee: how many years it runs, the amount asked of each funder for each year, its
objectives, and the indicator targets per year that projects holds for the project; and, once granted, that plan
kept as the CPO's first version (its life after that is the cpo/ room's)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Text, UnprocessableContent
from services.funding.dossiers.schemas import FundingLineIn
from services.funding.models.cpo import CpoState, CpoVersion
from services.funding.models.dossier import Dossier, FundingLine
from services.funding.models.programme import Programme
from services.funding.programmes.payment_schedule import proportional_split, yearly_split
from services.funding.programmes.track_rules import TrackRules


def cpo_years_of(programme: Programme, rules: TrackRules, plan: list[FundingLineIn], asked: int | None) -> int | None:
    """The CPO's length: the yearly amounts' count, the length asked, or the programme's default — within the
    track's limits (422 naming the rule and the limits). None outside the CPO track, where yearly amounts and a
    length are refused."""
    given = {len(line.yearly_amounts_cents) for line in plan if line.yearly_amounts_cents is not None}
    if not rules.multi_year:
        if given or asked is not None:
            raise UnprocessableContent(
                Text("Seule une CPO a des montants annuels et une durée en années.",
                     "Only a CPO has yearly amounts and a length in years."),
                errors=[("body.funding_plan" if given else "body.cpo_years",
                         Text("Réservé au parcours CPO.", "CPO track only."))],
                code="not_a_cpo",
            )
        return None
    if len(given | ({asked} if asked is not None else set())) > 1:
        raise UnprocessableContent(
            Text("Chaque ligne du plan donne un montant pour chacune des années de la CPO.",
                 "Each line of the plan gives an amount for each of the CPO's years."),
            errors=[("body.funding_plan", Text("Autant de montants annuels que d'années.",
                                               "As many yearly amounts as years."))],
            code="cpo_years_mismatch",
        )
    years = next(iter(given), asked if asked is not None else rules.default_years)
    assert years is not None and rules.min_years is not None and rules.max_years is not None  # a multi-year track
    if not rules.min_years <= years <= rules.max_years:
        raise UnprocessableContent(
            Text(f"Une CPO dure de {rules.min_years} à {rules.max_years} ans ({years} demandés).",
                 f"A CPO lasts {rules.min_years} to {rules.max_years} years ({years} asked)."),
            errors=[("body.cpo_years" if not given else "body.funding_plan",
                     Text(f"De {rules.min_years} à {rules.max_years} ans.",
                          f"{rules.min_years} to {rules.max_years} years."))],
            code="cpo_duration",
            extra={"rule": "max_years", "min_years": rules.min_years, "max_years": rules.max_years, "asked": years},
        )
    return years


def yearly_of(line: FundingLine | FundingLineIn, years: int) -> list[int]:
    """The line's amount for each year: as asked, or, when the plan changed since (the desk allocated or a funder
    declined), the amount in equal yearly parts."""
    asked = list(line.yearly_amounts_cents or [])
    if len(asked) == years and sum(asked) == line.amount_cents:
        return asked
    return yearly_split(line.amount_cents, years)


def granted_by_year(line: FundingLine, granted_cents: int, years: int) -> list[int]:
    """What a funder granted, cut along what was asked each year: a smaller grant keeps the plan's shape."""
    return proportional_split(granted_cents, yearly_of(line, years))


def years_of(programme: Programme, dossier: Dossier) -> list[int]:
    """The calendar years the CPO covers, from the programme's year."""
    return [programme.year + offset for offset in range(dossier.cpo_years or 1)]


def targets_by_year(indicators: dict[str, Any] | None, years: list[int]) -> dict[str, list[dict[str, Any]]]:
    """The project's indicator targets for each of the CPO's years (a target over the whole span counts for no
    one year)."""
    targets = (indicators or {}).get("targets") or []
    return {str(year): [{"indicator_code": t["indicator_code"], "target": t["target"]}
                        for t in targets if t["period"] == str(year)] for year in years}


def plan_failures(dossier: Dossier, targets: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str, Text]]:
    """What a CPO's file lacks at submission: its objectives, and targets for each year."""
    failures = []
    if not dossier.objectives:
        failures.append(("cpo_objectives_missing", "objectives", Text(
            "Une CPO fixe des objectifs : donnez-les (objectives).",
            "A CPO sets objectives: give them (objectives).")))
    bare = [year for year, items in targets.items() if not items]
    if bare:
        failures.append(("cpo_targets_missing", "project_indicators", Text(
            f"Fixez des cibles d'indicateurs pour chaque année de la CPO (manquent : {', '.join(bare)}).",
            f"Set indicator targets for each year of the CPO (missing: {', '.join(bare)}).")))
    return failures


def start(session: AsyncSession, dossier: Dossier, amounts: dict[str, dict[str, int]], by: str) -> None:
    """The CPO as granted: its first version."""
    session.add(CpoVersion(dossier_id=dossier.id, number=1, amounts=amounts, objectives=list(dossier.objectives),
                           targets=dict(dossier.cpo_targets or {}), created_by=by))
    dossier.cpo_state = CpoState.running
