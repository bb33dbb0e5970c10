"""A token carrying a funder's or an association's role but naming no organisation reads nothing: read as None,
its organisation would mean "every funder". Identity never issues one; the reads refuse it all the same."""

import pytest

from services.identity.keys import KeyStore
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.tokens import claims_for
from tests.support.world import World


def _token_without_organisation(world: World, role: str, org_kind: str) -> str:
    keys = KeyStore.from_pem(world.stack.signing_key_file.read_bytes())
    return keys.sign(claims_for(organisation_id=None, org_kind=org_kind, roles=[role], scope="exports:read"))


@pytest.mark.parametrize("url", ["/api/v1/decisions", f"/api/v1/stats/funder?year={TODAY.year}"])
def test_a_funder_role_without_an_organisation_reads_no_funder_s_figures(world: World, url: str) -> None:
    token = _token_without_organisation(world, "funder_manager", "funder")
    response = world.stack.api("funding").get(url, token=token)
    assert response.status_code == 403, response.text
    assert problem(response)["code"] == "no_organisation"


def test_an_association_role_without_an_organisation_reads_no_home(world: World) -> None:
    token = _token_without_organisation(world, "holder_admin", "association")
    response = world.stack.api("funding").get("/api/v1/stats/association", token=token)
    assert response.status_code == 403, response.text
    assert problem(response)["code"] == "no_organisation"
