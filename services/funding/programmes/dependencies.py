"""The programme a route names in its path, loaded (or 404) for the caller."""

from typing import Annotated

from common.resources import resource
from services.funding.models.programme import Programme
from services.funding.programmes import service
from services.funding.programmes.auth import ProgrammeReader

CurrentProgramme = Annotated[
    Programme, resource(service.readable_programme, path="programme_id", caller=ProgrammeReader)
]
