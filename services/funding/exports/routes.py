"""Exports: the SCDL "subventions" 2.1.1 CSV of a funder's grants for a year (open data, public as the law wants
it), and a funder's bulk exports of its dossiers, decisions and payments (CSV or JSON Lines)."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from common.db import SessionDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam
from common.problems import Text, problem_responses, request_language
from common.streaming import primed
from services.funding.exports import bulk as bulk_exports
from services.funding.exports import scdl
from services.funding.exports.auth import BulkExporter
from services.funding.exports.dependencies import DatabaseDep
from services.funding.exports.schemas import ExcludedRowPublic
from services.funding.peers import PeersDep

router = APIRouter(prefix="/exports", tags=["exports"])


EXCLUDED_HEADER = "X-SCDL-Excluded-Rows"
REPORT_HEADER = "X-SCDL-Excluded-Report"


@router.get(
    "/scdl",
    summary="Données ouvertes : les subventions d'un financeur pour une année, au format SCDL « subventions » 2.1.1",
    description="Public, sans jeton (décret 2017-779). Valide au sens du validateur officiel (validata) pour le "
    "schéma SCDL « subventions » 2.1.1. Une ligne par subvention notifiée et par année : une décision "
    "d'attribution dès son envoi, une convention dès qu'elle est conclue (signée par l'association et par chaque "
    "financeur partie, y compris une convention à plusieurs financeurs) ; `dateConvention` est ce jour-là. Une CPO "
    "publie le montant de chaque année dans le fichier de cette année. La ligne est écrite à la notification et "
    "reste un fait de son année : noms, identifiants, montant, objet et références y sont figés (un changement de "
    "nom de l'association, l'annulation d'un versement ou l'avenant d'une autre année ne la réécrivent pas ; un "
    "avenant se voit dans l'année qu'il change). `conditionsVersement` vaut `unique` pour un versement, "
    "`échelonné` pour plusieurs ; `datesPeriodeVersement` donne la date réelle de chaque versement de l'année, "
    "sinon sa date prévue (`date/date` quand il y en a plusieurs). `idBeneficiaire` est le SIRET valide de "
    "l'association ; `rnaBeneficiaire` son RNA quand il est de la forme du schéma (`W` et 9 chiffres) : un RNA "
    "contenant des lettres n'y figure pas, la ligne s'appuie alors sur le SIRET. Une association sans l'un ni "
    f"l'autre reste hors du fichier : l'en-tête `{EXCLUDED_HEADER}` compte ces lignes et `{REPORT_HEADER}` donne "
    "l'adresse du rapport JSON qui les liste avec leur raison (`GET /api/v1/exports/scdl/excluded`). Un financeur "
    "sans SIRET valide reçoit un problème 409 `funder_without_siret` (aucune ligne ne serait valide sans "
    "`idAttribuant`). `referenceDecision` est la référence que le financeur a donnée à sa décision "
    "(`decision_reference`), sinon le numéro de la convention ou de la décision au guichet, qui commence par la "
    "référence du fil (celle d'une CPO et de son renouvellement) ; `nature`, "
    "`notificationUE`, `idRAE` et `dispositifAide` (le code stable du dispositif, sinon l'identifiant du "
    "programme) viennent du programme (`PATCH /api/v1/programmes/{id}`), tels qu'ils étaient à la notification. "
    "`pourcentageSubvention` vaut 1.00 (un seul bénéficiaire). CSV UTF-8, virgules, envoyé au fil de l'eau.",
    response_class=StreamingResponse,
    responses={**problem_responses(404, 409, 422), 200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "headers": {
            EXCLUDED_HEADER: {"description": "Le nombre de lignes laissées hors du fichier (0 : aucune).",
                              "schema": {"type": "integer", "minimum": 0}},
            REPORT_HEADER: {"description": "Le rapport JSON de ces lignes, avec leur raison.",
                            "schema": {"type": "string"}},
        },
    }},
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
    card = await scdl.known_funder(peers, funder)
    scdl.funder_siret(card, funder)
    async with database.transaction(write=False) as session:
        excluded = await scdl.excluded_count(session, peers, funder_id=funder, year=year)
    lines = scdl.streamed_csv(database, peers, funder=card, funder_id=funder, year=year)
    return StreamingResponse(await primed(lines), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="subventions-{funder}-{year}.csv"',
        EXCLUDED_HEADER: str(excluded),
        REPORT_HEADER: f"/api/v1/exports/scdl/excluded?funder={funder}&year={year}",
    })


EXCLUDED_TEXT = Text(
    "Ni SIRET valide ni RNA de la forme W et 9 chiffres : le schéma SCDL exige l'un ou l'autre pour le "
    "bénéficiaire. Renseigner le SIRET de l'association la fait paraître.",
    "No valid SIRET and no RNA of the form W and 9 digits: the SCDL schema requires one of them for the "
    "beneficiary. Entering the association's SIRET publishes it.",
)


@router.get(
    "/scdl/excluded",
    summary="Données ouvertes : les subventions notifiées laissées hors du fichier SCDL d'un financeur, et pourquoi",
    description="Public, sans jeton, comme le fichier. Les lignes d'une année qu'`/exports/scdl` ne publie pas, "
    "avec leur raison : `beneficiary_without_siret_or_rna` (l'association n'a ni SIRET valide ni RNA de la forme "
    "du schéma, `W` et 9 chiffres). Leur nombre est l'en-tête `X-SCDL-Excluded-Rows` du fichier. Paginé par "
    "curseur ; une page peut compter moins d'éléments que `limit` (suivre `next_cursor` jusqu'au bout).",
    response_model=Page[ExcludedRowPublic],
    responses=problem_responses(400, 404, 422),
)
async def excluded_scdl_rows(
    request: Request,
    session: SessionDep,
    peers: PeersDep,
    funder: Annotated[uuid.UUID, Query(description="L'identifiant du financeur au guichet.")],
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[ExcludedRowPublic]:
    """Anyone: the funder's notified rows of the year kept out of its SCDL file, with the reason; 404 `not_found`
    when identity knows no such funder. (The operation's description is the French text above.)"""
    await scdl.known_funder(peers, funder)
    found, next_cursor = await scdl.excluded_rows(session, peers, funder_id=funder, year=year, limit=limit,
                                                  cursor=cursor)
    message = EXCLUDED_TEXT.pick(request_language(request))
    return Page(items=[ExcludedRowPublic(
        grant_id=e.row.grant_id, agreement_id=e.row.agreement_id, year=e.row.year,
        reference_decision=e.row.reference_decision, organisation_id=e.row.organisation_id,
        beneficiary_name=e.name, reason="beneficiary_without_siret_or_rna", message=message,
    ) for e in found], next_cursor=next_cursor)


MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@router.get(
    "/{kind}",
    summary="Export en masse pour un financeur : ses dossiers, ses décisions ou ses versements (CSV ou JSON Lines)",
    description="Un financeur exporte les dossiers qui lui sont orientés, ses décisions en séance, ses versements ; "
    "le guichet, ceux d'un financeur (`funder_id`) ou de tous. Envoyé au fil de l'eau, par lots, dans l'ordre de "
    "création ; `updated_since` ne garde que ce qui a changé depuis. Chaque colonne porte le nom du champ de l'API "
    "qui donne la même valeur (`granted_amount_cents` d'une décision, comme `GET /decisions`) ; seules `title`, "
    "`qpv_codes` et `asked_cents` (dossiers) et `reference` (la référence du dossier) sont propres à l'export. "
    "`thread_reference` est la référence à citer, celle du fil (la même d'une CPO à son renouvellement) ; "
    "`reference` la référence propre du dossier, à côté.",
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
