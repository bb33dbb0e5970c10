"""Instruction opinions: each funder the dossier is routed to gives its own (the last one makes the dossier ready
for the committee), the citizen council of the dossier's QPVs may add an advisory one. Co-funders and the desk
read them all (joint examination); a council reads its own; nobody else reads any."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Forbidden, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers.service import DOSSIER_NOT_FOUND, require_action, trace
from services.funding.dossiers.visibility import council_covers, council_qpvs, visible_dossier
from services.funding.instruction import repository, routing
from services.funding.instruction.schemas import AuthorKind, OpinionIn, OpinionPublic
from services.funding.models.dossier import Dossier, DossierOpinion
from services.funding.peers import Peers
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, Role

# Who answers for a funder on a dossier: its instructors and managers (committee members sit in sessions).
FUNDER_AUTHORS = frozenset({Role.funder_instructor, Role.funder_manager})
FUNDER: AuthorKind = "funder"
COUNCIL: AuthorKind = repository.COUNCIL_AUTHOR


async def writable_dossier(
    session: AsyncSession, *, principal: Principal, dossier_id: uuid.UUID, peers: Peers
) -> tuple[Dossier, AuthorKind]:
    """The dossier, locked, and what the caller gives an opinion as: a funder it is routed to, or a citizen
    council of its QPVs while it is examined; 404 for anyone else (never reveal), 409 in a state without opinions."""
    if principal.has_any_role(FUNDER_AUTHORS):
        dossier = await dossiers_repository.dossier_by_id(session, dossier_id, for_update=True)
        if (
            dossier is None
            or principal.organisation_id is None
            or not await dossiers_repository.is_routed_to(session, dossier.id, principal.organisation_id)
        ):
            raise NotFound(DOSSIER_NOT_FOUND)
        require_action(dossier, "give_opinion")
        return dossier, FUNDER
    # Identity is asked before the lock is taken: no call to another service while the dossier is held.
    qpvs = await council_qpvs(peers, principal) if principal.has_any_role(COUNCIL_ROLES) else frozenset()
    dossier = await dossiers_repository.dossier_by_id(session, dossier_id, for_update=True)
    if dossier is None or not council_covers(dossier, qpvs):
        raise NotFound(DOSSIER_NOT_FOUND)
    require_action(dossier, "give_opinion")
    return dossier, COUNCIL


async def opinion_of(
    session: AsyncSession, dossier_id: uuid.UUID, organisation_id: uuid.UUID | None
) -> DossierOpinion | None:
    """The organisation's opinion on the dossier, if it gave one."""
    return await repository.opinion_of(session, dossier_id, organisation_id)


def _check_amount(author_kind: AuthorKind, request: OpinionIn) -> None:
    if author_kind == FUNDER and request.proposed_amount_cents is None:
        raise UnprocessableContent(
            Text("Le financeur propose un montant.", "A funder proposes an amount."),
            errors=[("body.proposed_amount_cents", Text("Montant proposé obligatoire.", "Proposed amount required."))],
        )
    if author_kind == COUNCIL and request.proposed_amount_cents is not None:
        raise UnprocessableContent(
            Text("Un conseil citoyen ne propose pas de montant.", "A citizen council proposes no amount."),
            errors=[("body.proposed_amount_cents", Text("Pas de montant pour un avis consultatif.",
                                                          "No amount in an advisory opinion."))],
        )


async def record(
    session: AsyncSession,
    *,
    principal: Principal,
    dossier: Dossier,
    author_kind: AuthorKind,
    current: DossierOpinion | None,
    request: OpinionIn,
) -> tuple[DossierOpinion, bool]:
    """Record or replace the caller's organisation's opinion (the same content again keeps the version); a funder's
    may make the dossier ready for the committee. Returns the opinion and whether it was created."""
    _check_amount(author_kind, request)
    content = request.model_dump(mode="json")
    if current is not None and all(getattr(current, name) == value for name, value in content.items()):
        return current, False
    created = current is None
    if current is None:
        assert principal.organisation_id is not None  # writable_dossier refused a caller of no organisation
        current = DossierOpinion(
            dossier_id=dossier.id,
            organisation_id=principal.organisation_id,
            author_kind=author_kind,
            author=principal.subject,
            **content,
        )
        session.add(current)
    else:
        for name, value in content.items():
            setattr(current, name, value)
        current.author = principal.subject
        current.version += 1
        current.updated_at = utcnow()
    # The trail says who spoke, never what: the holder reads the trail, and only co-funders read opinions.
    session.add(trace(dossier, principal, "opinion_recorded", dossier.state))
    await session.flush()
    if author_kind == FUNDER:  # a council's opinion is advisory: it never makes a dossier ready
        await routing.settle(session, dossier=dossier, principal=principal)
    return current, created


async def visible_opinions(
    session: AsyncSession, *, principal: Principal, dossier_id: uuid.UUID, peers: Peers
) -> list[DossierOpinion]:
    """The desk and the funders the dossier is routed to read every opinion; a citizen council, its own."""
    dossier = await visible_dossier(session, principal=principal, dossier_id=dossier_id, peers=peers)
    if not principal.has_any_role(COUNCIL_ROLES | DESK_ROLES | FUNDER_ROLES):
        # the holder knows its dossier exists, but not what the funders think of it
        raise Forbidden(Text("Les avis ne vous sont pas communiqués.", "Opinions are not shared with you."))
    # A funder that declined the dossier has no say on it any more: its opinion, if any, is left out.
    routed = set() if principal.has_any_role(COUNCIL_ROLES) else await dossiers_repository.routed_funders(
        session, dossier.id
    )
    return await repository.opinions(session, repository.readable_opinions(principal, dossier.id, routed))


def to_public(opinion: DossierOpinion) -> OpinionPublic:
    return OpinionPublic(**opinion.model_dump())
