"""GET /api/v1/me: the signed-in person, the organisation they act for, their roles and memberships."""

import pytest

from scripts import demo_data
from services.identity.tests.helpers import (
    ACCEPT_URL,
    SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET,
    client_credentials,
    create_client,
    demo_org,
    invite,
    password_login,
)
from tests.support.stack import Api, problem
from tests.support.world import EMAIL_BY_ROLE, HOLDER, OTHER_HOLDER, World

ME = "/api/v1/me"


class TestMe:
    @pytest.mark.parametrize("role", sorted(EMAIL_BY_ROLE))
    def test_returns_the_person_their_organisation_and_roles(self, world: World, role: str) -> None:
        user = next(u for u in demo_data.USERS if u.email == EMAIL_BY_ROLE[role])
        organisation = demo_data.organisation(user.organisation)
        response = world.as_("identity", user.email).get(ME)
        assert response.status_code == 200, response.text
        me = response.json()
        assert me["person"] == {"id": str(user.id), "email": user.email, "full_name": user.full_name}
        assert me["organisation_id"] == str(organisation.id)
        assert me["roles"] == sorted(user.roles)
        assert me["memberships"] == [
            {
                "organisation_id": str(organisation.id),
                "organisation_name": organisation.name,
                "organisation_kind": organisation.kind,
                "roles": list(user.roles),
            }
        ]
        assert "password" not in response.text

    def test_lists_every_membership_and_acts_for_the_chosen_one(self, world: World, anonymous: Api) -> None:
        _invitation, invited = invite(world, HOLDER, demo_org("blosne-avenir"), OTHER_HOLDER, ["holder_member"])
        accepted = anonymous.post(ACCEPT_URL, token=world.login(OTHER_HOLDER), json={"token": invited})
        assert accepted.status_code == 201, accepted.text
        token = password_login(anonymous, OTHER_HOLDER, organisation_id=demo_org("blosne-avenir")).json()[
            "access_token"
        ]
        me = anonymous.get(ME, token=token).json()
        assert me["organisation_id"] == demo_org("blosne-avenir")
        assert me["roles"] == ["holder_member"]
        assert {(m["organisation_id"], tuple(m["roles"])) for m in me["memberships"]} == {
            (demo_org("maurepas-solidaire"), ("holder_admin",)),
            (demo_org("blosne-avenir"), ("holder_member",)),
        }

    def test_without_a_token_is_a_401_problem(self, anonymous: Api) -> None:
        response = anonymous.get(ME)
        assert response.status_code == 401
        assert problem(response)["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer not-a-jwt", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c"],
        ids=["garbage", "empty-bearer", "basic", "three-garbage-parts"],
    )
    def test_an_unusable_authorization_header_is_401(self, anonymous: Api, authorization: str) -> None:
        response = anonymous.get(ME, headers={"Authorization": authorization})
        assert response.status_code == 401
        assert problem(response)["code"] in {"invalid_token", "unauthorized"}

    def test_answers_in_english_on_request(self, anonymous: Api) -> None:
        french = problem(anonymous.get(ME))
        english = problem(anonymous.get(ME, headers={"Accept-Language": "en-GB,en;q=0.9"}))
        assert english["code"] == french["code"]
        assert english["title"] != french["title"]
        assert english["title"] == "Authentication required"

    def test_a_machine_client_has_no_person_behind_it(self, world: World, anonymous: Api) -> None:
        created = create_client(world, HOLDER, ["projects:read"])
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        response = anonymous.get(ME, token=token)
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"

    def test_a_service_token_is_403(self, anonymous: Api) -> None:
        token = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET).json()["access_token"]
        response = anonymous.get(ME, token=token)
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
