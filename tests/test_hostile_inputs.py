"""No input breaks a service: each hostile body or parameter is a clear problem (4xx) and writes nothing."""

import io
import json
import logging
import re
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from jose import jwt
from sqlalchemy import create_engine

from common import idempotency
from common.db import sync_url, utcnow
from common.observability import JsonFormatter
from common.problems import BadRequest, Text
from scripts import demo_data
from tests.support.stack import METADATA, _schema_args, problem
from tests.support.world import CITY_MANAGER, DESK, HOLDER, PROJECT, World, org_id

# An id nothing has, fixed rather than drawn: every pytest-xdist worker must collect the same tests.
UNKNOWN_ID = "5f0c1a9e-7b2d-4c3e-9a8f-1d2e3f4a5b6c"

REPO = Path(__file__).resolve().parent.parent
DEEP_ARRAY = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000


def _body_routes(service: str) -> list[tuple[str, str]]:
    """Every route of the service's OpenAPI that takes a JSON body, its path parameters filled with UUIDs."""
    document = json.loads((REPO / "openapi" / f"{service}.json").read_text())
    routes = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "application/json" in (operation.get("requestBody") or {}).get("content", {}):
                routes.append((method.upper(), re.sub(r"\{[^}]+\}", UNKNOWN_ID, path)))
    return routes


def _projects(world: World) -> int:
    return len(world.as_("projects", HOLDER).get("/api/v1/projects").json()["items"])


def test_json_nested_ten_thousand_deep_is_a_400_on_every_route_of_every_service(world: World) -> None:
    before = _projects(world)
    walked = 0
    for service in ("identity", "projects", "funding"):
        api = world.as_(service, HOLDER)
        for method, path in _body_routes(service):
            for body in (DEEP_ARRAY, DEEP_OBJECT):
                response = api.request(method, path, content=body, headers={"content-type": "application/json"})
                assert response.status_code == 400, (method, path, response.text)
                assert problem(response)["code"] == "json_too_deep", (method, path)
                walked += 1
    assert walked > 100  # the walk covered the routes, not an empty list
    assert _projects(world) == before


def test_the_token_endpoint_refuses_deep_json_but_still_reads_a_form_and_shallow_json(world: World) -> None:
    # The token endpoint parses its own body (form or JSON): the old 500 RecursionError came from there.
    refused = world.identity.post(
        "/api/v1/auth/token", content=DEEP_ARRAY, headers={"content-type": "application/json", "accept-language": "en"}
    )
    assert refused.status_code == 400
    body = problem(refused)
    assert body["code"] == "json_too_deep" and "64 levels" in body["detail"]
    # Brackets inside a form value or a JSON string are text, not nesting.
    form = world.identity.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": HOLDER, "password": "[" * 100})
    assert form.status_code == 400 and problem(form)["code"] != "json_too_deep"
    text = world.identity.post("/api/v1/auth/token", json={
        "grant_type": "password", "username": HOLDER, "password": "{[" * 50})
    assert text.status_code == 400 and problem(text)["code"] != "json_too_deep"


def test_a_body_nested_just_within_the_limit_reaches_validation(world: World) -> None:
    api = world.as_("projects", HOLDER)
    nested = "[" * 63 + "]" * 63
    response = api.post("/api/v1/projects", content=nested, headers={"content-type": "application/json"})
    assert response.status_code == 422 and problem(response)["code"] == "validation_failed"


EDGES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]


def _since_routes(service: str) -> list[str]:
    """Every list of the service that takes `?updated_since=` (the exports' `{kind}` a real one), its path
    parameters filled with UUIDs."""
    document = json.loads((REPO / "openapi" / f"{service}.json").read_text())
    return [
        re.sub(r"\{[^}]+\}", UNKNOWN_ID, path.replace("{kind}", "dossiers"))
        for path, operations in document["paths"].items()
        for operation in [operations.get("get")] if operation
        if any(p["name"] == "updated_since" for p in operation.get("parameters", []))
    ]


@pytest.mark.parametrize("edge", EDGES)
def test_a_timestamp_past_the_calendar_s_edge_is_a_422_on_every_list(world: World, edge: str) -> None:
    walked = 0
    for service in ("projects", "funding"):
        for path in _since_routes(service):
            # A role check answers before parameters are validated: ask as the first caller that may list.
            for caller in (HOLDER, CITY_MANAGER, DESK):
                response = world.as_(service, caller).get(path, params={"updated_since": edge})
                if response.status_code != 403:
                    break
            assert response.status_code == 422, (path, response.text)
            body = problem(response)
            assert body["code"] == "validation_failed"
            assert [e["field"] for e in body["errors"]] == ["query.updated_since"], path
            walked += 1
    assert walked >= 10


def test_the_last_instant_of_the_calendar_is_still_a_valid_filter(world: World) -> None:
    world.create_project()
    response = world.as_("projects", HOLDER).get("/api/v1/projects", params={"updated_since": "9999-12-31T23:59:59Z"})
    assert response.status_code == 200 and response.json()["items"] == []
    everything = world.as_("projects", HOLDER).get("/api/v1/projects", params={"updated_since": "0001-01-01T00:00:00Z"})
    assert len(everything.json()["items"]) == 1


@pytest.mark.parametrize("kind", ["dossiers", "decisions", "payments"])
def test_an_export_refuses_an_edge_timestamp_before_its_first_byte(world: World, kind: str) -> None:
    api = world.as_("funding", CITY_MANAGER)
    for format_ in ("csv", "jsonl"):
        response = api.get(f"/api/v1/exports/{kind}", params={"updated_since": EDGES[0], "format": format_})
        assert response.status_code == 422, response.text
        assert problem(response)["errors"][0]["field"] == "query.updated_since"


def test_an_export_whose_first_query_fails_answers_a_problem_not_a_cut_off_200(world: World, monkeypatch) -> None:
    from services.funding.exports import repository as exports_repository

    def refuse(*_args, **_kwargs):
        raise BadRequest(Text("Curseur de pagination invalide.", "Invalid pagination cursor."), code="invalid_cursor")

    monkeypatch.setattr(exports_repository, "keyset", refuse)
    response = world.as_("funding", CITY_MANAGER).get("/api/v1/exports/dossiers")  # a CSV: its header comes first
    assert response.status_code == 400
    assert problem(response)["code"] == "invalid_cursor"


class _VanishingReservation:
    """Between a retry's insert that conflicts and its lookup of the row it met, the first call with the same key
    fails and releases its reservation (and, with `taken_again`, a third call with the same body claims the key at
    once)."""

    def __init__(self, world: World, service: str, subject: str, key: str, *, taken_again: bool = False):
        url = world.stack.urls[service]
        self.engine = create_engine(sync_url(url), connect_args=_schema_args(url, service))
        self.table = METADATA[service].tables["idempotency_keys"]
        self.row = {"principal": subject, "key": key, "request_hash": "0" * 64, "created_at": utcnow()}
        self.taken_again = taken_again
        self.lookups = 0
        self.retry_hash: str | None = None
        with self.engine.begin() as connection:  # the first call, still running
            connection.execute(self.table.insert().values(**self.row))

    def select(self, *args):
        self.lookups += 1
        if self.lookups == 1:
            with self.engine.begin() as connection:
                connection.execute(self.table.delete())
                if self.taken_again:
                    connection.execute(self.table.insert().values({**self.row, "request_hash": self.retry_hash}))
        return sqlalchemy.select(*args)

    def request_hash(self, *args):
        self.retry_hash = _REQUEST_HASH(*args)
        return self.retry_hash


_REQUEST_HASH = idempotency._request_hash


def _subject(token: str | None) -> str:
    assert token is not None, "the caller signed in"
    subject: str = jwt.get_unverified_claims(token)["sub"]
    return subject


def test_a_retry_whose_first_call_fails_under_it_proceeds_as_a_fresh_attempt(world: World, monkeypatch) -> None:
    api = world.as_("projects", HOLDER)
    race = _VanishingReservation(world, "projects", _subject(api.token), "retry-1")
    monkeypatch.setattr(idempotency, "select", race.select)
    before = _projects(world)
    answer = api.post("/api/v1/projects", json=PROJECT, headers={"Idempotency-Key": "retry-1"})
    assert answer.status_code == 201, answer.text  # was a 500 NoResultFound
    assert race.lookups == 1
    assert _projects(world) == before + 1
    replay = api.post("/api/v1/projects", json=PROJECT, headers={"Idempotency-Key": "retry-1"})
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json()["id"] == answer.json()["id"]
    race.engine.dispose()


def test_a_retry_that_finds_the_key_taken_again_is_a_409_in_progress(world: World, monkeypatch) -> None:
    api = world.as_("projects", HOLDER)
    race = _VanishingReservation(world, "projects", _subject(api.token), "retry-2", taken_again=True)
    monkeypatch.setattr(idempotency, "select", race.select)
    monkeypatch.setattr(idempotency, "_request_hash", race.request_hash)
    before = _projects(world)
    answer = api.post("/api/v1/projects", json=PROJECT, headers={"Idempotency-Key": "retry-2"})
    assert answer.status_code == 409, answer.text
    assert problem(answer)["code"] == "idempotency_in_progress"
    assert _projects(world) == before
    race.engine.dispose()


NOT_CENTS = [1.0, 1500.0, "100", True]


@pytest.mark.parametrize("amount", NOT_CENTS, ids=repr)
def test_a_project_s_cost_must_be_integer_cents(world: World, amount: object) -> None:
    before = _projects(world)
    response = world.as_("projects", HOLDER).post("/api/v1/projects", json={**PROJECT, "total_cost_cents": amount})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in problem(response)["errors"]] == ["body.total_cost_cents"]
    assert _projects(world) == before


@pytest.mark.parametrize("amount", NOT_CENTS, ids=repr)
def test_a_budget_line_must_be_integer_cents(world: World, amount: object) -> None:
    project = world.create_project()
    api = world.as_("projects", HOLDER)
    url = f"/api/v1/projects/{project['id']}/budget"
    etag = api.get(url).headers["etag"]
    response = api.put(url, headers={"If-Match": etag, "accept-language": "en"}, json={
        "charges": [{"account_group": "64", "label": "Animation", "amount_cents": amount}],
        "income": [{"account_group": "75", "label": "Fonds propres", "amount_cents": 4_800_000}]})
    assert response.status_code == 422, response.text
    [error] = problem(response)["errors"]
    assert error["field"] == "body.charges.0.amount_cents"
    if isinstance(amount, float):
        assert error["message"] == "An amount in whole cents is expected (1500, not 1500.0 nor 15.00)."
    assert api.get(url).headers["etag"] == etag  # nothing written


@pytest.mark.parametrize("amount", NOT_CENTS, ids=repr)
def test_a_funding_plan_must_be_integer_cents(world: World, amount: object) -> None:
    project = world.create_project()
    api = world.as_("funding", HOLDER)
    response = api.post("/api/v1/dossiers", json={
        "programme_id": str(demo_data.PROGRAMME_ID), "project_id": project["id"],
        "funding_plan": [{"funder_id": org_id("ville"), "amount_cents": amount}]})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in problem(response)["errors"]] == ["body.funding_plan.0.amount_cents"]
    assert api.get("/api/v1/dossiers").json()["items"] == []


@pytest.mark.parametrize("amount", NOT_CENTS, ids=repr)
def test_an_envelope_s_total_must_be_integer_cents(world: World, amount: object) -> None:
    api = world.as_("funding", CITY_MANAGER)
    before = api.get("/api/v1/envelopes").json()["items"]
    response = api.post("/api/v1/envelopes", json={
        "programme_id": str(demo_data.PROGRAMME_ID), "year": 2027, "total_cents": amount})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in problem(response)["errors"]] == ["body.total_cents"]
    assert api.get("/api/v1/envelopes").json()["items"] == before


ACTION_PATHS = [
    # (service, method, path, the methods that path answers)
    ("identity", "GET", "/api/v1/organisations/signup", "POST"),
    ("identity", "PATCH", "/api/v1/organisations/signup", "POST"),
    ("identity", "DELETE", "/api/v1/organisations/signup/verify", "POST"),
    ("identity", "GET", "/api/v1/auth/password-reset", "POST"),
    ("identity", "GET", "/api/v1/invitations/accept", "POST"),
    ("projects", "GET", "/api/v1/documents/pins", "POST"),
    ("projects", "PATCH", "/api/v1/documents/compliance", "GET"),
    ("projects", "GET", "/api/v1/indicators/aggregates/search", "POST"),
    ("funding", "DELETE", f"/api/v1/dossiers/{UNKNOWN_ID}/submit", "POST"),
    ("funding", "GET", f"/api/v1/sessions/{UNKNOWN_ID}/open", "POST"),
]


@pytest.mark.parametrize(("service", "method", "path", "allow"), ACTION_PATHS, ids=lambda v: str(v)[:40])
def test_another_verb_on_an_action_path_is_a_405_with_allow(
    world: World, service: str, method: str, path: str, allow: str
) -> None:
    response = world.as_(service, HOLDER).request(method, path)
    assert response.status_code == 405, response.text  # was a 422 "not a UUID" from GET /x/{id}
    assert problem(response)["code"] == "method_not_allowed"
    assert response.headers["allow"] == allow


def test_allow_names_every_method_of_a_parameterised_path(world: World) -> None:
    response = world.as_("projects", HOLDER).request("DELETE", f"/api/v1/projects/{uuid.uuid4()}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH"


def test_a_uuid_in_capitals_still_names_its_resource(world: World) -> None:
    project = world.create_project()
    response = world.as_("projects", HOLDER).get(f"/api/v1/projects/{project['id'].upper()}")
    assert response.status_code == 200 and response.json()["id"] == project["id"]


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx_with(entries: int = 0, *, zeros: int = 0) -> bytes:
    """A DOCX by its main part, with `entries` empty entries more, or a main part of `zeros` zero bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\x00" * zeros or b"<w:document/>")
        for number in range(entries):
            archive.writestr(f"e/{number}", b"", compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def _documents(world: World) -> list[str]:
    return [d["id"] for d in world.as_("projects", HOLDER).get("/api/v1/documents").json()["items"]]


@pytest.mark.parametrize(("content", "limit"), [
    (lambda: _docx_with(5_001), "entries"),  # the default cap is 5,000 entries
    (lambda: _docx_with(zeros=20_000_000), "ratio"),  # 20 MB of zeros in a few KB
], ids=["many_entries", "bomb"])
def test_a_zip_document_over_the_caps_is_a_422_and_stores_nothing(world: World, content, limit: str) -> None:
    root = world.stack.settings["projects"].documents_root
    before, files = _documents(world), set(root.rglob("*"))
    response = world.as_("projects", HOLDER).post(
        "/api/v1/documents", data={"kind": "statutes"},
        files={"file": ("statuts.docx", content(), DOCX_TYPE)}, headers={"accept-language": "en"})
    assert response.status_code == 422, response.text
    body = problem(response)
    assert body["code"] == "document_archive_refused" and body["limit"] == limit
    assert body["errors"] == [{"field": "body.file", "message": "Archive refused."}]
    assert _documents(world) == before
    assert set(root.rglob("*")) == files  # neither stored nor left staged


def test_the_zip_caps_are_settings(world: World) -> None:
    settings = world.stack.settings["projects"]
    app = world.stack.apps["projects"]
    app.state.settings = settings.model_copy(update={"documents_zip_max_entries": 10})
    try:
        response = world.as_("projects", HOLDER).post(
            "/api/v1/documents", data={"kind": "statutes"}, files={"file": ("s.docx", _docx_with(10), DOCX_TYPE)})
    finally:
        app.state.settings = settings
    assert response.status_code == 422 and problem(response)["max"] == 10
    accepted = world.as_("projects", HOLDER).post(
        "/api/v1/documents", data={"kind": "statutes"}, files={"file": ("s.docx", _docx_with(10), DOCX_TYPE)})
    assert accepted.status_code == 201, accepted.text


def test_an_unhandled_error_s_log_line_carries_the_request_id(world: World, monkeypatch) -> None:
    from services.projects.projects import repository

    async def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(repository, "list_projects", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())  # the services' JSON log, formatted as the line is written
    logger = logging.getLogger("problems")
    logger.addHandler(handler)
    # A client that gets the 500 rather than the exception, as a server's client would.
    transport = httpx.ASGITransport(app=world.stack.apps["projects"], raise_app_exceptions=False)
    token = world.login(HOLDER)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://projects") as client:
            return await client.get("/api/v1/projects", headers={
                "Authorization": f"Bearer {token}", "X-Request-ID": "trace-me-42"})

    try:
        response = world.stack.run(call)
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 500
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "unhandled error on GET /api/v1/projects"
    assert line["request_id"] == "trace-me-42"  # was null
    assert "RuntimeError: a bug" in line["exception"]
    assert problem(response)["request_id"] == "trace-me-42" and "a bug" not in response.text
    assert response.headers["x-request-id"] == "trace-me-42"  # the 500 answer did not carry it either
