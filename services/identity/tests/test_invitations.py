"""Invitations: an admin offers roles in its organisation to an address; nothing is attached until the invitee accepts
with the single-use token mailed there. Nothing the inviter reads tells whether the address has an account."""

import asyncio
import uuid

import httpx
import pytest
from sqlmodel import col

from services.identity.models import AuditEvent, Invitation, Membership, Person
from services.identity.one_time import hash_secret
from services.identity.tests.helpers import (
    ACCEPT_URL,
    NEW_PASSWORD,
    claims,
    client_credentials,
    count_rows,
    create_client,
    demo_org,
    fetch_rows,
    invitations_url,
    invite,
    password_login,
)
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
VILLE = demo_org("ville")
NEWCOMER = "nouveau@blosne-avenir.example"


def _totals(stack: Stack) -> tuple[int, int]:
    return count_rows(stack, Person), count_rows(stack, Membership)


def _accept(api: Api, token: str, *, bearer: str = "", **fields: str) -> httpx.Response:
    return api.post(ACCEPT_URL, token=bearer, json={"token": token, **fields})


class TestInviting:
    def test_an_invitation_attaches_nothing_and_mails_a_single_use_link(self, world: World) -> None:
        before = _totals(world.stack)
        response = world.as_("identity", HOLDER).post(
            invitations_url(BLOSNE), json={"email": "Nouveau@Blosne-Avenir.example", "roles": ["holder_member"]}
        )
        assert response.status_code == 201, response.text
        invitation = response.json()
        assert (invitation["email"], invitation["roles"]) == (NEWCOMER, ["holder_member"])
        assert invitation["state"] == "pending"
        assert invitation["expires_at"] == "2026-06-22T09:00:00Z"  # TEST_NOW + 7 days
        assert invitation["mail_state"] == "pending"  # as written; the mail leaves after the commit
        assert _totals(world.stack) == before
        token = world.stack.identity_mail.token(NEWCOMER, "inv_")
        assert token not in response.text
        [row] = fetch_rows(world.stack, Invitation)
        assert row.token_hash == hash_secret(token) and token not in row.token_hash
        listed = world.as_("identity", HOLDER).get(invitations_url(BLOSNE)).json()["items"]
        assert [(i["id"], i["mail_state"]) for i in listed] == [(invitation["id"], "sent")]

    def test_the_raw_mail_carries_the_token_whole_on_a_line_of_its_own(self, world: World) -> None:
        """Quoted-printable folds long lines: a reader copying the token from the raw file (or a script's grep, as
        the README's story does) must find it unbroken."""
        invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        token = world.stack.identity_mail.token(NEWCOMER, "inv_")
        [raw] = [path.read_text() for path in world.stack.identity_mail.folder.glob("*.eml")]
        assert raw.splitlines().count(token) == 2  # the French part and the English one

    def test_the_answer_does_not_tell_whether_the_address_has_an_account(self, world: World) -> None:
        """A funder's instructor (an account) and a fresh address, invited by an association: the same answer."""
        api = world.as_("identity", HOLDER)
        known = api.post(invitations_url(BLOSNE), json={"email": CITY_INSTRUCTOR, "roles": ["holder_member"]})
        fresh = api.post(invitations_url(BLOSNE), json={"email": NEWCOMER, "roles": ["holder_member"]})
        assert known.status_code == fresh.status_code == 201
        strip = {"id", "email", "created_at"}
        assert {k: v for k, v in known.json().items() if k not in strip} == {
            k: v for k, v in fresh.json().items() if k not in strip}
        assert known.headers.keys() == fresh.headers.keys()
        mails = [world.stack.identity_mail.messages(e)[0].get_content() for e in (CITY_INSTRUCTOR, NEWCOMER)]
        assert mails[0].replace(world.stack.identity_mail.token(CITY_INSTRUCTOR, "inv_"), "T") == mails[1].replace(
            world.stack.identity_mail.token(NEWCOMER, "inv_"), "T")
        assert "Ville de Rennes" not in known.text

    def test_an_existing_member_is_409(self, world: World) -> None:
        response = world.as_("identity", HOLDER).post(
            invitations_url(BLOSNE), json={"email": HOLDER_MEMBER, "roles": ["holder_admin"]})
        assert response.status_code == 409 and problem(response)["code"] == "already_member"
        assert count_rows(world.stack, Invitation) == 0

    def test_a_second_invitation_while_one_waits_is_409_naming_it(self, world: World) -> None:
        first, _ = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        again = world.as_("identity", HOLDER).post(
            invitations_url(BLOSNE), json={"email": NEWCOMER, "roles": ["holder_admin"]})
        assert again.status_code == 409
        assert (problem(again)["code"], problem(again)["invitation_id"]) == ("invitation_pending", first["id"])

    @pytest.mark.parametrize(("body", "field"), [
        ({"email": NEWCOMER, "roles": ["funder_manager"]}, "body.roles"),
        ({"email": NEWCOMER, "roles": ["holder_member", "platform_admin"]}, "body.roles"),
        ({"email": NEWCOMER, "roles": []}, "body.roles"),
        ({"email": "pas-une-adresse", "roles": ["holder_member"]}, "body.email"),
        ({"email": NEWCOMER, "roles": ["holder_member"], "password": "un-mot-de-passe-solide"}, "body.password"),
    ], ids=["other-kind-role", "platform-role", "no-role", "bad-email", "a-password"])
    def test_a_bad_invitation_is_422_and_writes_nothing(self, world: World, body: dict, field: str) -> None:
        response = world.as_("identity", HOLDER).post(invitations_url(BLOSNE), json=body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        assert count_rows(world.stack, Invitation) == 0 and world.stack.identity_mail.messages() == []

    @pytest.mark.parametrize(("email", "status"), [
        (OTHER_HOLDER, 404), (CITY_MANAGER, 404), (HOLDER_MEMBER, 403), (CITY_INSTRUCTOR, 403)])
    def test_only_the_organisation_s_admins_invite(self, world: World, email: str, status: int) -> None:
        response = world.as_("identity", email).post(
            invitations_url(BLOSNE), json={"email": NEWCOMER, "roles": ["holder_member"]})
        assert response.status_code == status, response.text
        assert count_rows(world.stack, Invitation) == 0

    def test_a_machine_client_with_an_admin_role_does_not_invite(self, world: World, anonymous: Api) -> None:
        created = create_client(world, DESK, ["dossiers:read"])
        token = client_credentials(anonymous, created["client_id"], created["client_secret"]).json()["access_token"]
        response = anonymous.post(invitations_url(demo_org("desk")), token=token,
                                  json={"email": NEWCOMER, "roles": ["desk_coordinator"]})
        assert response.status_code == 403
        assert count_rows(world.stack, Invitation) == 0

    def test_the_platform_admin_invites_into_any_organisation(self, world: World) -> None:
        invitation, _ = invite(world, PLATFORM, VILLE, "agent@ville-rennes.example", ["funder_instructor"])
        assert invitation["organisation_id"] == VILLE

    def test_the_same_key_gives_the_same_answer_and_one_mail(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        body = {"email": NEWCOMER, "roles": ["holder_member"]}
        first = api.post(invitations_url(BLOSNE), json=body, headers={"Idempotency-Key": "inv-1"})
        second = api.post(invitations_url(BLOSNE), json=body, headers={"Idempotency-Key": "inv-1"})
        assert first.status_code == second.status_code == 201 and first.json() == second.json()
        assert count_rows(world.stack, Invitation) == 1
        assert len(world.stack.identity_mail.messages(NEWCOMER)) == 1


class TestAccepting:
    def test_a_new_person_chooses_a_password_and_joins(self, world: World, anonymous: Api) -> None:
        _invitation, token = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        accepted = _accept(anonymous, token, full_name="Nouveau Membre", password=NEW_PASSWORD)
        assert accepted.status_code == 201, accepted.text
        assert (accepted.json()["organisation_id"], accepted.json()["roles"]) == (BLOSNE, ["holder_member"])
        login = password_login(anonymous, NEWCOMER, NEW_PASSWORD)
        assert login.status_code == 200
        assert (claims(login.json()["access_token"])["org"], claims(login.json()["access_token"])["roles"]) == (
            BLOSNE, ["holder_member"])
        listed = world.as_("identity", HOLDER).get(invitations_url(BLOSNE), params={"state": "accepted"}).json()
        assert [i["email"] for i in listed["items"]] == [NEWCOMER]
        events = fetch_rows(world.stack, AuditEvent, col(AuditEvent.action) == "invitation.accepted")
        assert [(str(e.organisation_id), e.actor) for e in events] == [(BLOSNE, accepted.json()["person_id"])]

    def test_a_new_person_must_choose_a_name_and_a_password(self, world: World, anonymous: Api) -> None:
        _invitation, token = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        before = _totals(world.stack)
        response = _accept(anonymous, token)
        assert response.status_code == 422
        assert {e["field"] for e in problem(response)["errors"]} == {"body.full_name", "body.password"}
        short = _accept(anonymous, token, full_name="N", password="court")
        assert short.status_code == 422 and _totals(world.stack) == before

    def test_a_link_works_once(self, world: World, anonymous: Api) -> None:
        _invitation, token = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        assert _accept(anonymous, token, full_name="N M", password=NEW_PASSWORD).status_code == 201
        again = _accept(anonymous, token, full_name="N M", password="un-autre-mot-de-passe")
        assert again.status_code == 409 and problem(again)["code"] == "invitation_used"
        assert password_login(anonymous, NEWCOMER, "un-autre-mot-de-passe").status_code == 400

    def test_an_existing_account_must_be_signed_in_and_keeps_its_password(self, world: World, anonymous: Api) -> None:
        _invitation, token = invite(world, HOLDER, BLOSNE, CITY_INSTRUCTOR, ["holder_member"])
        before = _totals(world.stack)
        # Whoever holds the token but not the account gains nothing, with or without a password of their own.
        stranger = _accept(anonymous, token, full_name="Intrus", password="le-mot-de-passe-de-l-intrus")
        assert stranger.status_code == 401 and problem(stranger)["code"] == "sign_in_required"
        other = _accept(anonymous, token, bearer=world.login(OTHER_HOLDER))
        assert other.status_code == 403 and problem(other)["code"] == "invitation_for_someone_else"
        assert _totals(world.stack) == before
        assert password_login(anonymous, CITY_INSTRUCTOR, "le-mot-de-passe-de-l-intrus").status_code == 400
        mine = _accept(anonymous, token, bearer=world.login(CITY_INSTRUCTOR))
        assert mine.status_code == 201, mine.text
        assert _totals(world.stack) == (before[0], before[1] + 1)
        assert password_login(anonymous, CITY_INSTRUCTOR).status_code == 200  # the demo password, unchanged

    def test_an_unknown_token_is_404(self, anonymous: Api, world: World) -> None:
        response = _accept(anonymous, "inv_" + "x" * 43, full_name="N M", password=NEW_PASSWORD)
        assert response.status_code == 404 and problem(response)["code"] == "token_unknown"

    def test_an_invitation_expires_after_seven_days(self, world: World, anonymous: Api) -> None:
        _invitation, token = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        world.stack.apps["identity"].state.clock.advance(days=7, seconds=1)
        late = _accept(anonymous, token, full_name="N M", password=NEW_PASSWORD)
        assert late.status_code == 410 and problem(late)["code"] == "token_expired"
        assert count_rows(world.stack, Person, col(Person.email) == NEWCOMER) == 0

    def test_a_revoked_invitation_opens_nothing(self, world: World, anonymous: Api) -> None:
        invitation, token = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        revoked = world.as_("identity", HOLDER).post(f"{invitations_url(BLOSNE)}/{invitation['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        response = _accept(anonymous, token, full_name="N M", password=NEW_PASSWORD)
        assert response.status_code == 410 and problem(response)["code"] == "invitation_revoked"
        twice = world.as_("identity", HOLDER).post(f"{invitations_url(BLOSNE)}/{invitation['id']}/revoke")
        assert twice.status_code == 409 and problem(twice)["code"] == "invitation_closed"

    def test_a_resend_replaces_the_link(self, world: World, anonymous: Api) -> None:
        invitation, old = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        world.stack.apps["identity"].state.clock.advance(days=8)
        resent = world.as_("identity", HOLDER).post(f"{invitations_url(BLOSNE)}/{invitation['id']}/resend")
        assert resent.status_code == 200 and resent.json()["state"] == "pending"
        new = world.stack.identity_mail.token(NEWCOMER, "inv_")
        assert new != old
        assert _accept(anonymous, old, full_name="N M", password=NEW_PASSWORD).status_code == 404
        assert _accept(anonymous, new, full_name="N M", password=NEW_PASSWORD).status_code == 201

    def test_another_organisation_cannot_read_revoke_or_resend(self, world: World) -> None:
        invitation, _ = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        other = world.as_("identity", OTHER_HOLDER)
        url = f"{invitations_url(BLOSNE)}/{invitation['id']}"
        for response in (other.get(url), other.post(f"{url}/revoke"), other.post(f"{url}/resend"),
                         other.get(invitations_url(BLOSNE))):
            assert response.status_code == 404, response.text
            assert NEWCOMER not in response.text
        # Nor through its own organisation's path.
        mine = world.as_("identity", OTHER_HOLDER).get(
            f"{invitations_url(demo_org('maurepas-solidaire'))}/{invitation['id']}")
        assert mine.status_code == 404

    def test_two_acceptances_at_once_make_one_member(self, world: World, anonymous: Api) -> None:
        _invitation, token = invite(world, HOLDER, BLOSNE, NEWCOMER, ["holder_member"])
        before = _totals(world.stack)

        async def race() -> list:
            return await asyncio.gather(*(anonymous.client.post(ACCEPT_URL, json={
                "token": token, "full_name": "N M", "password": NEW_PASSWORD}) for _ in range(3)))

        responses = world.stack.run(race)
        assert sorted(r.status_code for r in responses)[0] == 201
        assert [r.status_code for r in responses].count(201) == 1, [r.text for r in responses]
        assert all(problem(r)["code"] in {"invitation_used", "sign_in_required"} for r in responses
                   if r.status_code != 201)
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1)


class TestTheTakeoverStory:
    """Sign-up is public: someone signs an association up, and tries to become a funder's or the desk's staff by
    adding their addresses to it. The old door attached any existing person found by email; this one cannot."""

    def test_inviting_a_desk_coordinator_gains_the_inviter_nothing(self, world: World, anonymous: Api) -> None:
        from services.identity.tests.helpers import signed_up, signup_body

        created = signed_up(world, signup_body(email="intrus@exemple.example", password="le-mot-de-passe-intrus"))
        intruder = password_login(anonymous, "intrus@exemple.example", "le-mot-de-passe-intrus").json()
        association = created["organisation"]["id"]
        api = world.stack.api("identity")
        response = api.post(invitations_url(association), token=intruder["access_token"],
                            json={"email": DESK, "roles": ["holder_admin"]})
        assert response.status_code == 201
        assert uuid.UUID(response.json()["invited_by"]) == uuid.UUID(created["admin"]["id"])
        # Nobody is attached, the desk's own login is untouched, and the invitation's token is not the intruder's.
        members = api.get(f"/api/v1/organisations/{association}/members", token=intruder["access_token"]).json()
        assert [m["email"] for m in members["items"]] == ["intrus@exemple.example"]
        assert "sgn_" not in response.text and "inv_" not in response.text
        assert _accept(anonymous, "inv_guessed", full_name="X Y", password=NEW_PASSWORD).status_code == 404
        login = password_login(anonymous, DESK, "le-mot-de-passe-intrus")
        assert login.status_code == 400
        assert claims(world.login(DESK))["roles"] == ["desk_coordinator"]
