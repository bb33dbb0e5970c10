"""Walks the written role × route table (tests/access_matrix.py) against the real apps."""

import re
import uuid

import pytest

from services.identity.keys import KeyStore
from services.vocabulary import Role
from tests.access_matrix import ACCESS, OPERATIONS, PUBLIC
from tests.support.stack import Stack
from tests.support.tokens import claims_for


def routes_of(app) -> set[tuple[str, str]]:
    """Every operation the app serves, read from its OpenAPI document (no route is hidden from it)."""
    return {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }


@pytest.mark.parametrize("service", sorted(ACCESS))
def test_every_route_is_in_the_table_and_nothing_else(stack: Stack, service: str) -> None:
    served = routes_of(stack.apps[service]) - OPERATIONS
    assert served == set(ACCESS[service]), {
        "missing from the table": served - set(ACCESS[service]),
        "in the table, not served": set(ACCESS[service]) - served,
    }


def _calls() -> list[tuple[str, str, str]]:
    return [(service, method, path) for service, table in sorted(ACCESS.items()) for (method, path) in sorted(table)]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


@pytest.mark.parametrize(("service", "method", "path"), _calls())
def test_each_role_gets_what_the_table_says(world, service: str, method: str, path: str) -> None:
    allowed = ACCESS[service][(method, path)]
    api = world.stack.api(service)
    keys = KeyStore.from_pem(world.stack.signing_key_file.read_bytes())
    body: dict[str, dict[str, str]] = {"json": {}} if method in ("POST", "PATCH") else {}
    anonymous = api.request(method, _concrete(path), **body)
    if allowed == PUBLIC:
        assert anonymous.status_code not in (401, 403), anonymous.text
        assert anonymous.status_code < 500, anonymous.text  # past the door, made-up ids and an empty body: a 4xx
        return
    assert anonymous.status_code == 401, anonymous.text
    assert isinstance(allowed, set)
    for role in Role:
        token = keys.sign(claims_for(organisation_id=str(uuid.uuid4()), roles=[role.value]))
        response = api.request(method, _concrete(path), token=token, **body)
        if role.value in allowed:
            # identity's administrative routes then ask the database whether the caller still holds the role; this
            # token's organisation is made up, so they say access_changed: a refusal past the role check.
            past_role_check = response.status_code not in (401, 403) or (
                response.status_code == 403 and response.json().get("code") == "access_changed")
            assert past_role_check, (role, response.status_code, response.text)
            assert response.status_code < 500, (role, response.status_code, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
