"""The demo territory in the test databases, and real logins through identity's API."""

from collections.abc import Callable
from typing import Any

from scripts import demo_data
from scripts.seed_demo import seed_funding, seed_identity, seed_projects
from services.identity.passwords import Passwords
from tests.support.clock import TODAY
from tests.support.stack import SERVICE_SECRET, Api, Stack

PROJECT: dict[str, Any] = {
    "title": "Aide aux devoirs au Blosne",
    "summary": "Accompagnement scolaire de 60 collégiens, quatre soirs par semaine.",
    "qpv_codes": ["QN03505M"],
    "priorities": ["social_cohesion", "youth"],
    "start_date": "2027-01-05",
    "end_date": "2027-12-18",
    "target_public": "Collégiens du Blosne et leurs parents",
    "total_cost_cents": 4_800_000,
}

HOLDER = "presidence@blosne-avenir.example"
HOLDER_MEMBER = "benevole@blosne-avenir.example"
OTHER_HOLDER = "presidence@maurepas-solidaire.example"
CITY_INSTRUCTOR = "instruction@ville-rennes.example"
CITY_MANAGER = "direction@ville-rennes.example"
STATE_INSTRUCTOR = "instruction@prefecture35.example"
COMMITTEE_MEMBER = "comite@prefecture35.example"
DESK = "coordination@guichet-rennes.example"
CITIZEN = "conseil@conseil-blosne.example"
PLATFORM = "admin@plateforme.example"
# The funding service's own client at identity: a caller by service token, not a person.
SERVICE = "svc-funding"
EMAIL_BY_ROLE = {
    "holder_admin": HOLDER,
    "holder_member": HOLDER_MEMBER,
    "funder_instructor": CITY_INSTRUCTOR,
    "funder_manager": CITY_MANAGER,
    "committee_member": COMMITTEE_MEMBER,
    "desk_coordinator": DESK,
    "citizen_reviewer": CITIZEN,
    "platform_admin": PLATFORM,
}


def org_id(key: str) -> str:
    return str(demo_data.organisation(key).id)


class World:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.identity = stack.api("identity")
        self.projects = stack.api("projects")
        self.funding = stack.api("funding")
        self._tokens: dict[str, str] = {}

    def seed(self) -> None:
        async def run() -> None:
            for service, seeder, args in (
                ("identity", seed_identity, (Passwords(self.stack.settings["identity"]),)),
                ("funding", seed_funding, (TODAY,)),
                ("projects", seed_projects, (TODAY,)),
            ):
                async with self.stack.apps[service].state.db.writer() as session:
                    await seeder(session, *args)
                    await session.commit()

        self.stack.run(run)

    def login(self, email: str) -> str:
        if email not in self._tokens:
            self._tokens[email] = self._token(email, {
                "grant_type": "password", "username": email, "password": demo_data.DEMO_PASSWORD})
        return self._tokens[email]

    def _token(self, key: str, grant: dict[str, str]) -> str:
        """The token identity gives for the grant: one taken earlier in the session if identity still holds the
        demo as seeded (or the same layer on top), at TEST_NOW (the same token, minus its issuing time), else a new
        one over its API."""
        token = self.stack.pristine_token(key)
        if token is not None:
            return token
        pristine = self.stack.identity_is_pristine()
        response = self.identity.post("/api/v1/auth/token", json=grant)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        if pristine:
            self.stack.keep_pristine_token(key, token)
        return token

    def service_token(self, scope: str | None = None) -> str:
        """A service token of funding's (client credentials), with all its scopes or the ones asked."""
        key = f"{SERVICE} {scope or ''}"
        if key not in self._tokens:
            self._tokens[key] = self._token(key, {
                "grant_type": "client_credentials", "client_id": SERVICE, "client_secret": SERVICE_SECRET,
                **({"scope": scope} if scope else {})})
        return self._tokens[key]

    def as_service(self, service: str, scope: str | None = None) -> Api:
        api = self.stack.api(service)
        api.token = self.service_token(scope)
        return api

    def as_(self, service: str, email: str) -> Api:
        api = self.stack.api(service)
        api.token = self.login(email)
        return api

    def create_project(self, email: str = HOLDER, **overrides: Any) -> dict[str, Any]:
        response = self.as_("projects", email).post("/api/v1/projects", json={**PROJECT, **overrides})
        assert response.status_code == 201, response.text
        return response.json()

    def create_dossier(self, email: str = HOLDER, project: dict[str, Any] | None = None,
                       plan: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        plan = plan or [
            {"funder_id": org_id("ville"), "amount_cents": 1_500_000},
            {"funder_id": org_id("prefecture"), "amount_cents": 1_000_000},
            {"funder_id": None, "amount_cents": 500_000},
        ]
        # A project that costs at least what the plan asks, so that its budget can balance.
        asked = sum(line["amount_cents"] for line in plan)
        project = project or self.create_project(email, total_cost_cents=max(asked, PROJECT["total_cost_cents"]))
        response = self.as_("funding", email).post(
            "/api/v1/dossiers",
            json={"programme_id": str(demo_data.PROGRAMME_ID), "project_id": project["id"], "funding_plan": plan},
        )
        assert response.status_code == 201, response.text
        self.budget_matching(project, plan, email)
        return response.json()

    def budget_matching(
        self, project: dict[str, Any], plan: list[dict[str, Any]], email: str = HOLDER
    ) -> dict[str, Any]:
        """A balanced CERFA budget for the project whose account 74 lines ask what the plan asks; the rest of
        the project's cost comes from the association's own resources (75)."""
        asked = sum(line["amount_cents"] for line in plan)
        grants = [
            {"account_group": "74", "label": "Subvention", "amount_cents": line["amount_cents"],
             **({"funder_id": line["funder_id"]} if line["funder_id"] else {"to_be_allocated": True})}
            for line in plan
        ]
        total = max(project["total_cost_cents"], asked)
        own = [{"account_group": "75", "label": "Fonds propres", "amount_cents": total - asked}]
        own = own if total > asked else []
        api = self.as_("projects", email)
        url = f"/api/v1/projects/{project['id']}/budget"
        response = api.put(
            url,
            json={"charges": [{"account_group": "64", "label": "Animation", "amount_cents": total}],
                  "income": grants + own},
            headers={"If-Match": api.get(url).headers["etag"]},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def create_document(self, email: str = HOLDER, kind: str = "statutes", content: bytes | None = None,
                        **fields: Any) -> dict[str, Any]:
        """A document of the association's vault, uploaded through the API (a small PDF unless told)."""
        from services.projects.tests.document_samples import pdf

        response = self.as_("projects", email).post(
            "/api/v1/documents",
            data={"kind": kind, **{name: str(value) for name, value in fields.items()}},
            files={"file": ("statuts.pdf", content if content is not None else pdf(kind), "application/pdf")},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def provide_required_documents(self, email: str = HOLDER, track: str = "annual") -> None:
        """Every document the track requires, valid today, in the association's vault."""
        from services.funding.programmes.service import REQUIRED_DOCUMENTS
        from services.projects.models import PER_YEAR_KINDS

        for kind in REQUIRED_DOCUMENTS[track]:
            year: dict[str, Any] = {"year": TODAY.year - 1} if kind in PER_YEAR_KINDS else {}
            self.create_document(email, kind=kind, **year)

    def route(self, dossier: dict[str, Any], share_to: str = "departement") -> dict[str, Any]:
        """The desk's path for a submitted dossier: documents in the vault, admissible, the desk's share (if
        any) given to `share_to`, routed to every funder of the plan."""
        desk = self.as_("funding", DESK)
        url = f"/api/v1/dossiers/{dossier['id']}"
        self.provide_required_documents()
        admitted = desk.post(f"{url}/admissibility", json={"decision": "admissible"})
        assert admitted.status_code == 200, admitted.text
        pending = sum(line["amount_cents"] for line in admitted.json()["funding_plan"] if line["funder_id"] is None)
        if pending:
            shared = desk.post(f"{url}/allocate", json={"lines": [
                {"funder_id": org_id(share_to), "amount_cents": pending}]})
            assert shared.status_code == 200, shared.text
        routed = desk.post(f"{url}/route", json={})
        assert routed.status_code == 200, routed.text
        return routed.json()

    def submit(self, dossier: dict[str, Any], email: str = HOLDER) -> dict[str, Any]:
        response = self.as_("funding", email).post(f"/api/v1/dossiers/{dossier['id']}/submit")
        assert response.status_code == 200, response.text
        return response.json()


def demo_world(stack: Stack) -> World:
    """The demo territory as seeded: the first world of the session seeds it and takes the snapshot that
    `Stack.clean` puts back for every later one."""
    stack.clean()
    built = World(stack)
    if stack.snapshot is None:
        built.seed()
        stack.take_snapshot()
    return built


def layered_world(stack: Stack, name: str, build: Callable[[World], Any]) -> tuple[World, Any]:
    """The demo with what `build` makes through the API on top, and what `build` returned: built by the first
    caller on each stack, kept as the layer `name` (`Stack.take_layer`) and put back for every later caller,
    written or not since, as the demo is for the other tests."""
    layer = stack.layers.get(name)
    if layer is None:
        built = demo_world(stack)
        made = build(built)
        stack.take_layer(name, made)
        return built, made
    stack.clean(name)
    return World(stack), layer.made
