"""Every service answers /healthz, /readyz (its database) and /metrics (Prometheus text)."""

import pytest

from tests.support.stack import Stack


@pytest.mark.parametrize("service", ["identity", "projects", "funding"])
def test_health_readiness_and_metrics(stack: Stack, service: str) -> None:
    api = stack.api(service)
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {"status": "ready"}
    api.get("/api/v1/does-not-exist")
    metrics = api.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert f'service="{service}"' in metrics.text
    assert 'status="404"' in metrics.text


def test_readiness_fails_when_the_database_is_gone(stack: Stack, tmp_path) -> None:
    from services.projects.app import create_app
    from tests.support.stack import RouterTransport

    broken = create_app(
        stack.settings["projects"].model_copy(update={"database_url": f"sqlite:///{tmp_path}/missing/dir/x.db"}),
        transport=RouterTransport(),
    )
    import httpx

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=broken), base_url="http://p") as client:
            return await client.get("/readyz")

    response = stack.run(call)
    assert response.status_code == 503
    assert response.json()["code"] == "not_ready"


@pytest.mark.parametrize("service", ["identity", "projects", "funding"])
def test_every_answer_says_nosniff_once(stack: Stack, service: str) -> None:
    """A browser never reads a JSON answer, an error or the docs page as another type than the one it says."""
    api = stack.api(service)
    for path in ("/healthz", "/api/v1/does-not-exist", "/docs", "/api/v1/openapi.json"):
        response = api.get(path)
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], (path, response.headers)
