"""schemathesis against each service's own OpenAPI, in process, with real tokens, on both databases.

The services are built again, once per stack, over the test databases and with the `stack`'s signing key:
- schemathesis' ASGI client runs every app on one event loop of its own for the whole process, so these apps keep
  a small pool there (a fresh PostgreSQL connection per call was a quarter of a PostgreSQL fuzz test);
- its pytest plugin ends the lifespan of every ASGI app it reached when a test ends, and the apps' lifespan
  closes their HTTP client (JWKS, calls between services) for good: these apps run without their lifespan.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema
from sqlalchemy import update

from scripts import demo_data
from services.funding.models.notification import DeliveryState, Notification
from services.funding.tests.committee_helpers import decide, ok, open_session, plan_session, ready
from tests.support.fuzz import (
    CALLER_BY_OPERATION,
    OPERATIONS,
    PUBLIC_OPERATIONS,
    Audit,
    Callers,
    Fuzzer,
    LinkWalk,
    config,
    operations_by_id,
    run_state_machine,
)
from tests.support.stack import Stack, build_apps
from tests.support.world import (
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    PLATFORM,
    SERVICE,
    World,
    layered_world,
    org_id,
)

# Fuzzing examples per operation and generation mode (positive, negative), on top of the schema's examples
# and schemathesis' coverage cases (boundaries, missing and wrongly typed values: about 20-150 per operation).
MAX_EXAMPLES = 15
# Data the schema refuses is refused by the request's validation, the same code whatever the database: it is
# generated against PostgreSQL only (or SQLite, when it is the only one), and valid data against both. This halves
# SQLite's share of the fuzzing, the suite's largest part.
NEGATIVE_DATA_BACKEND = "postgres" if os.environ.get("TEST_POSTGRES_URL") else "sqlite"
# Stateful scenarios per service, and calls per scenario.
SCENARIOS = 20
STEPS = 8
# Chains started from each operation that has links, and how many links deep they go.
CHAINS = 20
CHAIN_DEPTH = 3
SERVICES = ("identity", "projects", "funding")
SEED = 20261125
# The funding plan of every chain: one line, its funder from the demo programme's.
LINKS_PLAN = [{"funder_id": org_id(demo_data.FUNDER_KEYS[0]), "amount_cents": 1_500_000}]


# Each service's OpenAPI document, as the first app built in this process generated it (seconds each): the
# apps of the next tests are built by the same code from the same settings, and serve that document.
OPENAPI: dict[tuple[str, str], dict[str, Any]] = {}


@pytest.fixture
def layered(stack: Stack) -> tuple[World, dict[str, list[str]]]:
    """The demo with `known`'s resources on top: made by the first test of each stack, put back for the others."""
    return layered_world(stack, "schemathesis", _known)


@pytest.fixture
def world(layered: tuple[World, dict[str, list[str]]]) -> World:
    """The suite's `world` here holds `known`'s resources too."""
    return layered[0]


# The fuzzed apps of each stack, built once (an eighth of a second of CPU each time, for every test): their state
# lives in the databases, which `world` puts back for every test; their lifespan is left out (see `fuzz_apps`).
FUZZ_APPS: dict[str, dict[str, FastAPI]] = {}


@asynccontextmanager
async def _no_lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield


@pytest.fixture
def fuzz_apps(stack: Stack, world: World) -> dict[str, FastAPI]:
    """The three services with a small pool, wired together, over the seeded demo territory. schemathesis' plugin
    ends the lifespan of every app a test reached, and theirs closes the HTTP client (JWKS, calls between
    services) for good: these run without one, and fetch identity's keys on their first token instead."""
    apps = FUZZ_APPS.get(stack.backend)
    if apps is None:
        apps, _transport = build_apps(stack.settings, database_pool_size=1, database_max_overflow=1)
        for app in apps.values():
            app.router.lifespan_context = _no_lifespan
        FUZZ_APPS[stack.backend] = apps
    for service, app in apps.items():
        document = OPENAPI.get((stack.backend, service))
        if document is None:
            OPENAPI[stack.backend, service] = app.openapi()
        else:
            app.openapi_schema = document
    return apps


@pytest.fixture
def tokens(world: World) -> dict[str, str]:
    """Real logins through identity's API."""
    return {
        **{email: world.login(email) for email in (HOLDER, DESK, PLATFORM, CITY_MANAGER, COMMITTEE_MEMBER)},
        SERVICE: world.service_token(),
    }


@pytest.fixture
def known(layered: tuple[World, dict[str, list[str]]]) -> dict[str, list[str]]:
    """Identifiers and codes that name real rows: the demo territory, and resources of the holder's made
    through the API (a project, a draft dossier, a machine client)."""
    return {name: list(values) for name, values in layered[1].items()}


def _known(world: World) -> dict[str, list[str]]:
    """`known`'s resources, made through the API."""
    project = world.create_project()
    dossier = world.create_dossier(project=world.create_project(title="Jardins partagés"))
    # Both projects' budgets ask what the chains' one-line plan asks (see `test_links_lead_somewhere`), so that
    # a dossier made in a chain can be submitted.
    for each in (project, world.as_("projects", HOLDER).get(f"/api/v1/projects/{dossier['project_id']}").json()):
        world.budget_matching(each, LINKS_PLAN)
    client = world.as_("identity", HOLDER).post(
        "/api/v1/clients", json={"name": "Logiciel de la fédération", "scopes": ["projects:read"]}
    )
    assert client.status_code == 201, client.text
    referential = world.as_("projects", HOLDER)
    qpv = referential.get("/api/v1/referential/qpv", params={"department": "035"})
    priorities = referential.get("/api/v1/referential/priorities")
    assert qpv.status_code == priorities.status_code == 200
    documents = [world.create_document(), world.create_document(kind="approved_accounts", year=2025)]
    # Both projects follow two indicators (2027 and the span); the first has a complete draft report for each.
    holder = world.as_("projects", HOLDER)
    followed = {"volunteers_involved": "2027", "activity_hours": "span"}
    for project_id in (project["id"], dossier["project_id"]):
        targets = [{"indicator_code": code, "period": period, "target": 10} for code, period in followed.items()]
        chosen = holder.request("PUT", f"/api/v1/projects/{project_id}/indicators", json={"targets": targets})
        assert chosen.status_code == 200, chosen.text
    reports = [
        holder.post("/api/v1/reports", json={
            "project_id": project["id"], "period": period, "narrative": "Bilan",
            "values": [{"indicator_code": code, "value": 8}],
        })
        for code, period in followed.items()
    ]
    assert all(report.status_code == 201 for report in reports), [report.text for report in reports]
    # The city's demo envelope: its manager is the caller of the envelopes' operations.
    envelopes = world.as_("funding", CITY_MANAGER).get("/api/v1/envelopes")
    assert envelopes.status_code == 200 and envelopes.json()["items"], envelopes.text
    # A planned committee session with a ready dossier on its agenda, and a closed one whose answer the holder
    # was notified of.
    planned = plan_session(world, [ready(world)], [org_id("ville"), org_id("prefecture")])
    closed = _closed_session(world)
    notifications = world.as_("funding", HOLDER).get("/api/v1/notifications")
    assert notifications.status_code == 200 and notifications.json()["items"], notifications.text
    _mail_server_was_down(world)
    agreements = world.as_("funding", HOLDER).get("/api/v1/agreements").json()["items"]
    payments = world.as_("funding", HOLDER).get("/api/v1/payments").json()["items"]
    financial = world.as_("funding", HOLDER).get("/api/v1/financial-reports").json()["items"]
    assert agreements and payments and financial
    return {
        "sessions": [planned["id"], closed["id"]],
        "items": [item["id"] for item in planned["items"] + closed["items"]],
        "notifications": [item["id"] for item in notifications.json()["items"]],
        "agreements": [item["id"] for item in agreements],
        "payments": [item["id"] for item in payments],
        "organisations": [org_id("blosne-avenir"), org_id("maurepas-solidaire"), org_id("ville")],
        "projects": [project["id"], dossier["project_id"]],
        "dossiers": [dossier["id"]],
        "programmes": [str(demo_data.PROGRAMME_ID)],
        "clients": [client.json()["id"]],
        "funders": [org_id(key) for key in demo_data.FUNDER_KEYS],
        "qpv_codes": [item["code"] for item in qpv.json()["items"]],
        "priorities": [item["code"] for item in priorities.json()["items"]],
        "documents": [document["id"] for document in documents],
        "document_versions": [document["current_version"]["id"] for document in documents],
        # The projects' indicator reports and funding's financial reports share the path parameter's name.
        "reports": [report.json()["id"] for report in reports] + [item["id"] for item in financial],
        "indicator_codes": list(followed),
        "periods": sorted(set(followed.values())),
        "envelopes": [item["id"] for item in envelopes.json()["items"]],
    }


def _closed_session(world: World) -> dict[str, Any]:
    """The city grants its whole share (a decision letter, its payment), the State nothing."""
    dossier = ready(world, documents=False)
    both = [org_id("ville"), org_id("prefecture")]
    session = ok(open_session(world, plan_session(world, [dossier], both), both))
    ok(decide(world, session, dossier, both[0], 1_500_000), 201)
    ok(decide(world, session, dossier, both[1], 0), 201)
    return ok(world.as_("funding", DESK).post(f"/api/v1/sessions/{session['id']}/close", json={}))


def _mail_server_was_down(world: World) -> None:
    """The notifications' mails failed, as with the mail server down: the desk's resend has one to send."""

    async def fail() -> None:
        async with world.stack.apps["funding"].state.db.writer() as session:
            await session.execute(update(Notification).values(
                delivery_state=DeliveryState.failed, sent_at=None, last_error="mail server unreachable"
            ))
            await session.commit()

    world.stack.run(fail)


@pytest.fixture
def schema(fuzz_apps: dict[str, FastAPI], known: dict[str, list[str]], service: str) -> BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_apps[service], config=config(known, seed=SEED))


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_fuzzed_with_its_caller(schema: BaseSchema, service: str) -> None:
    """The tables of callers cover the live schema exactly: a new route cannot escape the fuzzing."""
    live = operations_by_id(schema)
    assert set(live) == set(OPERATIONS[service]), (
        f"not fuzzed: {set(live) - set(OPERATIONS[service])}; gone: {set(OPERATIONS[service]) - set(live)}"
    )
    for name in CALLER_BY_OPERATION[service]:
        assert live[name].definition.raw.get("security"), f"{live[name].label} has a caller but declares no security"
    for name in PUBLIC_OPERATIONS[service] & set(live):
        assert name not in CALLER_BY_OPERATION[service]


@pytest.mark.parametrize(
    ("service", "operation"), [(service, name) for service in SERVICES for name in OPERATIONS[service]]
)
def test_fuzz(schema: BaseSchema, tokens: dict[str, str], backend: str, service: str, operation: str) -> None:
    api_operation = operations_by_id(schema)[operation]
    audit = Audit()
    fuzzer = Fuzzer(
        schema=schema,
        headers_for=Callers(service, tokens).headers,
        audit=audit,
        max_examples=MAX_EXAMPLES,
        modes=tuple(GenerationMode) if backend == NEGATIVE_DATA_BACKEND else (GenerationMode.POSITIVE,),
    )
    fuzzer.run(api_operation)

    assert not fuzzer.failures, "\n\n".join(fuzzer.failures.values())
    if operation in CALLER_BY_OPERATION[service]:
        # A run where every call was refused (bad token, wrong role, JWKS unreachable) must not pass.
        assert audit.authorised(api_operation), (
            f"{api_operation.label}: every call refused for its caller: {dict(audit.statuses[api_operation.label])}, "
            f"first: {audit.first_refusal.get(api_operation.label)}"
        )


@pytest.mark.parametrize(("service", "operation"), [("projects", "list_projects"), ("projects", "create_project")])
def test_the_audit_catches_a_run_where_auth_silently_fails(schema: BaseSchema, service: str, operation: str) -> None:
    """The safety net of `test_fuzz`, tried: with a token the services cannot verify, every call that gets to
    the token check is a 401, and the audit fails the run."""
    api_operation = operations_by_id(schema)[operation]
    audit = Audit()
    unverifiable = Callers(service, {HOLDER: "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"})
    Fuzzer(schema=schema, headers_for=unverifiable.headers, audit=audit, max_examples=3).run(api_operation)
    assert 401 in audit.statuses[api_operation.label]
    assert not audit.authorised(api_operation), dict(audit.statuses[api_operation.label])


@pytest.mark.parametrize("service", SERVICES)
def test_stateful(schema: BaseSchema, tokens: dict[str, str], service: str) -> None:
    """Scenarios along the OpenAPI links: a resource created, then read, changed, submitted, revoked."""
    audit = Audit()
    failures = run_state_machine(
        schema, Callers(service, tokens), audit, scenarios=SCENARIOS, step_count=STEPS, seed=SEED
    )

    assert not failures, "\n\n".join(failures.values())
    refused = {label: dict(audit.statuses[label]) for label in audit.statuses if not audit.authorised_label(label)}
    assert not refused, f"every call refused for its caller: {refused}"


@pytest.mark.parametrize("service", SERVICES)
def test_links_lead_somewhere(
    fuzz_apps: dict[str, FastAPI], known: dict[str, list[str]], tokens: dict[str, str], service: str
) -> None:
    """Explicit chains: create (or read) a resource, then follow each OpenAPI link of the answer with the id
    and ETag it gives (project created, read, changed; dossier created, changed, submitted; programme created,
    read; association signed up, read; machine client created, revoked). Every link must reach a 2xx."""
    # Real identifiers every time, so that a chain starts from a creation that can succeed; and a funding plan
    # of one line (its funder drawn from the programme's): generated plans of several lines name a funder twice
    # more often than not, and the chains would stop at their 422. Single operations fuzz the plans.
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json",
        fuzz_apps[service],
        config=config(
            known, seed=SEED, probability=1.0,
            fixed={
                "body.funding_plan": LINKS_PLAN,
                # Generated versions name nothing in the vault: a submission would be refused for them.
                "body.document_version_ids": [],
                # A report's values are checked against the project's targets, its evidence against the vault:
                # generated ones break a rule almost every time. Single operations fuzz them.
                "body.values": [],
                "body.evidence_version_ids": [],
            },
        ),
    )
    audit = Audit()
    fuzzer = Fuzzer(schema=schema, headers_for=Callers(service, tokens).headers, audit=audit, max_examples=0)
    walk = LinkWalk(fuzzer, operations_by_id(schema), depth=CHAIN_DEPTH)
    links = walk.links()
    sources = {operation.label: operation for operation, _, _ in links.values()}
    for index, label in enumerate(sorted(sources)):
        walk.run(sources[label], examples=CHAINS, seed=SEED + index)

    assert not fuzzer.failures, "\n\n".join(fuzzer.failures.values())
    reached = {name: dict(walk.reached.get(name, {})) for name in links}
    dead = {name: statuses for name, statuses in reached.items() if not walk.successes(name)}
    assert not dead, f"links that never led to a 2xx: {dead}"
    refused = {label: dict(audit.statuses[label]) for label in audit.statuses if not audit.authorised_label(label)}
    assert not refused, f"every call refused for its caller: {refused}"
