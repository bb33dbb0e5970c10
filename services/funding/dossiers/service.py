"""Dossiers: a draft for one of my projects under an open programme, opened and changed by its holder.

The rest of a dossier's rules sit beside: its moves and trail (`lifecycle.py`), its co-funding plan
(`funding_plan.py`), its submission (`submission.py`), its public shape (`public.py`). The names other rooms
import from here (`moved`, `trace`, `require_action`, `to_public`, `funders_outside`, `DOSSIER_NOT_FOUND`) are
re-exported below, so their imports stay as they are."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.dossiers import cpo_plan, repository
from services.funding.dossiers.funding_plan import check_plan, comparable, lines_for, plan_of
from services.funding.dossiers.funding_plan import funders_outside as funders_outside
from services.funding.dossiers.lifecycle import DOSSIER_NOT_FOUND as DOSSIER_NOT_FOUND
from services.funding.dossiers.lifecycle import moved as moved
from services.funding.dossiers.lifecycle import require_action as require_action
from services.funding.dossiers.lifecycle import trace as trace
from services.funding.dossiers.public import to_public as to_public
from services.funding.dossiers.schemas import DossierCreate, DossierPublic, DossierUpdate
from services.funding.models.dossier import Dossier, RequestObject
from services.funding.models.programme import Programme, Track
from services.funding.peers import Peers
from services.funding.programmes.service import get_programme, is_open
from services.funding.programmes.track_rules import TrackRules, rules_of


def format_reference(year: int, number: int) -> str:
    return f"GU-{year}-{number:06d}"


def programme_closed(programme: Programme, today: date) -> Conflict:
    """Not open: past its deadline (said first: a call's deadline is what a late applicant needs to read), or
    not open yet."""
    if today > programme.closes_on:
        text = Text(
            f"La date limite de dépôt de ce programme était le {programme.closes_on}.",
            f"This programme's deadline for submissions was {programme.closes_on}.",
        )
    else:
        text = Text(
            f"Le programme n'est pas encore ouvert (du {programme.opens_on} au {programme.closes_on}).",
            f"The programme is not open yet (from {programme.opens_on} to {programme.closes_on}).",
        )
    return Conflict(
        text,
        code="programme_closed",
        extra={"opens_on": programme.opens_on.isoformat(), "closes_on": programme.closes_on.isoformat()},
    )


async def open_programme(session: AsyncSession, programme_id: uuid.UUID, today: date) -> Programme:
    try:
        programme = await get_programme(session, programme_id)
    except NotFound as exc:
        raise UnprocessableContent(
            Text("Programme inconnu.", "Unknown programme."),
            errors=[("body.programme_id", Text("Programme inconnu.", "Unknown programme."))],
        ) from exc
    if not is_open(programme, today):
        raise programme_closed(programme, today)
    return programme


async def _owned_project(peers: Peers, principal: Principal, project_id: uuid.UUID) -> dict[str, Any]:
    """The live project from the projects service; it must belong to the caller's organisation."""
    return check_owned(principal, await peers.project(project_id))


def check_owned(principal: Principal, project: dict[str, Any] | None) -> dict[str, Any]:
    if project is None or project.get("organisation_id") != str(principal.organisation_id):
        raise UnprocessableContent(
            Text("Projet inconnu de votre organisation.", "Project unknown to your organisation."),
            errors=[("body.project_id", Text("Projet inconnu.", "Unknown project."))],
            code="unknown_project",
        )
    return project


def _check_objectives(rules: TrackRules, objectives: list[str] | None) -> None:
    if objectives and not rules.multi_year:
        raise UnprocessableContent(
            Text("Seule une CPO fixe des objectifs pluriannuels.", "Only a CPO sets multi-year objectives."),
            errors=[("body.objectives", Text("Réservé au parcours CPO.", "CPO track only."))],
            code="not_a_cpo",
        )


# The overall running costs of an association are asked on the annual call or in a CPO; the seed fund and the
# small projects fund a project.
OPERATING_TRACKS = frozenset({Track.annual, Track.cpo})


def _check_request_object(programme: Programme, request_object: RequestObject | None) -> None:
    if request_object == RequestObject.operating and programme.track not in OPERATING_TRACKS:
        raise UnprocessableContent(
            Text(
                "Le fonctionnement global de l'association se demande à l'appel annuel ou en CPO, pas sur ce "
                "programme, qui finance des projets.",
                "The association's overall running costs are asked on the annual call or in a CPO, not on this "
                "programme, which funds projects.",
            ),
            errors=[("body.request_object", Text("Un projet sur ce programme.", "A project on this programme."))],
            code="operating_not_on_track",
        )


async def any_dossier(session: AsyncSession, dossier_id: uuid.UUID) -> Dossier:
    """Any dossier, for the desk, locked for the move it is about to make."""
    dossier = await repository.dossier_by_id(session, dossier_id, for_update=True)
    if dossier is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    return dossier


async def create_dossier(
    session: AsyncSession, *, principal: Principal, request: DossierCreate, peers: Peers, today: date
) -> DossierPublic:
    """A draft for one of the caller's projects. Projects is asked first, before this writer session's first
    statement (on SQLite it takes the database's write lock, which no call to another service may hold)."""
    await _owned_project(peers, principal, request.project_id)
    programme = await open_programme(session, request.programme_id, today)
    plan = plan_of(programme, request.funding_plan, request.requested_amount_cents)
    rules = rules_of(programme)
    cpo_years = cpo_plan.cpo_years_of(programme, rules, plan, request.cpo_years)
    _check_objectives(rules, request.objectives)
    _check_request_object(programme, request.request_object)
    await check_plan(session, programme, plan)
    assert principal.organisation_id is not None  # _owned_project refused a caller of no organisation
    now = utcnow()
    number = await repository.next_reference_number(session, now.year)
    reference = format_reference(now.year, number)
    dossier = Dossier(
        reference=reference,
        thread_reference=reference,  # a first dossier opens its own thread
        programme_id=programme.id,
        project_id=request.project_id,
        organisation_id=principal.organisation_id,
        requested_total_cents=sum(line.amount_cents for line in plan),
        document_version_ids=[str(version) for version in request.document_version_ids],
        partners=[partner.model_dump(mode="json") for partner in request.partners],
        learning_plan=request.learning_plan.model_dump() if request.learning_plan else None,
        cpo_years=cpo_years, objectives=list(request.objectives),
        request_object=request.request_object, request_kind=request.request_kind,
        aid_nature=[nature.value for nature in request.aid_nature],
        created_by=principal.subject,
    )
    session.add(dossier)
    await session.flush()
    await repository.replace_lines(session, dossier.id, lines_for(dossier.id, plan, cpo_years))
    session.add(trace(dossier, principal, "created", None))
    return await to_public(session, dossier)


async def update_draft(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: DossierUpdate
) -> DossierPublic:
    """Change the plan, what the request asks, the attached documents; the same content again keeps the version."""
    require_action(dossier, "update")
    current = await to_public(session, dossier)
    changed = False
    programme = await get_programme(session, dossier.programme_id)
    rules = rules_of(programme)
    _check_objectives(rules, request.objectives)
    _check_request_object(programme, request.request_object)
    wanted = None
    if request.funding_plan is not None or request.requested_amount_cents is not None:
        wanted = plan_of(programme, request.funding_plan, request.requested_amount_cents)
    if wanted is not None:
        yearly_given = any(line.yearly_amounts_cents is not None for line in wanted)
        cpo_years = cpo_plan.cpo_years_of(programme, rules, wanted, None if yearly_given else dossier.cpo_years)
        lines = lines_for(dossier.id, wanted, cpo_years)
    if wanted is not None and [comparable(line) for line in lines] != [
        comparable(line) for line in current.funding_plan
    ]:
        await check_plan(session, programme, wanted)
        await repository.replace_lines(session, dossier.id, lines)
        dossier.cpo_years = cpo_years
        dossier.requested_total_cents = sum(line.amount_cents for line in wanted)
        session.add(trace(dossier, principal, "plan_updated", dossier.state))
        changed = True
    partners = ([partner.model_dump(mode="json") for partner in request.partners]
                if request.partners is not None else dossier.partners)
    learning_plan = (request.learning_plan.model_dump() if request.learning_plan is not None
                     else dossier.learning_plan)
    if (partners, learning_plan) != (dossier.partners, dossier.learning_plan):
        dossier.partners, dossier.learning_plan = partners, learning_plan
        session.add(trace(dossier, principal, "seed_details_updated", dossier.state))
        changed = True
    if request.objectives is not None and list(request.objectives) != dossier.objectives:
        dossier.objectives = list(request.objectives)
        session.add(trace(dossier, principal, "objectives_updated", dossier.state))
        changed = True
    asked = (
        request.request_object or dossier.request_object,
        request.request_kind or dossier.request_kind,
        [nature.value for nature in request.aid_nature] if request.aid_nature is not None else dossier.aid_nature,
    )
    if asked != (dossier.request_object, dossier.request_kind, dossier.aid_nature):
        dossier.request_object, dossier.request_kind, dossier.aid_nature = asked
        session.add(trace(dossier, principal, "request_updated", dossier.state))
        changed = True
    documents = [str(version) for version in request.document_version_ids or []]
    if request.document_version_ids is not None and documents != dossier.document_version_ids:
        dossier.document_version_ids = documents
        session.add(trace(dossier, principal, "documents_updated", dossier.state))
        changed = True
    if not changed:
        return current
    moved(dossier)
    await session.flush()
    return await to_public(session, dossier)


