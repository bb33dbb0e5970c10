"""People join only by consent, through the real processes and the gateway, on both databases.

The takeover story: sign-up is public, so someone signs an association up and tries to become a funder's
instructor or the desk's coordinator by naming their addresses (in the sign-up itself, or as members). The old
door attached any existing person found by email; this one attaches nobody who has not said yes from their own
mailbox, and never lets the inviter choose their password."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scripts import demo_data
from scripts.live_stack import LiveStack
from tests.support.mailbox import Mailbox
from tests.support.world import CITY_INSTRUCTOR, CITY_MANAGER, DESK, HOLDER, PLATFORM, org_id

INTRUDER = "intrus@association-fantome.example"
INTRUDER_PASSWORD = "le-mot-de-passe-de-l-intrus"
NEW_AGENT = "nouvel-agent@ville-rennes.example"
AGENT_PASSWORD = "le-mot-de-passe-de-l-agent"
# A valid SIRET (Luhn) that names no demo organisation.
FANTOME_SIRET = "73282932000074"


class Door:
    def __init__(self, client: httpx.Client, mailbox: Mailbox):
        self.client = client
        self.mailbox = mailbox

    def login(self, email: str, password: str = demo_data.DEMO_PASSWORD) -> httpx.Response:
        return self.client.post("/api/v1/auth/token", data={
            "grant_type": "password", "username": email, "password": password})

    def token(self, email: str, password: str = demo_data.DEMO_PASSWORD) -> str:
        response = self.login(email, password)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def call(self, method: str, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def door(live: LiveStack) -> Iterator[Door]:
    with httpx.Client(base_url=live.url(), timeout=30) as client:
        yield Door(client, Mailbox(live.identity_mail_folder))


def _intruder_association(door: Door, admin_email: str = INTRUDER) -> dict[str, Any]:
    asked = door.call("POST", "/api/v1/organisations/signup", json={
        "organisation": {"name": "Association Fantôme", "siret": FANTOME_SIRET},
        "admin": {"email": admin_email, "full_name": "Ivan Trus", "password": INTRUDER_PASSWORD}})
    assert asked.status_code == 202, asked.text
    return asked.json()


def test_a_sign_up_that_names_a_funder_s_address_gains_nothing(door: Door) -> None:
    # 1. The intruder signs an association up with the address a funder will onboard later as its admin.
    _intruder_association(door, admin_email=NEW_AGENT)
    refused = door.login(NEW_AGENT, INTRUDER_PASSWORD)
    assert refused.status_code == 400  # an unverified sign-up cannot log in
    # 2. The city invites that address; the agent, in their own mailbox, accepts with their own password.
    manager = door.token(CITY_MANAGER)
    invited = door.call("POST", f"/api/v1/organisations/{org_id('ville')}/invitations", manager,
                        json={"email": NEW_AGENT, "roles": ["funder_instructor"]})
    assert invited.status_code == 201, invited.text
    token = door.mailbox.token(NEW_AGENT, "inv_")
    accepted = door.call("POST", "/api/v1/invitations/accept", json={
        "token": token, "full_name": "Nouvel Agent", "password": AGENT_PASSWORD})
    assert accepted.status_code == 201, accepted.text
    # 3. The intruder's password opens nothing; the agent's opens the city's instruction.
    assert door.login(NEW_AGENT, INTRUDER_PASSWORD).status_code == 400
    agent = door.token(NEW_AGENT, AGENT_PASSWORD)
    assert door.call("GET", "/api/v1/me", agent).json()["roles"] == ["funder_instructor"]
    # 4. The intruder's sign-up link, opened now, cannot attach the agent's account without the agent signed in.
    sign_up = door.mailbox.token(NEW_AGENT, "sgn_")
    late = door.call("POST", "/api/v1/organisations/signup/verify", json={"token": sign_up})
    assert late.status_code == 401 and late.json()["code"] == "sign_in_required"


def test_an_association_adding_the_desk_s_coordinator_gains_nothing(door: Door) -> None:
    _intruder_association(door)
    verified = door.call("POST", "/api/v1/organisations/signup/verify",
                         json={"token": door.mailbox.token(INTRUDER, "sgn_")})
    assert verified.status_code == 201, verified.text
    association = verified.json()["organisation"]["id"]
    intruder = door.token(INTRUDER, INTRUDER_PASSWORD)
    # The old door is closed: no route attaches a person by email.
    old = door.call("POST", f"/api/v1/organisations/{association}/members", intruder, json={
        "email": DESK, "full_name": "X", "password": INTRUDER_PASSWORD, "roles": ["holder_admin"]})
    assert old.status_code == 405
    # The invitation answers as for any address; nobody is attached, the desk's login is untouched.
    for email in (DESK, CITY_INSTRUCTOR):
        invited = door.call("POST", f"/api/v1/organisations/{association}/invitations", intruder,
                            json={"email": email, "roles": ["holder_admin"]})
        assert invited.status_code == 201, invited.text
        assert "inv_" not in invited.text
    members = door.call("GET", f"/api/v1/organisations/{association}/members", intruder).json()["items"]
    assert [m["email"] for m in members] == [INTRUDER]
    assert door.login(DESK, INTRUDER_PASSWORD).status_code == 400
    assert door.call("GET", "/api/v1/me", door.token(DESK)).json()["roles"] == ["desk_coordinator"]
    # What the desk sees stays out of reach: another association's documents, the directory's people.
    documents = door.call("GET", "/api/v1/documents", intruder, params={"organisation_id": org_id("blosne-avenir")})
    assert documents.status_code in (403, 404) or documents.json()["items"] == []
    blosne = door.call("GET", f"/api/v1/organisations/{org_id('blosne-avenir')}/members", intruder)
    assert blosne.status_code == 404 and HOLDER not in blosne.text
    # The platform suspends the association: its people obtain no token any more.
    suspended = door.call("POST", f"/api/v1/organisations/{association}/suspend", door.token(PLATFORM),
                          json={"reason": "Usurpation"})
    assert suspended.status_code == 200, suspended.text
    assert door.login(INTRUDER, INTRUDER_PASSWORD).status_code == 400


def test_an_alsace_moselle_association_signs_up_with_its_register_entry_through_the_gateway(door: Door) -> None:
    # Bas-Rhin: registered by the tribunal, no SIRET or RNA yet; never blocked by "SIRET ou RNA requis".
    register = {"court": "Tribunal judiciaire de Saverne", "volume": "12", "folio": "345"}
    organisation = {"name": "Les Amis du Haut-Barr", "department": "67", "local_register": register}
    admin = {"email": "presidence@amis-haut-barr.example", "full_name": "Odile Roth", "password": INTRUDER_PASSWORD}
    outside = door.call("POST", "/api/v1/organisations/signup", json={
        "organisation": organisation | {"department": "35"}, "admin": admin})
    assert outside.status_code == 422 and outside.headers["content-type"].startswith("application/problem+json")
    assert "body.organisation.department" in [e["field"] for e in outside.json()["errors"]]
    asked = door.call("POST", "/api/v1/organisations/signup", json={"organisation": organisation, "admin": admin})
    assert asked.status_code == 202, asked.text
    verified = door.call("POST", "/api/v1/organisations/signup/verify",
                         json={"token": door.mailbox.token(admin["email"], "sgn_")})
    assert verified.status_code == 201, verified.text
    card = door.call("GET", f"/api/v1/organisations/{verified.json()['organisation']['id']}",
                     door.token(admin["email"], INTRUDER_PASSWORD)).json()
    assert (card["siret"], card["rna"], card["department"], card["local_register"]) == (None, None, "67", register)
