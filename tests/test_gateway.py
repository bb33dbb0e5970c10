"""Through the gateway, against the four real processes: the README's story, request ids,
problems passed through, early token rejection, the merged OpenAPI and the dossier overview."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts import demo_data
from scripts.live_stack import LiveStack
from services.funding.programmes.service import REQUIRED_DOCUMENTS
from services.projects.models import PER_YEAR_KINDS
from services.projects.settings import ProjectsSettings
from services.projects.tests.document_samples import pdf
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import CITY_INSTRUCTOR, DESK, HOLDER, OTHER_HOLDER, PROJECT, STATE_INSTRUCTOR, org_id

REPO = Path(__file__).resolve().parent.parent


def login(client: httpx.Client, email: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": demo_data.DEMO_PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def gateway(live: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url(), timeout=10) as client:
        yield client


@pytest.fixture
def submitted(gateway: httpx.Client) -> dict:
    """The README's story: the association files one dossier and submits it."""
    holder = login(gateway, HOLDER)
    project = gateway.post("/api/v1/projects", json=PROJECT, headers=holder)
    assert project.status_code == 201, project.text
    budget = gateway.put(
        f"/api/v1/projects/{project.json()['id']}/budget",
        headers=holder | {"If-Match": '"0"'},
        json={
            "charges": [{"account_group": "64", "label": "Animation", "amount_cents": 4_800_000}],
            "income": [
                {"account_group": "74", "label": "Ville", "amount_cents": 1_500_000, "funder_id": org_id("ville")},
                {"account_group": "74", "label": "À répartir", "amount_cents": 500_000, "to_be_allocated": True},
                {"account_group": "75", "label": "Fonds propres", "amount_cents": 2_800_000},
            ],
        },
    )
    assert budget.status_code == 200 and budget.json()["balanced"], budget.text
    dossier = gateway.post(
        "/api/v1/dossiers",
        headers=holder,
        json={
            "programme_id": str(demo_data.PROGRAMME_ID),
            "project_id": project.json()["id"],
            "funding_plan": [
                {"funder_id": org_id("ville"), "amount_cents": 1_500_000},
                {"funder_id": None, "amount_cents": 500_000},
            ],
        },
    )
    assert dossier.status_code == 201, dossier.text
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = gateway.post(f"/api/v1/dossiers/{dossier.json()['id']}/submit", headers=holder | key)
    again = gateway.post(f"/api/v1/dossiers/{dossier.json()['id']}/submit", headers=holder | key)
    assert first.status_code == 200, first.text
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    return first.json()


@pytest.fixture
def routed(gateway: httpx.Client, submitted: dict) -> Iterator[dict]:
    """The desk's path, through the gateway: the association's documents, admissible, the desk's share to the
    département, routed to the city and the département. The documents are taken out of the vault afterwards:
    the live desk is shared, and the README's story starts from a vault without them."""
    holder = login(gateway, HOLDER)
    uploaded = []
    for kind in REQUIRED_DOCUMENTS["annual"]:
        year = {"year": str(TODAY.year - 1)} if kind in PER_YEAR_KINDS else {}
        answer = gateway.post("/api/v1/documents", headers=holder, data={"kind": kind, **year},
                              files={"file": ("piece.pdf", pdf(kind), "application/pdf")})
        assert answer.status_code == 201, answer.text
        uploaded.append(answer)
    desk = login(gateway, DESK)
    url = f"/api/v1/dossiers/{submitted['id']}"
    assert gateway.post(f"{url}/admissibility", headers=desk, json={"decision": "admissible"}).status_code == 200
    shared = gateway.post(f"{url}/allocate", headers=desk,
                          json={"lines": [{"funder_id": org_id("departement"), "amount_cents": 500_000}]})
    assert shared.status_code == 200, shared.text
    answer = gateway.post(f"{url}/route", headers=desk)
    assert answer.status_code == 200, answer.text
    yield answer.json()
    for document in uploaded:
        version = document.json()["current_version"]["id"]
        removed = gateway.delete(f"/api/v1/documents/{document.json()['id']}/versions/{version}",
                                 headers=holder | {"If-Match": document.headers["etag"]})
        assert removed.status_code == 204, removed.text


class TestTheStoryThroughTheGateway:
    def test_the_funder_named_in_the_plan_sees_nothing_before_routing(self, gateway, submitted):
        instructor = login(gateway, CITY_INSTRUCTOR)
        listed = gateway.get("/api/v1/dossiers", headers=instructor).json()["items"]
        assert submitted["id"] not in [d["id"] for d in listed]
        assert gateway.get(f"/api/v1/dossiers/{submitted['id']}", headers=instructor).status_code == 404

    def test_the_funder_named_in_the_plan_sees_the_routed_dossier(self, gateway, routed):
        instructor = login(gateway, CITY_INSTRUCTOR)
        listed = gateway.get("/api/v1/dossiers", headers=instructor)
        assert routed["id"] in [d["id"] for d in listed.json()["items"]]
        read = gateway.get(f"/api/v1/dossiers/{routed['id']}", headers=instructor)
        assert read.status_code == 200
        assert read.json()["project_snapshot"]["title"] == PROJECT["title"]

    def test_a_funder_not_in_the_plan_gets_404(self, gateway, routed):
        response = gateway.get(f"/api/v1/dossiers/{routed['id']}", headers=login(gateway, STATE_INSTRUCTOR))
        assert problem(response)["code"] == "not_found"


class TestRequestIds:
    def test_the_clients_request_id_is_kept_and_forwarded_to_the_service(self, gateway):
        response = gateway.get(
            f"/api/v1/dossiers/{uuid.uuid4()}", headers=login(gateway, HOLDER) | {"X-Request-ID": "trace-42"}
        )
        assert response.headers.get_list("x-request-id") == ["trace-42"]
        # The upstream's own hop headers are not repeated next to the gateway's.
        assert len(response.headers.get_list("date")) == 1 and len(response.headers.get_list("server")) == 1
        # The body was written by funding: the id reached it.
        assert problem(response)["request_id"] == "trace-42"

    def test_a_request_id_is_made_when_missing_or_unsafe(self, gateway):
        made = gateway.get("/healthz")
        assert len(made.headers["x-request-id"]) == 32
        unsafe = gateway.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


class TestProblemsPassThrough:
    def test_a_service_problem_arrives_unchanged(self, gateway, live):
        headers = login(gateway, HOLDER) | {"X-Request-ID": "same-id", "Accept-Language": "en"}
        path = f"/api/v1/dossiers/{uuid.uuid4()}"
        through = gateway.get(path, headers=headers)
        direct = httpx.get(live.url("funding") + path, headers=headers)
        assert through.status_code == direct.status_code == 404
        assert through.headers["content-type"] == direct.headers["content-type"] == "application/problem+json"
        assert through.json() == direct.json()
        assert through.json()["title"] == "Resource not found"

    def test_validation_problems_list_the_fields(self, gateway):
        response = gateway.post("/api/v1/projects", json={**PROJECT, "total_cost_cents": False},
                                headers=login(gateway, HOLDER))
        body = problem(response)
        assert response.status_code == 422
        assert [e["field"] for e in body["errors"]] == ["body.total_cost_cents"]


class TestTokensAtTheDoor:
    @pytest.mark.parametrize("authorization", ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer"])
    def test_a_bad_authorization_is_refused_by_the_gateway(self, gateway, authorization):
        response = gateway.get("/api/v1/projects", headers={"Authorization": authorization})
        assert response.status_code == 401
        assert problem(response)["instance"] == "/api/v1/projects"
        assert response.headers["www-authenticate"].startswith("Bearer")

    def test_anonymous_calls_reach_the_service_which_decides(self, gateway):
        assert problem(gateway.get("/api/v1/projects"))["status"] == 401
        assert gateway.get("/.well-known/jwks.json").json()["keys"]


class TestLimits:
    def test_an_oversized_body_gets_413(self, gateway):
        response = gateway.post(
            "/api/v1/projects", content=b"x" * (11 * 1_048_576 + 1),
            headers=login(gateway, HOLDER) | {"content-type": "application/json"},
        )
        assert problem(response)["status"] == 413

    def test_a_document_of_the_largest_size_the_vault_takes_passes_the_gateway(self, gateway):
        largest = ProjectsSettings().documents_max_bytes
        content = pdf("largest").replace(b"%%EOF", b"")
        content += b"%" * (largest - len(content) - len(b"%%EOF\n")) + b"%%EOF\n"
        assert len(content) == largest
        response = gateway.post(
            "/api/v1/documents", headers=login(gateway, HOLDER),
            data={"kind": "statutes"}, files={"file": ("statuts.pdf", content, "application/pdf")},
        )
        assert response.status_code == 201, response.text
        assert response.json()["current_version"]["size_bytes"] == largest


class TestDocs:
    def test_the_merged_openapi_is_the_exported_one(self, gateway):
        served = gateway.get("/api/v1/openapi.json").json()
        exported = json.loads((REPO / "openapi" / "gateway.json").read_text())
        assert served["paths"].keys() == exported["paths"].keys()
        assert "/api/v1/dossiers/{dossier_id}/overview" in served["paths"]
        assert "/api/v1/projects" in served["paths"] and "/api/v1/auth/token" in served["paths"]

    def test_docs_are_served(self, gateway):
        response = gateway.get("/docs")
        assert response.status_code == 200 and "/api/v1/openapi.json" in response.text

    def test_readiness_reports_every_service(self, gateway):
        body = gateway.get("/readyz").json()  # from the gateway's last look (gateway/readiness.py)
        assert body["status"] == "ready", body
        # A look may have found one service busy (funding just built its OpenAPI document): one late answer is
        # not an outage, so each state is said, and none of them fails the whole.
        assert sorted(body["services"]) == ["funding", "identity", "projects"]


class TestDossierOverview:
    def test_the_holder_gets_every_part(self, gateway, submitted):
        body = gateway.get(f"/api/v1/dossiers/{submitted['id']}/overview", headers=login(gateway, HOLDER)).json()
        assert body["dossier"]["reference"] == submitted["reference"]
        assert body["project_snapshot"]["title"] == PROJECT["title"]
        assert body["project"]["status"] == "ok" and body["project"]["data"]["id"] == submitted["project_id"]
        assert body["organisation"]["status"] == "ok"
        assert body["organisation"]["data"]["name"] == demo_data.organisation("blosne-avenir").name

    def test_a_part_the_caller_may_not_read_is_marked_not_fatal(self, gateway, routed):
        body = gateway.get(
            f"/api/v1/dossiers/{routed['id']}/overview", headers=login(gateway, CITY_INSTRUCTOR)
        ).json()
        assert body["dossier"]["id"] == routed["id"]
        assert body["project"] == {"status": "forbidden", "http_status": 403, "data": None}
        assert body["organisation"]["status"] == "ok"

    def test_a_dossier_out_of_sight_is_the_services_404(self, gateway, submitted):
        response = gateway.get(
            f"/api/v1/dossiers/{submitted['id']}/overview", headers=login(gateway, OTHER_HOLDER)
        )
        assert problem(response)["code"] == "not_found"

    def test_without_a_token_401(self, gateway, submitted):
        assert gateway.get(f"/api/v1/dossiers/{submitted['id']}/overview").status_code == 401
