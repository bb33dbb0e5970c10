"""Ways of calling a service that tests of several services share: every page of a list, a burst at once."""

from collections.abc import Sequence
from typing import Any

import anyio
import httpx

from tests.support.stack import Api


def pages(api: Api, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a cursor-paginated list, following next_cursor to the end."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        response = api.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        found.append(response.json())
        cursor = found[-1]["next_cursor"]
        if cursor is None:
            return found
        assert len(found) < 100, "pagination does not end"


def listed_ids(api: Api, url: str, **params: Any) -> list[str]:
    return [item["id"] for page in pages(api, url, **params) for item in page["items"]]


def listed_state(api: Api, url: str) -> list[tuple[str, int]]:
    """(id, version) of everything the caller can list: what 'nothing was written' compares."""
    return [(item["id"], item.get("version", 0)) for page in pages(api, url, limit=200) for item in page["items"]]


def at_once(api: Api, calls: Sequence[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """Send every (method, url, kwargs) concurrently on the stack's event loop; answers in call order."""
    answers: list[httpx.Response | None] = [None] * len(calls)

    async def one(index: int, method: str, url: str, kwargs: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {api.token}", **kwargs.pop("headers", {})}
        answers[index] = await api.client.request(method, url, headers=headers, **kwargs)

    async def burst() -> None:
        async with anyio.create_task_group() as group:
            for index, (method, url, kwargs) in enumerate(calls):
                group.start_soon(one, index, method, url, dict(kwargs))

    api.portal.call(burst)
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]
