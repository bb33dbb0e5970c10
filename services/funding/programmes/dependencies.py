"""The programme a route names in its path, loaded (or 404) for the caller, or locked for the desk's edit."""

from typing import Annotated

from common.resources import locked_resource, resource, validated_body
from services.funding.models.programme import Programme
from services.funding.programmes import service
from services.funding.programmes.auth import ProgrammeCreator, ProgrammeReader
from services.funding.programmes.schemas import ProgrammeOpenDataUpdate

CurrentProgramme = Annotated[
    Programme, resource(service.readable_programme, path="programme_id", caller=ProgrammeReader)
]
# A programme the desk edits: its body checked first, then locked; If-Match required.
UpdatedProgramme = Annotated[Programme, locked_resource(
    service.programme_for_change, path="programme_id", caller=ProgrammeCreator, if_match_required=True,
    before=[validated_body(ProgrammeOpenDataUpdate)], idempotent=False,
)]
