"""Open data: the SCDL "subventions" 2.1.1 CSV of a funder's grants for a year, public as the law wants it."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from common.problems import NotFound, Text, problem_responses
from services.funding import scdl
from services.funding.deps import PeersDep
from services.vocabulary import OrganisationKind

router = APIRouter(prefix="/exports", tags=["exports"])


@router.get(
    "/scdl",
    summary="Données ouvertes : les subventions d'un financeur pour une année, au format SCDL « subventions » 2.1.1",
    description="Public, sans jeton (décret 2017-779). Une ligne par subvention notifiée (convention envoyée, "
    "signée, en vigueur ou terminée) ; `montant` est ce qui est accordé hors versements annulés ; "
    "`conditionsVersement` et `datesPeriodeVersement` viennent de l'échéancier ; `pourcentageSubvention` vaut "
    "1.00 (un seul bénéficiaire). CSV UTF-8, virgules, envoyé au fil de l'eau.",
    response_class=StreamingResponse,
    responses={**problem_responses(404, 422), 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_scdl(
    request: Request,
    peers: PeersDep,
    funder: Annotated[uuid.UUID, Query(description="L'identifiant du financeur au guichet.")],
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
) -> StreamingResponse:
    card = await peers.organisation(funder)
    if card is None or card.get("kind") != OrganisationKind.funder:
        raise NotFound(Text("Financeur inconnu.", "Unknown funder."))

    async def lines():  # its own session: the request's is closed once the response starts
        async with request.app.state.db.reader() as session:
            async for line in scdl.rows(session, peers, funder_id=funder, year=year):
                yield line.encode()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="subventions-{funder}-{year}.csv"'})
