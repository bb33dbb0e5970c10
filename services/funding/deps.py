"""Funding's typed dependencies."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request

from services.funding.fields import QpvCode
from services.funding.models.programme import Track
from services.funding.peers import Peers
from services.funding.repository import DossierFilters


def _peers(request: Request) -> Peers:
    return request.app.state.peers


PeersDep = Annotated[Peers, Depends(_peers)]


def _dossier_filters(
    programme_id: Annotated[uuid.UUID | None, Query(description="Le programme du dossier.")] = None,
    track: Annotated[Track | None, Query(description="Le parcours du programme du dossier.")] = None,
    qpv: Annotated[QpvCode | None, Query(description="Un QPV du projet, tel qu'au dépôt du dossier.")] = None,
    priority: Annotated[str | None, Query(
        pattern=r"^[a-z_]{1,40}$", description="Une priorité du projet, telle qu'au dépôt du dossier.",
    )] = None,
) -> DossierFilters:
    """The dossier filters every list hanging off a dossier shares (its year is each list's own: see its route)."""
    return DossierFilters(programme_id=programme_id, track=track, qpv=qpv, priority=priority)


DossierFiltersDep = Annotated[DossierFilters, Depends(_dossier_filters)]
