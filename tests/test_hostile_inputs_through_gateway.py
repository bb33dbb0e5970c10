"""Hostile inputs through the gateway and the real processes: the services' problems come through unchanged."""

from collections.abc import Iterator

import httpx
import pytest

from scripts.live_stack import LiveStack
from tests.support.stack import problem

# An id nothing has, fixed rather than drawn: every pytest-xdist worker must collect the same tests.
UNKNOWN_ID = "5f0c1a9e-7b2d-4c3e-9a8f-1d2e3f4a5b6c"

DEEP = "[" * 10_000 + "]" * 10_000


@pytest.fixture
def gateway(live: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url(), timeout=30) as client:
        yield client


@pytest.mark.parametrize("path", [
    "/api/v1/auth/token",  # identity, which reads its own body
    "/api/v1/organisations/signup",
    "/api/v1/projects",
    f"/api/v1/reports/{UNKNOWN_ID}/submit",
    "/api/v1/dossiers",
    f"/api/v1/dossiers/{UNKNOWN_ID}/decide",
])
def test_deep_json_is_a_400_problem_through_the_gateway(gateway: httpx.Client, path: str) -> None:
    response = gateway.post(path, content=DEEP, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert problem(response)["code"] == "json_too_deep"


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/api/v1/organisations/signup", "POST"),
    ("GET", "/api/v1/auth/password-reset", "POST"),
    ("GET", "/api/v1/documents/pins", "POST"),
    ("DELETE", f"/api/v1/dossiers/{UNKNOWN_ID}/submit", "POST"),
])
def test_another_verb_on_an_action_path_is_a_405_through_the_gateway(
    gateway: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = gateway.request(method, path)
    assert response.status_code == 405, response.text
    assert problem(response)["code"] == "method_not_allowed"
    assert response.headers["allow"] == allow
