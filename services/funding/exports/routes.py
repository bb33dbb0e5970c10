"""Exports: the SCDL "subventions" 2.1.1 CSV of a funder's grants for a year (open data, public as the law wants
it), and a funder's bulk exports of its dossiers, decisions and payments (CSV or JSON Lines)."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from common.pagination import UpdatedSinceParam
from common.problems import problem_responses
from common.streaming import primed
from services.funding.exports import bulk as bulk_exports
from services.funding.exports import scdl
from services.funding.exports.auth import BulkExporter
from services.funding.exports.dependencies import DatabaseDep
from services.funding.peers import PeersDep

router = APIRouter(prefix="/exports", tags=["exports"])


@router.get(
    "/scdl",
    summary="Données ouvertes : les subventions d'un financeur pour une année, au format SCDL « subventions » 2.1.1",
    description="Public, sans jeton (décret 2017-779). Valide au sens du validateur officiel (validata) pour le "
    "schéma SCDL « subventions » 2.1.1. Une ligne par subvention notifiée : une décision d'attribution dès son "
    "envoi, une convention dès qu'elle est conclue (signée par l'association et par chaque financeur partie) ; "
    "`dateConvention` est ce jour-là. `montant` est ce qui est accordé. `conditionsVersement` vaut `unique` pour "
    "un versement, `échelonné` pour plusieurs ; `datesPeriodeVersement` donne la date réelle de chaque versement "
    "fait, sinon sa date prévue (`date/date` quand il y en a plusieurs). `idBeneficiaire` est le SIRET valide de "
    "l'association ; `rnaBeneficiaire` son RNA quand il est de la forme du schéma (`W` et 9 chiffres) : un RNA "
    "contenant des lettres n'y figure pas, la ligne s'appuie alors sur le SIRET, et une association sans l'un ni "
    "l'autre reste hors du fichier. Un financeur sans SIRET valide reçoit un problème 409 "
    "`funder_without_siret` (aucune ligne ne serait valide sans `idAttribuant`). `pourcentageSubvention` vaut "
    "1.00 (un seul bénéficiaire). CSV UTF-8, virgules, envoyé au fil de l'eau.",
    response_class=StreamingResponse,
    responses={**problem_responses(404, 409, 422), 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_scdl(
    database: DatabaseDep,
    peers: PeersDep,
    funder: Annotated[uuid.UUID, Query(description="L'identifiant du financeur au guichet.")],
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
) -> StreamingResponse:
    """Anyone, without a token: a funder's notified grants of the year as SCDL open data, streamed; 404
    `not_found` when identity knows no such funder, 409 `funder_without_siret` when it has no valid SIRET. (The
    operation's description is the French text above.)"""
    lines = scdl.streamed_csv(database, peers, funder_id=funder, year=year)
    return StreamingResponse(await primed(lines), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="subventions-{funder}-{year}.csv"'})


MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@router.get(
    "/{kind}",
    summary="Export en masse pour un financeur : ses dossiers, ses décisions ou ses versements (CSV ou JSON Lines)",
    description="Un financeur exporte les dossiers qui lui sont orientés, ses décisions en séance, ses versements ; "
    "le guichet, ceux d'un financeur (`funder_id`) ou de tous. Envoyé au fil de l'eau, par lots, dans l'ordre de "
    "création ; `updated_since` ne garde que ce qui a changé depuis.",
    response_class=StreamingResponse,
    responses={**problem_responses(400, 401, 403, 422), 200: {"content": {
        "text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}},
)
async def bulk_export(
    database: DatabaseDep,
    caller: BulkExporter,
    kind: Literal["dossiers", "decisions", "payments"],
    format: Annotated[Literal["csv", "jsonl"], Query()] = "csv",  # noqa: A002
    funder_id: Annotated[uuid.UUID | None, Query(description="Le guichet : un financeur (tous sinon).")] = None,
    updated_since: UpdatedSinceParam = None,
) -> StreamingResponse:
    """A funder's people export their own funder's rows (403 `not_your_funder` for another's), the desk one
    funder's or every one's; streamed by batches in creation order. (The operation's description is the French
    text above.)"""
    lines = bulk_exports.streamed_export(
        database, caller, kind=kind, funder_id=funder_id, updated_since=updated_since, jsonl=format == "jsonl"
    )
    return StreamingResponse(await primed(lines), media_type=MEDIA[format], headers={
        "Content-Disposition": f'attachment; filename="{kind}.{format}"'})
