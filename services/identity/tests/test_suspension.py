"""The platform's admin suspends an organisation: its people and machine clients obtain no token until it is
reactivated; refresh tokens die at once; an access token already issued lives out its (short) life."""

import httpx
import pytest
from sqlmodel import col

from services.identity.models import AuditEvent
from services.identity.tests.helpers import (
    REFRESH_URL,
    claims,
    client_credentials,
    create_client,
    demo_org,
    fetch_rows,
    password_login,
    person_id,
)
from tests.support.stack import Api, problem
from tests.support.world import CITY_INSTRUCTOR, CITY_MANAGER, HOLDER, PLATFORM, World

VILLE = demo_org("ville")


def _url(organisation_id: str, action: str) -> str:
    return f"/api/v1/organisations/{organisation_id}/{action}"


def _suspend(world: World, organisation_id: str = VILLE) -> httpx.Response:
    return world.as_("identity", PLATFORM).post(
        _url(organisation_id, "suspend"), json={"reason": "Convention résiliée"}
    )


class TestSuspension:
    def test_a_suspended_organisation_s_people_and_clients_obtain_no_token(
        self, world: World, anonymous: Api
    ) -> None:
        client = create_client(world, CITY_MANAGER, ["dossiers:read"])
        session = password_login(anonymous, CITY_INSTRUCTOR).json()
        suspended = _suspend(world)
        assert suspended.status_code == 200, suspended.text
        assert suspended.json()["status"] == "suspended" and suspended.headers["etag"] == '"2"'
        login = password_login(anonymous, CITY_INSTRUCTOR)
        assert login.status_code == 400 and problem(login)["code"] == "invalid_grant"
        refresh = anonymous.post(REFRESH_URL, token="", json={"refresh_token": session["refresh_token"]})
        assert refresh.status_code == 400
        machine = client_credentials(anonymous, client["client_id"], client["client_secret"])
        assert machine.status_code == 401 and problem(machine)["code"] == "invalid_client"
        # The access token already issued still verifies until it expires (IDENTITY_ACCESS_TOKEN_TTL_SECONDS).
        assert claims(session["access_token"])["exp"] - claims(session["access_token"])["iat"] <= 600
        assert password_login(anonymous, HOLDER).status_code == 200  # other organisations go on

    def test_reactivation_lets_them_in_again(self, world: World, anonymous: Api) -> None:
        client = create_client(world, CITY_MANAGER, ["dossiers:read"])
        _suspend(world)
        back = world.as_("identity", PLATFORM).post(_url(VILLE, "reactivate"))
        assert back.status_code == 200 and back.json()["status"] == "active"
        assert password_login(anonymous, CITY_INSTRUCTOR).status_code == 200
        assert client_credentials(anonymous, client["client_id"], client["client_secret"]).status_code == 200
        actions = [e.action for e in fetch_rows(world.stack, AuditEvent, col(AuditEvent.action).like("organisation.%"))]
        assert actions == ["organisation.suspended", "organisation.reactivated"]

    def test_illegal_transitions_are_409(self, world: World) -> None:
        assert _suspend(world).status_code == 200
        twice = _suspend(world)
        assert twice.status_code == 409 and problem(twice)["code"] == "already_suspended"
        world.as_("identity", PLATFORM).post(_url(VILLE, "reactivate"))
        again = world.as_("identity", PLATFORM).post(_url(VILLE, "reactivate"))
        assert again.status_code == 409 and problem(again)["code"] == "not_suspended"
        platform = _suspend(world, demo_org("platform"))
        assert platform.status_code == 409 and problem(platform)["code"] == "platform_not_suspendable"

    def test_a_stale_if_match_is_412(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).post(
            _url(VILLE, "suspend"), json={"reason": "x"}, headers={"If-Match": '"9"'})
        assert response.status_code == 412
        assert world.as_("identity", PLATFORM).get(f"/api/v1/organisations/{VILLE}").json()["status"] == "active"

    @pytest.mark.parametrize("email", [CITY_MANAGER, HOLDER])
    def test_only_the_platform_suspends(self, world: World, email: str) -> None:
        response = world.as_("identity", email).post(_url(VILLE, "suspend"), json={"reason": "x"})
        assert response.status_code == 403
        assert password_login(world.stack.api("identity"), CITY_INSTRUCTOR).status_code == 200

    def test_a_blank_reason_is_422(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).post(_url(VILLE, "suspend"), json={"reason": "   "})
        assert response.status_code == 422

    def test_an_invitation_to_a_suspended_organisation_cannot_be_accepted(self, world: World, anonymous: Api) -> None:
        from services.identity.tests.helpers import ACCEPT_URL, invite

        _invitation, token = invite(world, CITY_MANAGER, VILLE, "agent@ville-rennes.example", ["funder_instructor"])
        _suspend(world)
        response = anonymous.post(ACCEPT_URL, token="", json={
            "token": token, "full_name": "Agent Ville", "password": "un-mot-de-passe-solide"})
        assert response.status_code == 409 and problem(response)["code"] == "organisation_suspended"


class TestAuditTrail:
    def test_the_admins_read_their_organisation_s_trail_and_no_one_else_s(self, world: World) -> None:
        from services.identity.tests.helpers import invite

        invite(world, CITY_MANAGER, VILLE, "agent@ville-rennes.example", ["funder_instructor"])
        trail = world.as_("identity", CITY_MANAGER).get(_url(VILLE, "audit-events"))
        assert trail.status_code == 200, trail.text
        assert [e["action"] for e in trail.json()["items"]] == ["invitation.created"]
        assert all(e["request_id"] for e in trail.json()["items"])
        assert world.as_("identity", HOLDER).get(_url(VILLE, "audit-events")).status_code == 404
        assert world.as_("identity", CITY_INSTRUCTOR).get(_url(VILLE, "audit-events")).status_code == 403
        world.stack.apps["identity"].state.clock.advance(seconds=1)
        _suspend(world)
        platform = world.as_("identity", PLATFORM)
        trail = platform.get(_url(VILLE, "audit-events"))
        assert [e["action"] for e in trail.json()["items"]] == ["invitation.created", "organisation.suspended"]
        only = platform.get(_url(VILLE, "audit-events"), params={"action": "organisation.suspended"})
        assert [e["details"] for e in only.json()["items"]] == [{"reason": "Convention résiliée"}]
        assert platform.get(_url(VILLE, "audit-events"), params={"action": "DROP TABLE"}).status_code == 422

    def test_changes_of_the_same_instant_come_back_in_the_order_they_were_made(self, world: World) -> None:
        """The clock stands still (as within one transaction): the trail still reads as it happened, page by page."""
        from services.identity.tests.helpers import invite

        manager = world.as_("identity", CITY_MANAGER)
        invitations = [
            invite(world, CITY_MANAGER, VILLE, f"agent-{n}@ville-rennes.example", ["funder_instructor"])[0]
            for n in range(6)
        ]
        for invitation in invitations[::2]:
            revoked = manager.post(f"{_url(VILLE, 'invitations')}/{invitation['id']}/revoke")
            assert revoked.status_code == 200, revoked.text
        expected = [("invitation.created", i["id"]) for i in invitations] + [
            ("invitation.revoked", i["id"]) for i in invitations[::2]]
        read, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = manager.get(_url(VILLE, "audit-events"), params=params)
            assert page.status_code == 200, page.text
            read += [(e["action"], e["details"].get("invitation_id")) for e in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert read == expected

    def test_machine_clients_and_the_organisation_s_card_are_in_the_trail(self, world: World) -> None:
        from services.identity.tests.helpers import create_client

        manager = world.as_("identity", CITY_MANAGER)
        client = create_client(world, CITY_MANAGER, ["organisations:read"])
        assert manager.delete(f"/api/v1/clients/{client['id']}").status_code in (200, 204)
        card = f"/api/v1/organisations/{VILLE}"
        renamed = manager.patch(card, json={"name": "=Ville de Rennes"},
                                headers={"If-Match": manager.get(card).headers["etag"]})
        assert renamed.status_code == 200, renamed.text
        trail = manager.get(_url(VILLE, "audit-events")).json()["items"]
        assert [(e["action"], e["actor"]) for e in trail] == [
            ("client.created", person_id(CITY_MANAGER)), ("client.revoked", person_id(CITY_MANAGER)),
            ("organisation.updated", person_id(CITY_MANAGER))]
        assert trail[0]["details"]["client_id"] == trail[1]["details"]["client_id"] == client["client_id"]
        assert trail[2]["details"] == {"changed": {"name": {"from": "Ville de Rennes", "to": "=Ville de Rennes"}}}

    def test_the_platform_reads_what_names_no_organisation(self, world: World, anonymous: Api) -> None:
        assert anonymous.post("/api/v1/auth/password-reset", json={"email": HOLDER}).status_code == 202
        platform = world.as_("identity", PLATFORM)
        mine = platform.get("/api/v1/audit-events", params={"person_id": person_id(HOLDER)})
        assert mine.status_code == 200, mine.text
        assert [e["action"] for e in mine.json()["items"]] == ["password.reset_requested"]
        by_address = platform.get("/api/v1/audit-events", params={"email": HOLDER.upper()}).json()["items"]
        assert [e["action"] for e in by_address] == ["password.reset_requested"]
        for other in (CITY_MANAGER, HOLDER):
            assert world.as_("identity", other).get("/api/v1/audit-events").status_code == 403

    def test_nobody_is_invited_into_a_suspended_organisation(self, world: World) -> None:
        _suspend(world)
        invited = world.as_("identity", PLATFORM).post(
            _url(VILLE, "invitations"), json={"email": "agent@ville-rennes.example", "roles": ["funder_instructor"]})
        assert invited.status_code == 409 and problem(invited)["code"] == "organisation_suspended"
