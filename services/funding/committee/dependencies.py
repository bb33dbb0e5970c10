"""The committee's resources as dependencies: a session as read, as changed or as used in session, a member's
seat on an item, a small project to decide; and what identity says, asked before anything is locked."""

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import BaseModel

from common.db import Database, SessionDep
from common.etag import check_if_match
from common.resources import locked_resource, resource, validated_body
from services.funding.committee import closing, decisions, delegated, planning, repository, scoring
from services.funding.committee.auth import (
    CommitteeMember,
    ScoreReader,
    SessionPlanner,
    SessionReader,
    SmallProjectDecider,
)
from services.funding.committee.decisions import Seat
from services.funding.committee.schemas import (
    Agenda,
    ConflictDeclaration,
    DecisionIn,
    Deferral,
    Invitations,
    Opening,
    PlanRaise,
    ScoreIn,
    SessionUpdate,
)
from services.funding.models.committee import CommitteeSession
from services.funding.models.dossier import Dossier
from services.funding.peers import PeersDep

Cards = dict[uuid.UUID, dict[str, Any] | None]
SessionId = Annotated[uuid.UUID, Path()]
ItemId = Annotated[uuid.UUID, Path()]


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


# What identity says, read before the row is locked: on SQLite the writer's first statement takes the database's
# write lock, which no call to another service may hold.
async def _invited_cards(body: Invitations, peers: PeersDep) -> Cards:
    """The funders the desk invites, as identity knows them."""
    return await planning.organisation_cards(peers, body.funder_ids)


async def _holders_cards(
    session_id: SessionId, request: Request, caller: SessionPlanner, peers: PeersDep
) -> Cards:
    """The agenda's associations (names and addresses), for the closing's minutes and notifications."""
    async with _database(request).transaction(write=False) as reading:
        found = await repository.readable_session(reading, caller, session_id)
        to_ask = await closing.holders_to_ask(reading, found)
    return await planning.organisation_cards(peers, to_ask)


async def _small_project_cards(
    dossier_id: Annotated[uuid.UUID, Path()], request: Request, caller: SmallProjectDecider, peers: PeersDep
) -> Cards:
    """The association's and the deciding funder's names and addresses."""
    async with _database(request).transaction(write=False) as reading:
        to_ask = await delegated.organisations_to_ask(reading, caller, dossier_id)
    return await planning.organisation_cards(peers, to_ask)


INVITED_CARDS = Depends(_invited_cards)
HOLDERS_CARDS = Depends(_holders_cards)
SMALL_PROJECT_CARDS = Depends(_small_project_cards)
InvitedCards = Annotated[Cards, INVITED_CARDS]
HoldersCards = Annotated[Cards, HOLDERS_CARDS]
SmallProjectCards = Annotated[Cards, SMALL_PROJECT_CARDS]

# A session as read.
CurrentSession = Annotated[CommitteeSession, resource(
    repository.readable_session, path="session_id", caller=SessionReader,
)]
# A session whose members' scores the desk reads.
ScoresReadSession = Annotated[CommitteeSession, resource(
    repository.readable_session, path="session_id", caller=ScoreReader,
)]


def _planned(body: type[BaseModel] | None, *, before: Sequence[Any] = ()) -> Any:
    """A session the desk edits (title, invitations, agenda, deletion): locked, If-Match required."""
    first = [validated_body(body)] if body else []
    return locked_resource(repository.session_for_change, path="session_id", caller=SessionPlanner,
                           if_match_required=True, before=[*first, *before], idempotent=False)


def _moved(body: type[BaseModel] | None, *, before: Sequence[Any] = ()) -> Any:
    """A session the desk moves (opens, defers or raises an item in, closes): locked, If-Match optional."""
    first = [validated_body(body)] if body else []
    return locked_resource(repository.session_for_change, path="session_id", caller=SessionPlanner,
                           if_match_required=False, before=[*first, *before])


# A session the desk edits, locked; If-Match required.
DeletedSession = Annotated[CommitteeSession, _planned(None)]
UpdatedSession = Annotated[CommitteeSession, _planned(SessionUpdate)]
InvitingSession = Annotated[CommitteeSession, _planned(None, before=[INVITED_CARDS])]
AgendaSession = Annotated[CommitteeSession, _planned(Agenda)]
# A session the desk moves, locked; If-Match optional.
OpenedSession = Annotated[CommitteeSession, _moved(Opening)]
DeferringSession = Annotated[CommitteeSession, _moved(Deferral)]
RaisingSession = Annotated[CommitteeSession, _moved(PlanRaise)]
ClosedSession = Annotated[CommitteeSession, _moved(None, before=[HOLDERS_CARDS])]
# A session a member declares a conflict of interest in, share-locked.
DeclaredSession = Annotated[CommitteeSession, locked_resource(
    repository.session_in_use, path="session_id", caller=CommitteeMember, if_match_required=False,
    before=[validated_body(ConflictDeclaration)],
)]


async def _seat(
    caller: CommitteeMember, session_id: SessionId, item_id: ItemId, body: DecisionIn, request: Request,
    session: SessionDep,
) -> Seat:
    """Where the member's funder decides on the item (session share-locked, item and dossier locked); If-Match,
    against the funder's decision, is required once it exists. `body` (the route's) is valid before any lock."""
    committee = await repository.session_in_use(session, caller, session_id)
    place = await decisions.seat(session, principal=caller, committee=committee, item_id=item_id)
    check_if_match(request, place.current.version if place.current else 0, required=place.current is not None)
    return place


async def _scored_session(
    caller: CommitteeMember, session_id: SessionId, item_id: ItemId, body: ScoreIn, request: Request,
    session: SessionDep,
) -> CommitteeSession:
    """The session (share-locked) a member scores an item in; If-Match, against the member's scores on the item,
    is required once they exist. `body` (the route's) is valid before any lock."""
    committee = await repository.session_in_use(session, caller, session_id)
    current = await scoring.current_score(session, item_id, caller.subject)
    check_if_match(request, current.version if current else 0, required=current is not None)
    return committee


async def _agenda_item_id(item_id: ItemId) -> uuid.UUID:
    return item_id


# The item a route acts on, read after the session (a dependency, so that the session's id comes first).
AgendaItemId = Annotated[uuid.UUID, Depends(_agenda_item_id)]
DecisionSeat = Annotated[Seat, Depends(_seat)]
ScoringSession = Annotated[CommitteeSession, Depends(_scored_session)]

# A small project its lead funder's manager decides: the dossier locked, If-Match optional.
DecidedDossier = Annotated[Dossier, locked_resource(
    delegated.decidable, path="dossier_id", caller=SmallProjectDecider, if_match_required=False,
    before=[validated_body(DecisionIn), SMALL_PROJECT_CARDS],
)]
