"""The OpenAPI preset of a route that moves a dossier, in whichever room (instruction, committee): it answers the
dossier, takes an optional If-Match and declares its problems."""

from common.etag import if_match_parameter
from common.problems import problem_responses
from services.funding.dossiers.schemas import DossierPublic

MOVE = {
    "response_model": DossierPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 502),
    "openapi_extra": if_match_parameter(required=False),
}
