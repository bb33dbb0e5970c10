"""CERFA 12156 budgets: a project's forecast and the association's yearly one, with what stops a submission.

A budget may be saved unbalanced (it is work in progress); `issues` says what still stops a dossier, and the
funding service refuses a submission while any remains. Lines are replaced as a whole, under If-Match.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.money import euros
from common.problems import NotFound, PreconditionFailed, Text, UnprocessableContent
from common.tokens import Principal
from services.projects.budgets import repository
from services.projects.budgets.schemas import (
    CHARGE_GROUPS,
    DEFICIT,
    GRANT_GROUP,
    IN_KIND_GROUPS,
    INCOME_GROUPS,
    INDIRECT_LINES,
    OWN_RESOURCES,
    PROJECT_ONLY_LINES,
    RESULT_LINES,
    SURPLUS,
    BudgetIn,
    BudgetIssue,
    BudgetLinePublic,
    BudgetPublic,
    BudgetTotals,
    FunderType,
    account_parent,
)
from services.projects.models import Budget, BudgetLine, Project
from services.projects.projects import service as project_service
from services.vocabulary import DESK_ROLES, HOLDER_ROLES

BUDGET_NOT_FOUND = Text("Budget introuvable.", "Budget not found.")
# The association's yearly budget: last year's (still being closed), this year's and the next two.
YEARS_BEHIND, YEARS_AHEAD = 1, 2


@dataclass(frozen=True)
class StoredBudget:
    """A budget as read: its row (None while nothing was entered: version 0) and its lines in order."""

    row: Budget | None
    lines: list[BudgetLine]

    @property
    def version(self) -> int:
        return self.row.version if self.row else 0


async def _load(session: AsyncSession, row: Budget | None) -> StoredBudget:
    if row is None:
        return StoredBudget(None, [])
    return StoredBudget(row, await repository.lines_of(session, row.id))


async def project_budget(session: AsyncSession, project: Project) -> StoredBudget:
    return await _load(session, await repository.project_budget_row(session, project.id))


async def association_budget(
    session: AsyncSession, organisation_id: uuid.UUID, year: int, *, for_update: bool = False
) -> StoredBudget:
    return await _load(
        session, await repository.association_budget_row(session, organisation_id, year, for_update=for_update)
    )


async def locked_project_budget(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> tuple[Project, StoredBudget]:
    """The caller's own project and its budget, for replacing it: the project's row lock serialises the writers of
    its budget, the first one included."""
    project = await project_service.locked_project(session, principal, project_id)
    return project, await project_budget(session, project)


async def locked_association_budget(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, year: int, today: date
) -> StoredBudget:
    """The caller's association's budget of an open year, for replacing it: locked when it exists; two first
    entries at once meet on the unique (organisation, year), and one gets a 412."""
    writable_association(principal, organisation_id, year, today)
    return await association_budget(session, organisation_id, year, for_update=True)


def readable_association(principal: Principal, organisation_id: uuid.UUID) -> None:
    """Its own members, the desk and the desk's services read an association's budget; others get a 404."""
    if principal.kind == "service" or principal.has_any_role(DESK_ROLES):
        return
    if principal.has_any_role(HOLDER_ROLES) and principal.organisation_id == organisation_id:
        return
    raise NotFound(BUDGET_NOT_FOUND)


def writable_association(principal: Principal, organisation_id: uuid.UUID, year: int, today: date) -> None:
    if principal.organisation_id != organisation_id:
        raise NotFound(BUDGET_NOT_FOUND)
    this_year = today.year
    if not this_year - YEARS_BEHIND <= year <= this_year + YEARS_AHEAD:
        raise UnprocessableContent(
            Text(
                f"Le budget de l'association se saisit pour les années {this_year - YEARS_BEHIND} "
                f"à {this_year + YEARS_AHEAD}.",
                f"The association's budget is entered for the years {this_year - YEARS_BEHIND} "
                f"to {this_year + YEARS_AHEAD}.",
            ),
            errors=[("path.year", Text("Année hors de la période ouverte.", "Year outside the open period."))],
        )


def association_lines_only(request: BudgetIn) -> None:
    """The association's whole budget has no indirect share nor own resources given to a project: 422."""
    codes = [("charges", i, line.account_group) for i, line in enumerate(request.charges)]
    codes += [("income", i, line.account_group) for i, line in enumerate(request.income)]
    wrong = [(f"body.{side}.{i}.account_group", code) for side, i, code in codes if code in PROJECT_ONLY_LINES]
    if wrong:
        raise UnprocessableContent(
            Text(
                "Charges indirectes et ressources propres affectées sont des lignes du budget d'un projet, pas de "
                "celui de l'association.",
                "Indirect charges and own resources given to a project are lines of a project's budget, not of the "
                "association's.",
            ),
            errors=[(field, Text(f"Ligne « {code} » réservée au budget d'un projet.",
                                 f"Line '{code}' belongs to a project's budget only.")) for field, code in wrong],
        )


def _wanted_lines(request: BudgetIn) -> list[tuple]:
    """The lines asked for, in a comparable form: (side, position, group, label, amount, funder, to allocate,
    funder type)."""
    charges = [("charge", i, line.account_group, line.label, line.amount_cents, None, False, None)
               for i, line in enumerate(request.charges)]
    income = [("income", i, line.account_group, line.label, line.amount_cents, line.funder_id, line.to_be_allocated,
               line.funder_type.value if line.funder_type else None)
              for i, line in enumerate(request.income)]
    return charges + income


def _stored_lines(stored: StoredBudget) -> list[tuple]:
    return [
        (line.side, line.position, line.account_group, line.label, line.amount_cents, line.funder_id,
         line.to_be_allocated, line.funder_type)
        for line in stored.lines
    ]


async def replace(
    session: AsyncSession,
    *,
    stored: StoredBudget,
    request: BudgetIn,
    principal: Principal,
    organisation_id: uuid.UUID,
    project_id: uuid.UUID | None = None,
    year: int | None = None,
) -> StoredBudget:
    """Replace every line; the same lines again keep the version (and the ETag)."""
    wanted = _wanted_lines(request)
    if stored.row is not None and sorted(wanted, key=str) == sorted(_stored_lines(stored), key=str):
        return stored
    row = stored.row
    if row is None:
        row = Budget(organisation_id=organisation_id, project_id=project_id, year=year, updated_by=principal.subject)
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:  # created by another request since our read: our If-Match "0" is stale
            raise PreconditionFailed(
                Text(
                    "Le budget vient d'être créé par une autre requête ; relisez-le puis réessayez.",
                    "The budget was just created by another request; read it again and retry.",
                )
            ) from exc
    else:
        for line in stored.lines:
            await session.delete(line)
        row.version += 1
        row.updated_by = principal.subject
        row.updated_at = utcnow()
        await session.flush()
    lines = [
        BudgetLine(budget_id=row.id, side=side, position=position, account_group=group, label=label,
                   amount_cents=amount, funder_id=funder, to_be_allocated=to_allocate, funder_type=funder_type)
        for side, position, group, label, amount, funder, to_allocate, funder_type in wanted
    ]
    session.add_all(lines)
    await session.flush()
    return StoredBudget(row, lines)


def _public_line(line: BudgetLine) -> BudgetLinePublic:
    return BudgetLinePublic(
        account_group=line.account_group,
        account_label=(CHARGE_GROUPS if line.side == "charge" else INCOME_GROUPS)[line.account_group],
        account_parent=account_parent(line.account_group),
        label=line.label,
        amount_cents=line.amount_cents,
        in_kind=line.account_group in IN_KIND_GROUPS,
        funder_id=line.funder_id,
        to_be_allocated=line.to_be_allocated,
        funder_type=FunderType(line.funder_type) if line.funder_type else None,
    )


def _totals(lines: list[BudgetLine]) -> BudgetTotals:
    """The form's totals: the forecast surplus and deficit are no charge nor income, they state the result."""

    def total(side: str, *, in_kind: bool | None = None, groups: frozenset[str] | None = None) -> int:
        return sum(
            line.amount_cents
            for line in lines
            if line.side == side
            and (in_kind is None or (line.account_group in IN_KIND_GROUPS) == in_kind)
            and (line.account_group in groups if groups is not None else line.account_group not in RESULT_LINES)
        )

    return BudgetTotals(
        charges_cents=total("charge"),
        income_cents=total("income"),
        cash_charges_cents=total("charge", in_kind=False),
        cash_income_cents=total("income", in_kind=False),
        in_kind_charges_cents=total("charge", in_kind=True),
        in_kind_income_cents=total("income", in_kind=True),
        grants_cents=total("income", groups=frozenset({GRANT_GROUP})),
        indirect_charges_cents=total("charge", groups=INDIRECT_LINES),
        own_resources_cents=total("income", groups=frozenset({OWN_RESOURCES})),
        surplus_cents=total("charge", groups=frozenset({SURPLUS})),
        deficit_cents=total("income", groups=frozenset({DEFICIT})),
    )


def _issues(totals: BudgetTotals, *, empty: bool, project: Project | None) -> list[tuple[str, Text]]:
    if empty:
        return [("empty", Text("Le budget est vide.", "The budget is empty."))]
    issues: list[tuple[str, Text]] = []
    # The form balances once its result is stated: charges plus surplus equal income plus deficit.
    charges_side = totals.cash_charges_cents + totals.surplus_cents
    income_side = totals.cash_income_cents + totals.deficit_cents
    if charges_side != income_side:
        charges, income = euros(charges_side), euros(income_side)
        issues.append(("unbalanced", Text(
            f"Les charges ({charges.fr}) et les produits ({income.fr}) ne s'équilibrent pas.",
            f"Charges ({charges.en}) and income ({income.en}) do not balance.",
        )))
    if totals.in_kind_charges_cents != totals.in_kind_income_cents:
        used, received = euros(totals.in_kind_charges_cents), euros(totals.in_kind_income_cents)
        issues.append(("in_kind_mismatch", Text(
            f"Les contributions en nature employées (86 : {used.fr}) diffèrent des reçues (87 : {received.fr}).",
            f"In-kind contributions used (86: {used.en}) differ from those received (87: {received.en}).",
        )))
    # The project's total cost is its cash charges: in-kind help is valued beside it, as on the form.
    if project is not None and totals.cash_charges_cents != project.total_cost_cents:
        budget, declared = euros(totals.cash_charges_cents), euros(project.total_cost_cents)
        issues.append(("total_cost_mismatch", Text(
            f"Les charges du budget ({budget.fr}) diffèrent du coût total déclaré du projet ({declared.fr}).",
            f"The budget's charges ({budget.en}) differ from the project's declared total cost ({declared.en}).",
        )))
    return issues


def to_public(
    stored: StoredBudget,
    *,
    organisation_id: uuid.UUID,
    lang: str,
    project: Project | None = None,
    year: int | None = None,
) -> BudgetPublic:
    totals = _totals(stored.lines)
    issues = _issues(totals, empty=not stored.lines, project=project)
    return BudgetPublic(
        organisation_id=organisation_id,
        project_id=project.id if project else None,
        project_version=project.version if project else None,
        year=year,
        version=stored.version,
        charges=[_public_line(line) for line in stored.lines if line.side == "charge"],
        income=[_public_line(line) for line in stored.lines if line.side == "income"],
        totals=totals,
        balanced=not any(code in ("empty", "unbalanced", "in_kind_mismatch") for code, _ in issues),
        issues=[BudgetIssue(code=code, message=text.pick(lang)) for code, text in issues],
        updated_at=stored.row.updated_at if stored.row else None,
    )
