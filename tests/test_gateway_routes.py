"""The gateway's prefix table sends every path of a service's OpenAPI to that service, and to no other."""

import json
from pathlib import Path

import pytest

from gateway.upstreams import upstream_for

OPENAPI = Path(__file__).resolve().parent.parent / "openapi"
# Each server answers these itself; the gateway has its own.
OPERATIONS = {"/healthz", "/readyz", "/metrics"}


@pytest.mark.parametrize("service", ["identity", "projects", "funding"])
def test_every_path_of_a_service_is_routed_to_it(service: str) -> None:
    paths = json.loads((OPENAPI / f"{service}.json").read_text(encoding="utf-8"))["paths"]
    routed = {path: upstream_for(path) for path in paths if path not in OPERATIONS}
    assert routed, f"no path in {service}'s OpenAPI"
    assert {path: owner for path, owner in routed.items() if owner != service} == {}
