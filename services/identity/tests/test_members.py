"""GET and POST /api/v1/organisations/{id}/members: an admin manages the people of its own organisation."""

import asyncio
import uuid
from typing import Any

import pytest

from scripts import demo_data
from services.identity.models import Membership, Person
from services.identity.tests.helpers import (
    claims,
    client_credentials,
    count_rows,
    create_client,
    demo_org,
    fetch_rows,
    new_uuid,
    password_login,
)
from services.vocabulary import ROLES_BY_KIND, OrganisationKind
from tests.support.stack import Api, Stack, problem
from tests.support.world import (
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    DESK,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    PLATFORM,
    World,
)

BLOSNE = demo_org("blosne-avenir")
MAUREPAS = demo_org("maurepas-solidaire")
VILLE = demo_org("ville")


def members_url(organisation_id: str) -> str:
    return f"/api/v1/organisations/{organisation_id}/members"


def member(email: str = "nouveau@blosne-avenir.example", roles: list[str] | None = None, **extra: Any) -> dict:
    return {
        "email": email,
        "full_name": "Nouveau Membre",
        "password": "un-mot-de-passe-solide",
        "roles": roles or ["holder_member"],
        **extra,
    }


def _totals(stack: Stack) -> tuple[int, int]:
    return count_rows(stack, Person), count_rows(stack, Membership)


def _members_of(stack: Stack, organisation_id: str) -> int:
    return count_rows(stack, Membership, Membership.organisation_id == uuid.UUID(organisation_id))


class TestAddMember:
    def test_anonymous_is_401(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        response = anonymous.post(members_url(BLOSNE), json=member())
        assert response.status_code == 401
        problem(response)
        assert _totals(world.stack) == before

    def test_the_admin_adds_a_member_who_can_then_log_in(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", HOLDER).post(
            members_url(BLOSNE), json=member(email="Nouveau@Blosne-Avenir.example")
        )
        assert response.status_code == 201, response.text
        added = response.json()
        assert added["email"] == "nouveau@blosne-avenir.example"
        assert added["roles"] == ["holder_member"]
        assert "password" not in response.text
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1)

        login = password_login(anonymous, "nouveau@blosne-avenir.example", "un-mot-de-passe-solide")
        assert login.status_code == 200, login.text
        token = claims(login.json()["access_token"])
        assert token["sub"] == added["person_id"]
        assert token["org"] == BLOSNE
        assert token["roles"] == ["holder_member"]

    def test_the_password_is_stored_hashed(self, world: World) -> None:
        world.as_("identity", HOLDER).post(members_url(BLOSNE), json=member())
        [person] = fetch_rows(world.stack, Person, Person.email == "nouveau@blosne-avenir.example")
        assert person.password_hash.startswith("$argon2id$")

    def test_duplicated_roles_are_stored_once(self, world: World) -> None:
        response = world.as_("identity", HOLDER).post(
            members_url(BLOSNE), json=member(roles=["holder_member", "holder_admin", "holder_member"])
        )
        assert response.status_code == 201
        assert response.json()["roles"] == ["holder_admin", "holder_member"]

    @pytest.mark.parametrize(
        ("admin", "organisation_key"),
        [(HOLDER, "blosne-avenir"), (CITY_MANAGER, "ville"), (DESK, "desk"), (PLATFORM, "platform")],
        ids=["holder_admin", "funder_manager", "desk_coordinator", "platform_admin"],
    )
    def test_every_role_valid_for_the_organisation_kind_is_accepted(
        self, world: World, admin: str, organisation_key: str
    ) -> None:
        kind = OrganisationKind(demo_data.organisation(organisation_key).kind)
        for index, role in enumerate(sorted(ROLES_BY_KIND[kind])):
            response = world.as_("identity", admin).post(
                members_url(demo_org(organisation_key)),
                json=member(email=f"m{index}@{organisation_key}.example", roles=[role]),
            )
            assert response.status_code == 201, (role, response.text)
            assert response.json()["roles"] == [role]

    @pytest.mark.parametrize(
        ("admin", "organisation_key", "role"),
        [
            (HOLDER, "blosne-avenir", "funder_instructor"),
            (HOLDER, "blosne-avenir", "platform_admin"),
            (CITY_MANAGER, "ville", "holder_admin"),
            (CITY_MANAGER, "ville", "platform_admin"),
            (DESK, "desk", "funder_manager"),
        ],
    )
    def test_a_role_not_available_for_the_kind_is_422_and_writes_nothing(
        self, world: World, admin: str, organisation_key: str, role: str
    ) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", admin).post(members_url(demo_org(organisation_key)), json=member(roles=[role]))
        assert response.status_code == 422, response.text
        refused = problem(response)
        assert [e["field"] for e in refused["errors"]] == ["body.roles"]
        assert role in refused["errors"][0]["message"]
        assert _totals(world.stack) == before

    def test_one_refused_role_among_valid_ones_refuses_the_whole_request(self, world: World) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", HOLDER).post(
            members_url(BLOSNE), json=member(roles=["holder_member", "funder_manager"])
        )
        assert response.status_code == 422
        assert _totals(world.stack) == before

    @pytest.mark.parametrize(
        "body",
        [
            member(roles=["superuser"]),
            {**member(), "roles": []},
            member(password="court"),
            member(email="pas-une-adresse"),
            member(organisation_id=MAUREPAS),
            member(is_active=False),
        ],
        ids=["unknown-role", "no-role", "short-password", "bad-email", "organisation-field", "unknown-field"],
    )
    def test_an_invalid_payload_is_422_and_writes_nothing(self, world: World, body: dict) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", HOLDER).post(members_url(BLOSNE), json=body)
        assert response.status_code == 422, response.text
        assert problem(response)["errors"]
        assert _totals(world.stack) == before

    @pytest.mark.parametrize("email", [HOLDER_MEMBER, HOLDER_MEMBER.upper(), HOLDER], ids=["member", "upper", "self"])
    def test_an_existing_member_is_409_and_nothing_changes(self, world: World, email: str) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", HOLDER).post(
            members_url(BLOSNE), json=member(email=email, roles=["holder_admin"])
        )
        assert response.status_code == 409, response.text
        assert problem(response)["code"] == "already_member"
        assert _totals(world.stack) == before
        assert claims(world.login(HOLDER_MEMBER))["roles"] == ["holder_member"]

    def test_a_person_of_another_organisation_joins_without_a_new_account(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", HOLDER).post(
            members_url(BLOSNE), json=member(email=OTHER_HOLDER, password="ignored-for-existing-person")
        )
        assert response.status_code == 201, response.text
        assert _totals(world.stack) == (before[0], before[1] + 1)
        # Their own password still rules; the one in the request was not applied.
        assert password_login(anonymous, OTHER_HOLDER, "ignored-for-existing-person").status_code == 400
        default = claims(password_login(anonymous, OTHER_HOLDER).json()["access_token"])
        assert default["org"] == MAUREPAS and default["roles"] == ["holder_admin"]
        chosen = password_login(anonymous, OTHER_HOLDER, organisation_id=BLOSNE)
        assert chosen.status_code == 200, chosen.text
        token = claims(chosen.json()["access_token"])
        assert token["org"] == BLOSNE and token["roles"] == ["holder_member"]

    def test_another_organisations_admin_gets_404_and_nothing_is_written(self, world: World) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", OTHER_HOLDER).post(members_url(BLOSNE), json=member())
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"
        assert _totals(world.stack) == before

    def test_a_holder_member_is_403_and_nothing_is_written(self, world: World) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", HOLDER_MEMBER).post(members_url(BLOSNE), json=member(roles=["holder_admin"]))
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert _totals(world.stack) == before

    def test_a_funder_instructor_is_403(self, world: World) -> None:
        response = world.as_("identity", CITY_INSTRUCTOR).post(
            members_url(VILLE), json=member(roles=["funder_manager"])
        )
        assert response.status_code == 403

    def test_a_machine_client_acting_with_an_admin_role_is_403(self, world: World, anonymous: Api) -> None:
        created = create_client(world, DESK, ["dossiers:read"])
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        before = _totals(world.stack)
        response = anonymous.post(members_url(demo_org("desk")), token=token, json=member(roles=["desk_coordinator"]))
        assert response.status_code == 403
        assert _totals(world.stack) == before

    def test_an_unknown_organisation_is_404_for_the_platform_admin(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).post(members_url(new_uuid()), json=member())
        assert response.status_code == 404

    def test_the_platform_admin_adds_members_anywhere(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).post(members_url(MAUREPAS), json=member(email="x@maurepas.example"))
        assert response.status_code == 201
        assert _members_of(world.stack, MAUREPAS) == 2


class TestListMembers:
    def test_anonymous_is_401(self, anonymous: Api) -> None:
        assert anonymous.get(members_url(BLOSNE)).status_code == 401

    def test_the_admin_sees_the_members_of_its_organisation(self, world: World) -> None:
        response = world.as_("identity", HOLDER).get(members_url(BLOSNE))
        assert response.status_code == 200
        listed = {m["email"]: m["roles"] for m in response.json()["items"]}
        expected = {u.email: list(u.roles) for u in demo_data.USERS if u.organisation == "blosne-avenir"}
        assert listed == expected
        assert response.json()["next_cursor"] is None
        assert "password" not in response.text

    def test_a_new_member_appears_in_the_list(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        api.post(members_url(BLOSNE), json=member())
        emails = [m["email"] for m in api.get(members_url(BLOSNE)).json()["items"]]
        assert "nouveau@blosne-avenir.example" in emails

    def test_pages_walk_every_member_once(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        for index in range(3):
            assert (
                api.post(members_url(BLOSNE), json=member(email=f"m{index}@blosne-avenir.example")).status_code == 201
            )
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = api.get(members_url(BLOSNE), params=params).json()
            assert len(page["items"]) <= 2
            seen += [m["email"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == _members_of(world.stack, BLOSNE) == 5

    def test_another_organisations_admin_gets_404(self, world: World) -> None:
        response = world.as_("identity", OTHER_HOLDER).get(members_url(BLOSNE))
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"
        assert "blosne" not in response.text.lower()

    def test_a_funder_manager_cannot_list_an_association(self, world: World) -> None:
        assert world.as_("identity", CITY_MANAGER).get(members_url(BLOSNE)).status_code == 404

    def test_a_holder_member_is_403(self, world: World) -> None:
        response = world.as_("identity", HOLDER_MEMBER).get(members_url(BLOSNE))
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"

    def test_the_platform_admin_lists_any_organisation(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).get(members_url(MAUREPAS))
        assert response.status_code == 200
        assert [m["email"] for m in response.json()["items"]] == [OTHER_HOLDER]

    def test_a_machine_client_cannot_read_the_people_of_its_organisation(self, world: World, anonymous: Api) -> None:
        # Members are people's personal data; managing them is for people, like machine clients are.
        created = create_client(world, DESK, ["dossiers:read"])
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        response = anonymous.get(members_url(demo_org("desk")), token=token)
        assert response.status_code == 403
        assert DESK not in response.text

    def test_a_bad_cursor_is_400(self, world: World) -> None:
        response = world.as_("identity", HOLDER).get(members_url(BLOSNE), params={"cursor": "not-a-cursor"})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_cursor"


class TestConcurrentAdds:
    def test_the_same_new_person_added_twice_at_once_is_added_once(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        before = _totals(world.stack)

        async def race() -> list:
            return await asyncio.gather(
                *(
                    api.client.post(
                        members_url(BLOSNE), json=member(), headers={"Authorization": f"Bearer {api.token}"}
                    )
                    for _ in range(2)
                )
            )

        responses = world.stack.run(race)
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        [refused] = [r for r in responses if r.status_code == 409]
        assert problem(refused)["code"] in {"already_member", "email_taken"}
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1)
