"""Every door refuses every forgery with a 401 problem: each service in process, and the gateway live."""

import httpx
import pytest

from scripts import demo_data
from services.identity.keys import KeyStore, generate_pem
from tests.support.stack import problem
from tests.support.tokens import claims_for, forgeries
from tests.support.world import HOLDER, World

# One protected read per door, that a holder_admin may call.
DOORS = {"identity": "/api/v1/me", "projects": "/api/v1/projects", "funding": "/api/v1/dossiers"}
HOLDER_USER = next(u for u in demo_data.USERS if u.email == HOLDER)
KINDS = sorted(forgeries(KeyStore.from_pem(generate_pem()), claims_for(organisation_id="x", roles=[])))


def holder_claims() -> dict:
    return claims_for(organisation_id=str(demo_data.organisation("blosne-avenir").id), roles=["holder_admin"],
                      subject=str(HOLDER_USER.id))


class TestServicesInProcess:
    def test_a_well_made_token_opens_every_door(self, world: World) -> None:
        token = KeyStore.from_pem(world.stack.signing_key_file.read_bytes()).sign(holder_claims())
        for service, path in DOORS.items():
            assert world.stack.api(service).get(path, token=token).status_code == 200, service

    @pytest.mark.parametrize("forgery", KINDS)
    def test_a_forgery_gets_401_everywhere(self, world: World, forgery: str) -> None:
        keys = KeyStore.from_pem(world.stack.signing_key_file.read_bytes())
        token = forgeries(keys, holder_claims())[forgery]()
        for service, path in DOORS.items():
            response = world.stack.api(service).get(path, token=token)
            assert response.status_code == 401, (service, forgery, response.text)
            assert problem(response)["code"] in ("invalid_token", "unauthorized")

    def test_a_refresh_token_is_not_an_access_token(self, world: World) -> None:
        response = world.identity.post("/api/v1/auth/token", json={
            "grant_type": "password", "username": HOLDER, "password": demo_data.DEMO_PASSWORD})
        refresh = response.json()["refresh_token"]
        for service, path in DOORS.items():
            assert world.stack.api(service).get(path, token=refresh).status_code == 401, service


class TestGateway:
    @pytest.mark.parametrize("forgery", KINDS)
    def test_the_gateway_refuses_forgeries_before_any_service(self, live, forgery: str) -> None:
        keys = KeyStore.from_pem(live.key_file.read_bytes())
        token = forgeries(keys, holder_claims())[forgery]()
        response = httpx.get(live.url() + "/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (forgery, response.text)
        assert problem(response)["code"] == "invalid_token"

    def test_a_well_made_token_passes_the_gateway(self, live) -> None:
        token = KeyStore.from_pem(live.key_file.read_bytes()).sign(holder_claims())
        response = httpx.get(live.url() + "/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
