"""A partner's developer's view of the API: openapi-python-client generates a client from the merged document
(openapi/gateway.json) with no warning, every module of it imports, and that client alone drives the story from
an association's sign-up to its submitted dossier against the live desk."""

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from scripts.live_stack import LiveStack
from tests.support.mailbox import Mailbox

REPO = Path(__file__).resolve().parent.parent
DOCUMENT = REPO / "openapi" / "gateway.json"
PACKAGE = "desk_client"
ADMIN = "presidence@quartiers-en-jeu.example"
PASSWORD = "un-mot-de-passe-solide-2026"


def generate(folder: Path) -> str:
    """Runs the generator as a partner would; answers what it printed."""
    bin_dir = Path(sys.executable).parent  # its post-generation hook runs ruff, found on PATH
    done = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(DOCUMENT), "--meta", "none",
         "--output-path", str(folder / PACKAGE)],
        capture_output=True, text=True, timeout=300, cwd=folder,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("generated")
    output = generate(folder)
    # A clean run prints one line, "Generating …"; warnings, skipped endpoints and dropped schemas add more.
    assert [line for line in output.splitlines() if line.strip()] == [f"Generating {folder / PACKAGE}"], output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_every_generated_module_imports(client_package: ModuleType) -> None:
    failures = {}
    modules = list(pkgutil.walk_packages(client_package.__path__, PACKAGE + "."))
    for module in modules:
        try:
            importlib.import_module(module.name)
        except Exception as error:  # any: a module a partner cannot import
            failures[module.name] = repr(error)
    assert not failures, failures
    generated = {m.name.rsplit(".", 1)[-1] for m in modules if m.name.startswith(f"{PACKAGE}.api.") and not m.ispkg}
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    declared = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert generated == declared, (declared - generated, generated - declared)  # every operation, none dropped


class Operation:
    """A generated operation whose every answer is checked against the document: it carries an `ETag` header
    exactly when the document declares one for that status."""

    def __init__(self, tag: str, name: str):
        self.name = name
        self.module = importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
        document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
        self.responses = next(
            op["responses"] for item in document["paths"].values() for op in item.values() if op["operationId"] == name
        )

    def sync_detailed(self, **kwargs: Any) -> Any:
        response = self.module.sync_detailed(**kwargs)
        declared = "ETag" in self.responses.get(str(response.status_code), {}).get("headers", {})
        assert ("etag" in response.headers) == declared, (self.name, response.status_code, dict(response.headers))
        return response


def api(package: ModuleType, tag: str, operation: str) -> Operation:
    return Operation(tag, operation)


def model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def ok(response: Any, status: HTTPStatus = HTTPStatus.OK) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.parsed


def test_the_story_from_sign_up_to_a_submitted_dossier(client_package: ModuleType, live: LiveStack) -> None:
    p = client_package
    anonymous = p.Client(base_url=live.url(), raise_on_unexpected_status=True, timeout=30)

    # 1. An association signs itself up; nothing exists until its admin opens the link mailed to them.
    signup = model(p, "SignupRequest").from_dict({
        "organisation": {"name": "Quartiers en jeu", "rna": "W353077777"},
        "admin": {"email": ADMIN, "full_name": "Inès Moreau", "password": PASSWORD},
    })
    pending = ok(api(p, "organisations", "signup_association").sync_detailed(client=anonymous, body=signup),
                 HTTPStatus.ACCEPTED)
    assert pending.status == "verification_sent"
    token = Mailbox(live.identity_mail_folder).token(ADMIN, "sgn_")
    verify = model(p, "SignupVerify")(token=token)
    created = ok(api(p, "organisations", "verify_signup").sync_detailed(client=anonymous, body=verify),
                 HTTPStatus.CREATED)
    organisation_id = created.organisation.id
    assert created.admin.email == ADMIN  # SignupResult and its PersonPublic survived the merge

    # 2. Its admin logs in (the JSON grant) and reads who they are.
    grant = model(p, "PasswordGrant").from_dict({"grant_type": "password", "username": ADMIN, "password": PASSWORD})
    tokens = ok(api(p, "auth", "issue_token").sync_detailed(client=anonymous, body=grant))
    holder = p.AuthenticatedClient(
        base_url=live.url(), token=tokens.access_token, raise_on_unexpected_status=True, timeout=30
    )
    me = ok(api(p, "me", "get_me").sync_detailed(client=holder))
    assert me.person.email == ADMIN

    # 3. The open programme, the funders it will ask, its year (the association's yearly budget is that year's).
    programme = ok(api(p, "programmes", "list_programmes").sync_detailed(client=holder, track="annual")).items[0]
    funders = ok(api(p, "organisations", "list_organisations").sync_detailed(client=holder, kind="funder")).items
    city = next(funder.id for funder in funders if funder.name == "Ville de Rennes")

    # 4. Its profile and its yearly budget, entered once for every dossier.
    profile = model(p, "ProfileIn").from_dict({
        "legal_representative": {"name": "Inès Moreau", "function": "Présidente", "email": ADMIN},
        "address": {"street_lines": ["3 place de Zagreb"], "postcode": "35200", "city": "Rennes"},
        "people": {"volunteers": 12, "employees": 1, "fte": "1", "members": 40},
    })
    replaced = api(p, "organisations", "replace_profile").sync_detailed(
        organisation_id=organisation_id, client=holder, body=profile
    )
    assert ok(replaced, HTTPStatus.CREATED).filled_in is True
    yearly = model(p, "BudgetIn").from_dict({
        "charges": [{"account_group": "64", "label": "Salaires", "amount_cents": 3_000_000}],
        "income": [{"account_group": "74", "label": "Ville", "amount_cents": 2_000_000, "funder_id": str(city)},
                   {"account_group": "75", "label": "Cotisations", "amount_cents": 1_000_000}],
    })
    ok(api(p, "budgets", "replace_association_budget").sync_detailed(
        organisation_id=organisation_id, year=programme.year, client=holder, body=yearly, if_match='"0"'
    ))

    # 5. A project in the Blosne and its budget; the ETag read on the answer is the next If-Match.
    project_body = model(p, "ProjectCreate").from_dict({
        "title": "Tournoi inter-quartiers", "summary": "Un tournoi de football mixte chaque mois.",
        "qpv_codes": ["QN03505M"], "priorities": ["social_cohesion"],
        "start_date": f"{programme.year}-02-01", "end_date": f"{programme.year}-11-30",
        "target_public": "Jeunes de 12 à 17 ans", "total_cost_cents": 1_000_000,
    })
    answer = api(p, "projects", "create_project").sync_detailed(client=holder, body=project_body)
    project = ok(answer, HTTPStatus.CREATED)
    assert answer.headers["etag"] == f'"{project.version}"'  # the ETag the OpenAPI now documents
    budget = model(p, "BudgetIn").from_dict({
        "charges": [{"account_group": "60", "label": "Équipements", "amount_cents": 400_000},
                    {"account_group": "64", "label": "Éducateur", "amount_cents": 600_000}],
        "income": [{"account_group": "74", "label": "Ville", "amount_cents": 800_000, "funder_id": str(city)},
                   {"account_group": "75", "label": "Cotisations", "amount_cents": 200_000}],
    })
    current = api(p, "budgets", "get_project_budget").sync_detailed(project_id=project.id, client=holder)
    entered = ok(api(p, "budgets", "replace_project_budget").sync_detailed(
        project_id=project.id, client=holder, body=budget, if_match=current.headers["etag"]
    ))
    assert entered.balanced is True

    # 6. One dossier, its co-funding plan the budget's account 74; submitted with a retry-safe key.
    dossier_body = model(p, "DossierCreate").from_dict({
        "programme_id": str(programme.id), "project_id": str(project.id),
        "funding_plan": [{"funder_id": str(city), "amount_cents": 800_000}],
    })
    dossier = ok(api(p, "dossiers", "create_dossier").sync_detailed(client=holder, body=dossier_body),
                 HTTPStatus.CREATED)
    assert dossier.state == "draft"
    submitted = ok(api(p, "dossiers", "submit_dossier").sync_detailed(
        dossier_id=dossier.id, client=holder, idempotency_key=f"submit-{dossier.id}"
    ))
    assert submitted.state == "submitted" and submitted.reference.startswith("GU-")
    assert submitted.project_snapshot["title"] == "Tournoi inter-quartiers"  # frozen with it (a free-form object)
