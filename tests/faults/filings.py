"""What the fault tests file through the gateway: drafts ready to submit, each with a document version of its
association's vault attached, and the submissions themselves, with their Idempotency-Key."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from scripts import demo_data
from services.projects.tests.document_samples import pdf
from tests.faults.desk import FaultDesk
from tests.support.world import HOLDER, PROJECT, org_id

CITY = org_id("ville")
ASKED = 1_000_000


@dataclass
class Draft:
    id: str
    version_ids: list[str]
    key: str  # the Idempotency-Key its submissions carry, retries included


class Filer:
    """The gateway, as the demo's users, with one token each."""

    def __init__(self, desk: FaultDesk):
        self.desk = desk
        self.tokens: dict[str, str] = {}

    def headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            answer = httpx.post(f"{self.desk.url()}/api/v1/auth/token", timeout=30, data={
                "grant_type": "password", "username": user, "password": demo_data.DEMO_PASSWORD})
            assert answer.status_code == 200, answer.text
            self.tokens[user] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def call(self, user: str, method: str, url: str, *, timeout: float = 30, base: str | None = None,
             **kwargs: Any) -> httpx.Response:
        """Through the gateway, or straight to one server's `base` address."""
        headers = {**self.headers(user), **kwargs.pop("headers", {})}
        return httpx.request(method, f"{base or self.desk.url()}{url}", headers=headers, timeout=timeout, **kwargs)

    def ok(self, user: str, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        answer = self.call(user, method, url, **kwargs)
        assert answer.status_code == status, f"{method} {url}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def drafts(self, count: int, holder: str = HOLDER) -> list[Draft]:
        """`count` drafts of the demo's annual call, each on its own project with its own attached document."""
        def one(index: int) -> Draft:
            project = self.ok(holder, "POST", "/api/v1/projects", 201,
                              json={**PROJECT, "title": f"Projet sous panne {index}"})
            total = PROJECT["total_cost_cents"]
            self.ok(holder, "PUT", f"/api/v1/projects/{project['id']}/budget", headers={"If-Match": '"0"'}, json={
                "charges": [{"account_group": "64", "label": "Animation", "amount_cents": total}],
                "income": [{"account_group": "74", "label": "Ville", "amount_cents": ASKED, "funder_id": CITY},
                           {"account_group": "75", "label": "Fonds propres", "amount_cents": total - ASKED}],
            })
            document = self.ok(holder, "POST", "/api/v1/documents", 201, data={"kind": "other"},
                               files={"file": (f"bilan-{index}.pdf", pdf(f"bilan {index}"), "application/pdf")})
            version = document["current_version"]["id"]
            dossier = self.ok(holder, "POST", "/api/v1/dossiers", 201, json={
                "programme_id": str(demo_data.PROGRAMME_ID), "project_id": project["id"],
                "funding_plan": [{"funder_id": CITY, "amount_cents": ASKED}], "document_version_ids": [version]})
            return Draft(id=dossier["id"], version_ids=[version], key=str(uuid.uuid4()))

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(count)))

    def submit(self, draft: Draft, holder: str = HOLDER, *, timeout: float = 30) -> httpx.Response:
        return self.call(holder, "POST", f"/api/v1/dossiers/{draft.id}/submit", timeout=timeout,
                         headers={"Idempotency-Key": draft.key})

    def submit_all(self, drafts: list[Draft], holder: str = HOLDER, *, timeout: float = 30) -> list[httpx.Response]:
        with ThreadPoolExecutor(len(drafts)) as pool:
            return list(pool.map(lambda draft: self.submit(draft, holder, timeout=timeout), drafts))
