"""A project's indicators: which shared indicators it follows, for which period, with which target.

A period is a calendar year within the project's dates, or "span" (the whole project). One indicator is
followed either year by year or over the span, never both: a value would otherwise be counted twice in the
aggregates. A ratio is picked with its denominator, an "of whom" indicator with its whole, for the same period.
The same consistency rules hold for targets and for reported values (`consistency_errors`).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, Text, UnprocessableContent
from common.tokens import Principal
from services.projects.indicators import repository
from services.projects.indicators.schemas import ProjectIndicators, TargetIn, TargetOut, format_hundredths
from services.projects.models import Indicator, IndicatorPlan, IndicatorTarget, Project
from services.projects.projects import service as project_service

SPAN = "span"
# Units that count whole things: 12.5 people is a typing error.
WHOLE_UNITS = frozenset({"people", "organisations", "events"})


@dataclass(frozen=True)
class Measured:
    """One value to check: where it came from (the field named in an error), what and when it measures."""

    field: str
    code: str
    period: str
    hundredths: int


def value_unit(indicator: Indicator, catalogue: dict[str, Indicator]) -> str:
    """The unit of what is typed in: a ratio's value is its numerator, counted in its denominator's unit."""
    if indicator.aggregation == "ratio" and indicator.denominator_code in catalogue:
        return catalogue[indicator.denominator_code].unit
    return indicator.unit


def consistency_errors(items: list[Measured], catalogue: dict[str, Indicator]) -> list[tuple[str, Text]]:
    """Whole counts, percents within 0-100, a part never above its whole, a numerator never above its
    denominator; driven by the catalogue's data (unit, aggregation, part_of_code, denominator_code)."""
    by_key = {(item.code, item.period): item for item in items}
    errors: list[tuple[str, Text]] = []
    for item in items:
        indicator = catalogue.get(item.code)
        if indicator is None:
            continue
        if value_unit(indicator, catalogue) in WHOLE_UNITS and item.hundredths % 100:
            errors.append((item.field, Text("Doit être un nombre entier.", "Must be a whole number.")))
        if indicator.unit == "percent" and indicator.aggregation != "ratio" and item.hundredths > 100_00:
            errors.append((item.field, Text("Un pourcentage est entre 0 et 100.", "A percent is within 0-100.")))
        whole = by_key.get((indicator.part_of_code, item.period)) if indicator.part_of_code else None
        if whole is not None and item.hundredths > whole.hundredths:
            limit = f"{indicator.part_of_code} ({format_hundredths(whole.hundredths)})"
            errors.append(
                (
                    item.field,
                    Text(f"« dont » : ne peut dépasser {limit}.", f"'of whom': cannot exceed {limit}."),
                )
            )
        denominator = by_key.get((indicator.denominator_code, item.period)) if indicator.denominator_code else None
        if denominator is not None and item.hundredths > denominator.hundredths:
            errors.append(
                (
                    item.field,
                    Text(
                        f"Numérateur d'un ratio : ne peut dépasser {indicator.denominator_code} "
                        f"({format_hundredths(denominator.hundredths)}).",
                        f"Numerator of a ratio: cannot exceed {indicator.denominator_code} "
                        f"({format_hundredths(denominator.hundredths)}).",
                    ),
                )
            )
    return errors


def project_periods(project: Project) -> set[str]:
    return {SPAN} | {str(year) for year in range(project.start_date.year, project.end_date.year + 1)}


def _period_error(project: Project) -> Text:
    return Text(
        f"Une année entre {project.start_date.year} et {project.end_date.year} (dates du projet), ou « span ».",
        f"A year between {project.start_date.year} and {project.end_date.year} (the project's dates), or 'span'.",
    )


async def locked_project_plan(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> tuple[Project, int]:
    """The caller's own project, locked for replacing its targets, and their version (0 before the first choice)."""
    project = await project_service.locked_project(session, principal, project_id)
    return project, await plan_version(session, project.id)


async def plan_version(session: AsyncSession, project_id: uuid.UUID) -> int:
    """The ETag's version of the project's targets: 0 before the first choice."""
    plan = await repository.plan_of(session, project_id)
    return plan.version if plan else 0


async def read_targets(session: AsyncSession, project: Project) -> ProjectIndicators:
    plan = await repository.plan_of(session, project.id)
    targets = await repository.targets_of(session, project.id) if plan else []
    return ProjectIndicators(
        project_id=project.id,
        targets=[
            TargetOut(indicator_code=t.indicator_code, period=t.period, target=format_hundredths(t.target_hundredths))
            for t in targets
        ],
        version=plan.version if plan else 0,
        updated_at=plan.updated_at if plan else None,
    )


async def replace_targets(
    session: AsyncSession, *, principal: Principal, project: Project, targets: list[TargetIn]
) -> ProjectIndicators:
    """Check the whole list, then replace it in one piece; an unchanged list keeps its version."""
    current = await repository.targets_of(session, project.id)
    catalogue = await repository.indicators_by_code(session, {t.indicator_code for t in targets})
    _check_targets(project, targets, catalogue, already_picked={t.indicator_code for t in current})
    wanted = {(t.indicator_code, t.period): t.target for t in targets}
    dropped = sorted({(t.indicator_code, t.period) for t in current} - set(wanted))
    if dropped:
        in_use = sorted(set(dropped) & await repository.reported_pairs(session, project.id))
        if in_use:
            raise Conflict(
                Text(
                    "Des rapports déposés ou acceptés donnent une valeur pour ces indicateurs : ils restent suivis.",
                    "Submitted or accepted reports give a value for these indicators: they stay followed.",
                ),
                code="targets_in_use",
                extra={"in_use": [{"indicator_code": code, "period": period} for code, period in in_use]},
            )
    plan = await repository.plan_of(session, project.id)
    if plan is not None and wanted == {(t.indicator_code, t.period): t.target_hundredths for t in current}:
        return await read_targets(session, project)  # nothing changes: same version, same ETag
    if plan is None:
        plan = IndicatorPlan(project_id=project.id, version=0, updated_by=principal.subject)
        session.add(plan)
    plan.version += 1
    plan.updated_by = principal.subject
    plan.updated_at = utcnow()
    await session.flush()
    await repository.replace_targets(
        session,
        project.id,
        [
            IndicatorTarget(project_id=project.id, indicator_code=code, period=period, target_hundredths=target)
            for (code, period), target in wanted.items()
        ],
    )
    return await read_targets(session, project)


def _check_targets(
    project: Project, targets: list[TargetIn], catalogue: dict[str, Indicator], *, already_picked: set[str]
) -> None:
    """Every broken rule of the list in one 422, each naming its field."""
    errors: list[tuple[str, Text]] = []
    periods = project_periods(project)
    seen: set[tuple[str, str]] = set()
    picked = {(t.indicator_code, t.period) for t in targets}
    spans = {t.indicator_code for t in targets if t.period == SPAN}
    years = {t.indicator_code for t in targets if t.period != SPAN}
    for index, target in enumerate(targets):
        field = f"body.targets.{index}"
        indicator = catalogue.get(target.indicator_code)
        if indicator is None or (not indicator.active and target.indicator_code not in already_picked):
            errors.append(
                (
                    f"{field}.indicator_code",
                    Text(
                        f"Indicateur absent du catalogue ou retiré : {target.indicator_code}.",
                        f"Indicator missing from the catalogue or retired: {target.indicator_code}.",
                    ),
                )
            )
            continue
        if target.period not in periods:
            errors.append((f"{field}.period", _period_error(project)))
        key = (target.indicator_code, target.period)
        if key in seen:
            errors.append((field, Text("Indicateur et période déjà listés.", "Indicator and period listed twice.")))
        seen.add(key)
        if target.indicator_code in spans and target.indicator_code in years:
            errors.append(
                (
                    f"{field}.period",
                    Text(
                        "Un indicateur se suit par année ou sur toute la durée (span), pas les deux.",
                        "An indicator is followed year by year or over the span, not both.",
                    ),
                )
            )
        for needed, why in (
            (indicator.denominator_code, Text("dénominateur du ratio", "the ratio's denominator")),
            (indicator.part_of_code, Text("le tout dont il est une partie", "the whole it is a part of")),
        ):
            if needed and (needed, target.period) not in picked:
                errors.append(
                    (
                        f"{field}.indicator_code",
                        Text(
                            f"Choisissez aussi {needed} ({why.fr}) pour la période {target.period}.",
                            f"Also pick {needed} ({why.en}) for the period {target.period}.",
                        ),
                    )
                )
    errors += consistency_errors(
        [
            Measured(f"body.targets.{index}.target", t.indicator_code, t.period, t.target)
            for index, t in enumerate(targets)
        ],
        catalogue,
    )
    if errors:
        raise UnprocessableContent(
            Text("Ces indicateurs ou ces cibles sont refusés.", "These indicators or targets are refused."),
            errors=errors,
            code="invalid_targets",
        )
