"""The demo territory in the test databases, and real logins through identity's API."""

from datetime import date
from typing import Any

from scripts import demo_data
from scripts.seed_demo import seed_funding, seed_identity
from services.identity.passwords import Passwords
from tests.support.stack import Api, Stack

PROJECT = {
    "title": "Aide aux devoirs au Blosne",
    "summary": "Accompagnement scolaire de 60 collégiens, quatre soirs par semaine.",
    "qpv_codes": ["QN03502B"],
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
                ("funding", seed_funding, (date.today(),)),
            ):
                async with self.stack.apps[service].state.db.writer() as session:
                    await seeder(session, *args)
                    await session.commit()

        self.stack.run(run)

    def login(self, email: str) -> str:
        if email not in self._tokens:
            response = self.identity.post(
                "/api/v1/auth/token",
                json={"grant_type": "password", "username": email, "password": demo_data.DEMO_PASSWORD},
            )
            assert response.status_code == 200, response.text
            self._tokens[email] = response.json()["access_token"]
        return self._tokens[email]

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
        project = project or self.create_project(email)
        plan = plan or [
            {"funder_id": org_id("ville"), "amount_cents": 1_500_000},
            {"funder_id": org_id("prefecture"), "amount_cents": 1_000_000},
            {"funder_id": None, "amount_cents": 500_000},
        ]
        response = self.as_("funding", email).post(
            "/api/v1/dossiers",
            json={"programme_id": str(demo_data.PROGRAMME_ID), "project_id": project["id"], "funding_plan": plan},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def submit(self, dossier: dict[str, Any], email: str = HOLDER) -> dict[str, Any]:
        response = self.as_("funding", email).post(f"/api/v1/dossiers/{dossier['id']}/submit")
        assert response.status_code == 200, response.text
        return response.json()
