"""/api/v1/organisations/{id}/members: an admin lists its organisation's members, changes their roles, removes them;
anyone may leave; the organisation keeps an admin; a removed member's refresh tokens die at once."""

import asyncio
import uuid

import httpx
import pytest
from sqlmodel import col

from scripts import demo_data
from services.identity.models import AuditEvent, Invitation, Membership
from services.identity.tests.helpers import (
    NEW_PASSWORD,
    REFRESH_URL,
    claims,
    client_credentials,
    count_rows,
    create_client,
    demo_org,
    fetch_rows,
    invitations_url,
    joined,
    members_url,
    password_login,
    person_id,
)
from tests.support.stack import Api, problem
from tests.support.world import (
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
NEWCOMER = "nouveau@blosne-avenir.example"


def member_url(organisation_id: str, email: str) -> str:
    return f"{members_url(organisation_id)}/{person_id(email)}"


def _members_of(world: World, organisation_id: str) -> int:
    return count_rows(world.stack, Membership, col(Membership.organisation_id) == uuid.UUID(organisation_id))


def _change(api: Api, url: str, roles: list[str]) -> httpx.Response:
    return api.patch(url, json={"roles": roles}, headers={"If-Match": api.get(url).headers.get("etag", '"1"')})


class TestListMembers:
    def test_anonymous_is_401(self, anonymous: Api) -> None:
        assert anonymous.get(members_url(BLOSNE)).status_code == 401

    def test_the_admin_sees_the_members_and_their_roles(self, world: World) -> None:
        response = world.as_("identity", HOLDER).get(members_url(BLOSNE))
        assert response.status_code == 200
        listed = {m["email"]: m["roles"] for m in response.json()["items"]}
        assert listed == {u.email: list(u.roles) for u in demo_data.USERS if u.organisation == "blosne-avenir"}
        assert "password" not in response.text

    def test_pages_walk_every_member_once(self, world: World) -> None:
        for index in range(3):
            joined(world, HOLDER, BLOSNE, f"m{index}@blosne-avenir.example", ["holder_member"])
        api = world.as_("identity", HOLDER)
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            page = api.get(members_url(BLOSNE), params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            seen += [m["email"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == _members_of(world, BLOSNE) == 5

    @pytest.mark.parametrize(("email", "status"), [(OTHER_HOLDER, 404), (CITY_MANAGER, 404), (HOLDER_MEMBER, 403)])
    def test_others_do_not_read_them(self, world: World, email: str, status: int) -> None:
        response = world.as_("identity", email).get(members_url(BLOSNE))
        assert response.status_code == status
        assert HOLDER not in response.text

    def test_the_platform_admin_lists_any_organisation(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).get(members_url(MAUREPAS))
        assert [m["email"] for m in response.json()["items"]] == [OTHER_HOLDER]

    def test_a_machine_client_cannot_read_the_people_of_its_organisation(self, world: World, anonymous: Api) -> None:
        created = create_client(world, DESK, ["dossiers:read"])
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        response = anonymous.get(members_url(demo_org("desk")), token=token)
        assert response.status_code == 403 and DESK not in response.text

    def test_a_bad_cursor_is_400(self, world: World) -> None:
        response = world.as_("identity", HOLDER).get(members_url(BLOSNE), params={"cursor": "not-a-cursor"})
        assert response.status_code == 400 and problem(response)["code"] == "invalid_cursor"

    def test_one_member_is_read_with_its_etag(self, world: World) -> None:
        response = world.as_("identity", HOLDER).get(member_url(BLOSNE, HOLDER_MEMBER))
        assert response.status_code == 200 and response.headers["etag"] == '"1"'
        assert response.json()["roles"] == ["holder_member"]
        stranger = world.as_("identity", HOLDER).get(member_url(BLOSNE, OTHER_HOLDER))
        assert stranger.status_code == 404 and OTHER_HOLDER not in stranger.text


class TestChangeRoles:
    def test_the_admin_changes_roles_in_force_at_the_next_refresh(self, world: World, anonymous: Api) -> None:
        login = password_login(anonymous, HOLDER_MEMBER).json()
        api = world.as_("identity", HOLDER)
        changed = _change(api, member_url(BLOSNE, HOLDER_MEMBER), ["holder_admin", "holder_member"])
        assert changed.status_code == 200, changed.text
        assert changed.json()["roles"] == ["holder_admin", "holder_member"] and changed.headers["etag"] == '"2"'
        assert claims(login["access_token"])["roles"] == ["holder_member"]  # the token issued keeps its roles
        refreshed = anonymous.post(REFRESH_URL, token="", json={"refresh_token": login["refresh_token"]})
        assert claims(refreshed.json()["access_token"])["roles"] == ["holder_admin", "holder_member"]
        [event] = fetch_rows(world.stack, AuditEvent, col(AuditEvent.action) == "member.roles_changed")
        assert (event.actor, event.details) == (
            person_id(HOLDER), {"before": ["holder_member"], "after": ["holder_admin", "holder_member"]})

    def test_without_if_match_428_stale_412(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        url = member_url(BLOSNE, HOLDER_MEMBER)
        assert api.patch(url, json={"roles": ["holder_admin"]}).status_code == 428
        stale = api.patch(url, json={"roles": ["holder_admin"]}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        assert api.get(url).json()["roles"] == ["holder_member"]

    def test_a_role_of_another_kind_is_422(self, world: World) -> None:
        response = _change(world.as_("identity", HOLDER), member_url(BLOSNE, HOLDER_MEMBER), ["desk_coordinator"])
        assert response.status_code == 422 and "body.roles" in [e["field"] for e in problem(response)["errors"]]

    def test_the_last_admin_cannot_be_demoted(self, world: World) -> None:
        response = _change(world.as_("identity", HOLDER), member_url(BLOSNE, HOLDER), ["holder_member"])
        assert response.status_code == 409 and problem(response)["code"] == "last_admin"
        assert world.as_("identity", HOLDER).get(member_url(BLOSNE, HOLDER)).json()["roles"] == ["holder_admin"]

    def test_a_second_admin_makes_the_first_one_free_to_step_down(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        assert _change(api, member_url(BLOSNE, HOLDER_MEMBER), ["holder_admin"]).status_code == 200
        assert _change(api, member_url(BLOSNE, HOLDER), ["holder_member"]).status_code == 200

    def test_two_admins_demoting_each_other_at_once_leave_one(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        assert _change(api, member_url(BLOSNE, HOLDER_MEMBER), ["holder_admin"]).status_code == 200
        tokens = {HOLDER: world.login(HOLDER), HOLDER_MEMBER: password_login(
            world.stack.api("identity"), HOLDER_MEMBER).json()["access_token"]}
        targets = {HOLDER: HOLDER_MEMBER, HOLDER_MEMBER: HOLDER}

        async def race() -> list:
            return await asyncio.gather(*(api.client.patch(
                member_url(BLOSNE, target), json={"roles": ["holder_member"]},
                headers={"Authorization": f"Bearer {tokens[actor]}", "If-Match": "*"},
            ) for actor, target in targets.items()))

        responses = world.stack.run(race)
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        admins = [m for m in fetch_rows(world.stack, Membership, col(Membership.organisation_id) == uuid.UUID(BLOSNE))
                  if "holder_admin" in m.roles]
        assert len(admins) == 1

    @pytest.mark.parametrize(("email", "status"), [(OTHER_HOLDER, 404), (HOLDER_MEMBER, 403), (CITY_MANAGER, 404)])
    def test_others_change_nothing(self, world: World, email: str, status: int) -> None:
        response = world.as_("identity", email).patch(
            member_url(BLOSNE, HOLDER_MEMBER), json={"roles": ["holder_admin"]}, headers={"If-Match": "*"})
        assert response.status_code == status
        assert world.as_("identity", HOLDER).get(member_url(BLOSNE, HOLDER_MEMBER)).json()["roles"] == [
            "holder_member"]


class TestRemoveAndLeave:
    def test_a_removed_member_s_refresh_fails_at_once(self, world: World, anonymous: Api) -> None:
        joined(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        login = password_login(anonymous, NEWCOMER, NEW_PASSWORD).json()
        newcomer = next(m["person_id"] for m in world.as_("identity", HOLDER).get(members_url(BLOSNE)).json()["items"]
                        if m["email"] == NEWCOMER)
        removed = world.as_("identity", HOLDER).delete(f"{members_url(BLOSNE)}/{newcomer}")
        assert removed.status_code == 204
        refresh = anonymous.post(REFRESH_URL, token="", json={"refresh_token": login["refresh_token"]})
        assert refresh.status_code == 400 and problem(refresh)["code"] == "invalid_grant"
        again = password_login(anonymous, NEWCOMER, NEW_PASSWORD)
        assert again.status_code == 400  # no organisation left for this account
        [event] = fetch_rows(world.stack, AuditEvent, col(AuditEvent.action) == "member.removed")
        assert str(event.person_id) == newcomer and event.actor == person_id(HOLDER)

    def test_a_member_leaves_by_itself(self, world: World, anonymous: Api) -> None:
        response = world.as_("identity", HOLDER_MEMBER).delete(member_url(BLOSNE, HOLDER_MEMBER))
        assert response.status_code == 204, response.text
        assert _members_of(world, BLOSNE) == 1
        assert [e.action for e in fetch_rows(world.stack, AuditEvent)] == ["member.left"]

    def test_the_last_admin_cannot_leave_nor_be_removed(self, world: World) -> None:
        leaving = world.as_("identity", HOLDER).delete(member_url(BLOSNE, HOLDER))
        assert leaving.status_code == 409 and problem(leaving)["code"] == "last_admin"
        by_platform = world.as_("identity", PLATFORM).delete(member_url(BLOSNE, HOLDER))
        assert by_platform.status_code == 409
        assert _members_of(world, BLOSNE) == 2

    @pytest.mark.parametrize(("email", "status"), [(OTHER_HOLDER, 404), (CITY_MANAGER, 404)])
    def test_another_organisation_removes_nobody(self, world: World, email: str, status: int) -> None:
        response = world.as_("identity", email).delete(member_url(BLOSNE, HOLDER_MEMBER))
        assert response.status_code == status
        assert _members_of(world, BLOSNE) == 2

    def test_a_plain_member_removes_nobody_else(self, world: World) -> None:
        joined(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        response = world.as_("identity", HOLDER_MEMBER).delete(member_url(BLOSNE, HOLDER))
        assert response.status_code == 403
        assert _members_of(world, BLOSNE) == 3

    def test_removing_someone_who_is_not_a_member_is_404(self, world: World) -> None:
        response = world.as_("identity", HOLDER).delete(member_url(BLOSNE, OTHER_HOLDER))
        assert response.status_code == 404 and OTHER_HOLDER not in response.text


class TestAStaleTokenAdministersNothing:
    """An access token lives out its ten minutes, but identity's administrative routes ask the database: a removed or
    demoted admin cannot use those minutes to make their access outlive the token."""

    SECOND_ADMIN = "deuxieme-admin@blosne-avenir.example"

    def _second_admin(self, world: World, anonymous: Api) -> tuple[Api, str]:
        """The second admin's client, and the address of their membership."""
        accepted = joined(world, HOLDER, BLOSNE, self.SECOND_ADMIN, ["holder_admin"])
        other = world.stack.api("identity")
        other.token = password_login(anonymous, self.SECOND_ADMIN, NEW_PASSWORD).json()["access_token"]
        return other, f"{members_url(BLOSNE)}/{accepted['person_id']}"

    def test_a_removed_admin_invites_no_second_mailbox_and_mints_no_client(self, world: World, anonymous: Api) -> None:
        stale = world.as_("identity", HOLDER)  # issued before the removal
        other, second_admin = self._second_admin(world, anonymous)
        assert other.delete(member_url(BLOSNE, HOLDER)).status_code == 204
        backdoor = "porte@derobee.example"
        invited = stale.post(invitations_url(BLOSNE), json={"email": backdoor, "roles": ["holder_admin"]})
        assert invited.status_code == 403 and problem(invited)["code"] == "access_changed"
        assert count_rows(world.stack, Invitation, col(Invitation.email) == backdoor) == 0
        minted = stale.post("/api/v1/clients", json={"name": "x", "scopes": ["projects:read"]})
        assert minted.status_code == 403 and problem(minted)["code"] == "access_changed"
        assert stale.delete(second_admin).status_code == 403
        assert _members_of(world, BLOSNE) == 2  # the second admin and the member, nobody new

    def test_a_demoted_admin_cannot_give_the_role_back_to_themselves(self, world: World, anonymous: Api) -> None:
        stale = world.as_("identity", HOLDER)
        other, second_admin = self._second_admin(world, anonymous)
        assert _change(other, member_url(BLOSNE, HOLDER), ["holder_member"]).status_code == 200
        back = _change(stale, member_url(BLOSNE, HOLDER), ["holder_admin"])
        assert back.status_code == 403 and problem(back)["code"] == "access_changed"
        demote_other = _change(stale, second_admin, ["holder_member"])
        assert demote_other.status_code == 403
        roles = {m["email"]: m["roles"] for m in other.get(members_url(BLOSNE)).json()["items"]}
        assert (roles[HOLDER], roles[self.SECOND_ADMIN]) == (["holder_member"], ["holder_admin"])

    def test_a_suspended_organisation_s_admin_administers_nothing(self, world: World) -> None:
        stale = world.as_("identity", HOLDER)
        suspended = world.as_("identity", PLATFORM).post(
            f"/api/v1/organisations/{BLOSNE}/suspend", json={"reason": "Contrôle"})
        assert suspended.status_code == 200, suspended.text
        listed = stale.get(members_url(BLOSNE))
        assert listed.status_code == 403 and problem(listed)["code"] == "access_changed"

    def test_a_revoked_machine_client_administers_nothing(self, world: World, anonymous: Api) -> None:
        """The desk's clients act with the coordinator's role, an admin one: revoking one ends that at once."""
        client = create_client(world, DESK, ["organisations:read"])
        token = client_credentials(anonymous, client["client_id"], client["client_secret"]).json()["access_token"]
        machine = world.stack.api("identity")
        machine.token = token
        desk = demo_org("desk")
        before = machine.get(f"/api/v1/organisations/{desk}/invitations")
        assert before.status_code != 403 or problem(before)["code"] != "access_changed"
        assert world.as_("identity", DESK).delete(f"/api/v1/clients/{client['id']}").status_code in (200, 204)
        after = machine.get(f"/api/v1/organisations/{desk}/invitations")
        assert after.status_code == 403 and problem(after)["code"] == "access_changed"
