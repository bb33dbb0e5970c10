"""Machine clients (POST/GET/DELETE /api/v1/clients), the client_credentials grant, and the desk's service clients."""

from datetime import timedelta

import pytest

from common.db import utcnow
from services.identity.models import MachineClient
from services.identity.tests.helpers import (
    SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET,
    TOKEN_URL,
    claims,
    client_credentials,
    count_rows,
    create_client,
    demo_org,
    fetch_rows,
    form_post,
    new_uuid,
    person_id,
    update_rows,
)
from services.vocabulary import CLIENT_ROLE_BY_KIND, SERVICE_SCOPES, OrganisationKind
from tests.support.stack import Api, problem
from tests.support.world import CITY_MANAGER, DESK, EMAIL_BY_ROLE, HOLDER, HOLDER_MEMBER, OTHER_HOLDER, PLATFORM, World

CLIENTS = "/api/v1/clients"
SCOPES = ["projects:read", "projects:write"]


class TestCreateClient:
    def test_anonymous_is_401(self, world: World, anonymous: Api) -> None:
        response = anonymous.post(CLIENTS, json={"name": "x", "scopes": SCOPES})
        assert response.status_code == 401
        assert problem(response)["code"] == "unauthorized"
        assert count_rows(world.stack, MachineClient) == 0

    def test_a_holder_admin_creates_a_client_and_sees_its_secret_once(self, world: World) -> None:
        response = world.as_("identity", HOLDER).post(
            CLIENTS, json={"name": "Logiciel de la fédération", "scopes": SCOPES, "expires_in_days": 30}
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["location"] == f"{CLIENTS}/{created['id']}"
        assert created["client_id"].startswith("cli_")
        assert created["client_secret"]
        assert created["name"] == "Logiciel de la fédération"
        assert created["scopes"] == sorted(SCOPES)
        assert created["revoked_at"] is None
        [row] = fetch_rows(world.stack, MachineClient)
        assert str(row.organisation_id) == demo_org("blosne-avenir")
        assert str(row.created_by) == person_id(HOLDER)
        assert row.secret_hash != created["client_secret"]
        assert created["client_secret"] not in row.secret_hash
        lifetime = row.expires_at - utcnow()
        assert timedelta(days=29) < lifetime <= timedelta(days=30)

    def test_each_client_gets_its_own_id_and_secret(self, world: World) -> None:
        first, second = create_client(world, HOLDER, SCOPES), create_client(world, HOLDER, SCOPES)
        assert first["client_id"] != second["client_id"]
        assert first["client_secret"] != second["client_secret"]

    def test_the_list_shows_the_client_but_never_its_secret(self, world: World) -> None:
        created = create_client(world, HOLDER, SCOPES)
        response = world.as_("identity", HOLDER).get(CLIENTS)
        assert response.status_code == 200
        [listed] = response.json()["items"]
        assert listed["id"] == created["id"] and listed["client_id"] == created["client_id"]
        assert "client_secret" not in listed
        assert created["client_secret"] not in response.text

    def test_the_list_shows_only_the_callers_organisation(self, world: World) -> None:
        mine = create_client(world, HOLDER, SCOPES)
        theirs = create_client(world, OTHER_HOLDER, SCOPES)
        listed = [c["id"] for c in world.as_("identity", HOLDER).get(CLIENTS).json()["items"]]
        assert listed == [mine["id"]]
        assert theirs["id"] not in listed

    def test_a_funder_manager_creates_a_client_acting_as_instructor(self, world: World, anonymous: Api) -> None:
        created = create_client(world, CITY_MANAGER, ["dossiers:read"])
        token = claims(
            client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        )
        assert token["org"] == demo_org("ville")
        assert token["roles"] == [CLIENT_ROLE_BY_KIND[OrganisationKind.funder]]

    @pytest.mark.parametrize("role", ["holder_member", "funder_instructor", "committee_member", "citizen_reviewer"])
    def test_a_role_that_administers_nothing_is_403(self, world: World, role: str) -> None:
        api = world.as_("identity", EMAIL_BY_ROLE[role])
        response = api.post(CLIENTS, json={"name": "x", "scopes": SCOPES})
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert api.get(CLIENTS).status_code == 403
        assert count_rows(world.stack, MachineClient) == 0

    def test_a_machine_client_cannot_create_clients(self, world: World, anonymous: Api) -> None:
        created = create_client(world, DESK, ["dossiers:read"])
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        # A desk client acts as desk_coordinator, an admin role: only the person check stops it.
        response = anonymous.post(CLIENTS, token=token, json={"name": "x", "scopes": ["dossiers:read"]})
        assert response.status_code == 403
        assert anonymous.get(CLIENTS, token=token).status_code == 403
        assert count_rows(world.stack, MachineClient) == 1

    def test_an_organisation_kind_without_machine_clients_is_422(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).post(CLIENTS, json={"name": "x", "scopes": SCOPES})
        assert response.status_code == 422
        problem(response)
        assert count_rows(world.stack, MachineClient) == 0

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "x", "scopes": []},
            {"name": "x", "scopes": ["admin:everything"]},
            {"name": "x", "scopes": SCOPES, "expires_in_days": 0},
            {"name": "x", "scopes": SCOPES, "expires_in_days": 731},
            {"name": "", "scopes": SCOPES},
            {"name": "x", "scopes": SCOPES, "organisation_id": new_uuid()},
            {"name": "x", "scopes": SCOPES, "client_secret": "chosen-by-me"},
        ],
        ids=["no-scope", "unknown-scope", "zero-days", "over-two-years", "empty-name", "other-org", "own-secret"],
    )
    def test_an_invalid_payload_is_422_and_writes_nothing(self, world: World, body: dict) -> None:
        response = world.as_("identity", HOLDER).post(CLIENTS, json=body)
        assert response.status_code == 422, response.text
        assert problem(response)["errors"]
        assert count_rows(world.stack, MachineClient) == 0

    def test_an_idempotency_key_replays_the_same_client(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        body = {"name": "Logiciel", "scopes": SCOPES}
        first = api.post(CLIENTS, json=body, headers={"Idempotency-Key": "create-client-1"})
        again = api.post(CLIENTS, json=body, headers={"Idempotency-Key": "create-client-1"})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert count_rows(world.stack, MachineClient) == 1


class TestClientCredentialsGrant:
    def test_gives_a_client_token_with_the_requested_scopes(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        response = client_credentials(anonymous, created["client_id"], created["client_secret"], "projects:read")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["scope"] == "projects:read"
        assert body.get("refresh_token") is None
        token = claims(body["access_token"])
        assert token["kind"] == "client"
        assert token["sub"] == created["client_id"]
        assert token["scope"] == "projects:read"
        assert token["org"] == demo_org("blosne-avenir")
        assert token["roles"] == [CLIENT_ROLE_BY_KIND[OrganisationKind.association]]
        assert body["expires_in"] == token["exp"] - token["iat"] <= 900

    def test_without_a_scope_every_granted_scope_is_given(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        body = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()
        assert body["scope"].split() == sorted(SCOPES)
        assert claims(body["access_token"])["scope"].split() == sorted(SCOPES)

    def test_works_with_a_form_encoded_body(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        response = form_post(
            anonymous,
            TOKEN_URL,
            {
                "grant_type": "client_credentials",
                "client_id": created["client_id"],
                "client_secret": created["client_secret"],
                "scope": "projects:read projects:write",
            },
        )
        assert response.status_code == 200, response.text
        assert claims(response.json()["access_token"])["scope"].split() == sorted(SCOPES)

    @pytest.mark.parametrize("scope", ["dossiers:write", "projects:read dossiers:read", "organisations:read"])
    def test_a_scope_not_granted_is_400_invalid_scope(self, world: World, anonymous: Api, scope: str) -> None:
        created = create_client(world, HOLDER, SCOPES)
        response = client_credentials(anonymous, created["client_id"], created["client_secret"], scope)
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_scope"
        assert "access_token" not in response.text

    def test_a_wrong_secret_is_401_invalid_client(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        response = client_credentials(anonymous, created["client_id"], created["client_secret"] + "x")
        assert response.status_code == 401
        assert problem(response)["code"] == "invalid_client"

    def test_another_clients_secret_is_401(self, world: World, anonymous: Api) -> None:
        first, second = create_client(world, HOLDER, SCOPES), create_client(world, HOLDER, SCOPES)
        assert client_credentials(anonymous, first["client_id"], second["client_secret"]).status_code == 401

    def test_an_unknown_client_gets_the_same_answer_as_a_wrong_secret(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        wrong_secret = problem(client_credentials(anonymous, created["client_id"], "nope"))
        unknown = problem(client_credentials(anonymous, "cli_unknown", "nope"))
        for body in (wrong_secret, unknown):
            body.pop("request_id", None)
        assert unknown == wrong_secret

    def test_an_expired_client_is_401(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        changed = update_rows(
            world.stack,
            MachineClient,
            [MachineClient.client_id == created["client_id"]],
            expires_at=utcnow() - timedelta(seconds=1),
        )
        assert changed == 1
        assert client_credentials(anonymous, created["client_id"], created["client_secret"]).status_code == 401

    def test_the_client_token_is_accepted_where_its_role_and_scope_allow(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, ["organisations:read"])
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        response = anonymous.get(f"/api/v1/organisations/{demo_org('ville')}", token=token)
        assert response.status_code == 200

    def test_a_client_token_without_the_route_scope_is_403(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        assert anonymous.get(f"/api/v1/organisations/{demo_org('ville')}", token=token).status_code == 403


class TestRevokeClient:
    def test_a_revoked_client_cannot_get_tokens(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        assert client_credentials(anonymous, created["client_id"], created["client_secret"]).status_code == 200
        response = world.as_("identity", HOLDER).delete(f"{CLIENTS}/{created['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["revoked_at"] is not None
        assert "client_secret" not in response.json()
        refused = client_credentials(anonymous, created["client_id"], created["client_secret"])
        assert refused.status_code == 401
        assert problem(refused)["code"] == "invalid_client"

    def test_revoking_twice_keeps_the_first_revocation_time(self, world: World) -> None:
        created = create_client(world, HOLDER, SCOPES)
        api = world.as_("identity", HOLDER)
        first = api.delete(f"{CLIENTS}/{created['id']}").json()
        second = api.delete(f"{CLIENTS}/{created['id']}")
        assert second.status_code == 200
        assert second.json()["revoked_at"] == first["revoked_at"]

    def test_the_list_shows_the_revocation(self, world: World) -> None:
        created = create_client(world, HOLDER, SCOPES)
        api = world.as_("identity", HOLDER)
        api.delete(f"{CLIENTS}/{created['id']}")
        [listed] = api.get(CLIENTS).json()["items"]
        assert listed["revoked_at"] is not None

    def test_another_organisations_admin_gets_404_and_the_client_keeps_working(
        self, world: World, anonymous: Api
    ) -> None:
        created = create_client(world, HOLDER, SCOPES)
        response = world.as_("identity", OTHER_HOLDER).delete(f"{CLIENTS}/{created['id']}")
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"
        [row] = fetch_rows(world.stack, MachineClient)
        assert row.revoked_at is None
        assert client_credentials(anonymous, created["client_id"], created["client_secret"]).status_code == 200

    def test_an_unknown_client_is_404(self, world: World) -> None:
        response = world.as_("identity", HOLDER).delete(f"{CLIENTS}/{new_uuid()}")
        assert response.status_code == 404

    def test_a_holder_member_is_403(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        response = world.as_("identity", HOLDER_MEMBER).delete(f"{CLIENTS}/{created['id']}")
        assert response.status_code == 403
        assert client_credentials(anonymous, created["client_id"], created["client_secret"]).status_code == 200

    def test_anonymous_is_401(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, SCOPES)
        assert anonymous.delete(f"{CLIENTS}/{created['id']}").status_code == 401


class TestServiceClients:
    def test_the_funding_service_gets_a_service_token(self, anonymous: Api) -> None:
        response = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET)
        assert response.status_code == 200, response.text
        token = claims(response.json()["access_token"])
        assert token["kind"] == "service"
        assert token["sub"] == SERVICE_CLIENT_ID
        assert token["org"] is None
        assert token["roles"] == []
        assert set(token["scope"].split()) == {str(s) for s in SERVICE_SCOPES}

    def test_a_service_may_narrow_its_scopes(self, anonymous: Api) -> None:
        response = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, "organisations:read")
        assert response.status_code == 200
        assert claims(response.json()["access_token"])["scope"] == "organisations:read"

    def test_a_service_cannot_ask_for_a_write_scope(self, anonymous: Api) -> None:
        response = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, "dossiers:write")
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_scope"

    @pytest.mark.parametrize(
        ("client_id", "secret"),
        [
            (SERVICE_CLIENT_ID, "wrong"),
            (SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET + "x"),
            ("svc-projects", SERVICE_CLIENT_SECRET),
            ("svc-", SERVICE_CLIENT_SECRET),
            ("svc-funding", "dev-only-service-secret-funding"),
        ],
        ids=["wrong-secret", "longer-secret", "unknown-service", "empty-name", "development-default"],
    )
    def test_a_wrong_service_or_secret_is_401(self, anonymous: Api, client_id: str, secret: str) -> None:
        response = client_credentials(anonymous, client_id, secret)
        assert response.status_code == 401
        assert problem(response)["code"] == "invalid_client"

    def test_the_service_token_reads_organisation_cards(self, anonymous: Api) -> None:
        token = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET).json()["access_token"]
        response = anonymous.get(f"/api/v1/organisations/{demo_org('blosne-avenir')}", token=token)
        assert response.status_code == 200
        assert response.json()["id"] == demo_org("blosne-avenir")

    def test_the_service_token_manages_nothing(self, anonymous: Api) -> None:
        token = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET).json()["access_token"]
        assert anonymous.get(CLIENTS, token=token).status_code == 403
        assert (
            anonymous.get(f"/api/v1/organisations/{demo_org('blosne-avenir')}/members", token=token).status_code == 403
        )
