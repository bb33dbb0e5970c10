"""An association's profile, as the CERFA 12156 asks it: entered once, reused by every dossier."""

from typing import Annotated

from fastapi import APIRouter, Body, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.etag import if_match_parameter
from common.problems import problem_responses
from common.resources import with_etag
from services.identity import profiles
from services.identity.deps import CurrentProfile, WrittenProfile
from services.identity.guards import ProfileWrite
from services.identity.profile_schemas import ProfileIn, ProfilePublic

router = APIRouter(prefix="/organisations", tags=["organisations"])

PROFILE_PATH = "/{organisation_id}/profile"
EXAMPLE = {
    "legal_representative": {
        "name": "Awa Diallo",
        "function": "Présidente",
        "email": "presidence@blosne-avenir.example",
        "phone": "02 99 00 00 00",
    },
    "contact": {"name": "Yann Guillou", "function": "Coordinateur", "email": "coordination@blosne-avenir.example"},
    "address": {"street_lines": ["12 rue du Blosne"], "postcode": "35200", "city": "Rennes", "insee_code": "35238"},
    "people": {"volunteers": 40, "employees": 4, "fte": "3.50", "members": 120, "paying_members": 95},
    "approvals": [
        {
            "kind": "Jeunesse et éducation populaire",
            "number": "35-JEP-2019-04",
            "authority": "Préfecture d'Ille-et-Vilaine",
            "granted_on": "2019-06-14",
        }
    ],
    "networks": [{"name": "Fédération des centres sociaux d'Ille-et-Vilaine", "rna": "W353000001"}],
    "public_aid": [],
}


def _get_profile_link() -> dict[str, dict]:
    return {
        "GetProfile": {"operationId": "get_profile", "parameters": {"organisation_id": "$request.path.organisation_id"}}
    }


@router.get(
    PROFILE_PATH,
    summary="Profil de l'association (identification du CERFA 12156 ; aides publiques des trois dernières années)",
    response_model=ProfilePublic,
    responses={
        **problem_responses(401, 403, 404, 409, 422),
        200: {
            "links": {
                "ReplaceProfile": {
                    "operationId": "replace_profile",
                    "parameters": {
                        "organisation_id": "$request.path.organisation_id",
                        "header.If-Match": "$response.header.ETag",
                    },
                }
            }
        },
    },
)
async def get_profile(
    profile: CurrentProfile, session: SessionDep, response: Response, clock: ClockDep
) -> ProfilePublic:
    """Read by the association's members, the desk, the platform admin and the desk's services; blank (ETag "0")
    until the association fills it in.

    Public aid is shown for the current year and the three before only (the form's "last three years"): after
    1 January, the lines of the year that left the window are no longer shown, nor counted in the totals and the
    153,000 € flag; the ETag does not change for that, since nothing was written."""
    with_etag(response, profile)
    return await profiles.to_public(session, profile.organisation_id, profile.row, clock.today())


@router.put(
    PROFILE_PATH,
    summary=(
        "Saisir ou remplacer le profil de l'association (If-Match requis dès qu'il est saisi ; aides publiques "
        "de l'année et des trois précédentes)"
    ),
    response_model=ProfilePublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
        200: {"description": "Profil remplacé (inchangé : même ETag)", "links": _get_profile_link()},
        201: {"description": "Profil saisi une première fois", "model": ProfilePublic, "links": _get_profile_link()},
    },
    openapi_extra=if_match_parameter(required=False),
)
async def replace_profile(
    written: WrittenProfile,
    body: Annotated[ProfileIn, Body(openapi_examples={"profil": {"summary": "Un profil complet", "value": EXAMPLE}})],
    response: Response,
    session: SessionDep,
    admin: ProfileWrite,
    clock: ClockDep,
) -> ProfilePublic:
    """By the association's admins (people only) or the platform's; 404 for another organisation. The first PUT
    fills the blank profile in (201; If-Match "0" or none); later ones replace it whole under If-Match (428
    without it, 412 on a stale one).

    Each public aid line is for the current year or one of the three before. A line older than that is refused,
    unless it is one already stored, sent back unchanged (a profile read before 1 January and written back after):
    it is then accepted but not kept, as it is no longer shown. A replacement that changes nothing else keeps its
    ETag; the next one that does deletes the lines older than the window."""
    organisation, current = written
    profile, created = await profiles.save_profile(
        session, principal=admin, organisation=organisation, current=current, request=body, today=clock.today()
    )
    with_etag(response, profile)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/organisations/{organisation.id}/profile"
    return await profiles.to_public(session, organisation.id, profile, clock.today())
