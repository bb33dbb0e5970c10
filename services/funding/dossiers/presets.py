"""The OpenAPI preset of a route that moves a dossier, in whichever room (instruction, committee): it answers the
dossier, takes an optional If-Match and declares its problems (502 included: such moves may ask another
service)."""

from common.resources import move_route
from services.funding.dossiers.schemas import DossierPublic

MOVE = move_route(DossierPublic, upstream=True)
