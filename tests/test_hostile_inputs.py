"""No input breaks a service: each hostile body or parameter is a clear problem (4xx) and writes nothing."""

import json
import re
import uuid
from pathlib import Path

from tests.support.stack import problem
from tests.support.world import HOLDER, World

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
                routes.append((method.upper(), re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)))
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
