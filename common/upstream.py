"""Calls from one service to another: one pooled httpx client, request id forwarded,
and a service token obtained from identity by client credentials, cached until it nears expiry."""

import asyncio
import time
from typing import Any

import httpx

from common.observability import request_id_var
from common.problems import BadGateway, GatewayTimeout, Text, UpstreamUnavailable


class ServiceTokenProvider:
    def __init__(self, http: httpx.AsyncClient, *, identity_url: str, client_id: str, client_secret: str, scope: str):
        self.http = http
        self.url = identity_url.rstrip("/") + "/api/v1/auth/token"
        self.form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token and time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._renew_at:
                return self._token
            try:
                response = await self.http.post(self.url, data=self.form)
            except httpx.HTTPError as exc:
                raise transport_failure("identity", exc) from exc
            if response.status_code == 503:
                raise peer_away("identity")
            if response.status_code != 200:
                raise upstream_unavailable("identity")
            payload = response.json()
            self._token = payload["access_token"]
            self._renew_at = time.monotonic() + max(int(payload.get("expires_in", 60)) - 30, 5)
            return self._token


# What a 503 or 504 of ours tells the client to wait: a peer restarts in seconds.
PEER_RETRY_AFTER_SECONDS = 5


def upstream_unavailable(service: str) -> BadGateway:
    """502: the peer answered, but not as agreed (an unexpected status, a body that is not what it should be)."""
    return BadGateway(
        Text(f"Le service {service} ne répond pas correctement.", f"The {service} service did not answer properly."),
        extra={"upstream": service},
    )


def peer_away(service: str) -> UpstreamUnavailable:
    """503: the peer cannot be reached, or says it is away itself: the same request may come again shortly."""
    return UpstreamUnavailable(
        Text(f"Le service {service} est momentanément injoignable.", f"The {service} service is unreachable for now."),
        retry_after=PEER_RETRY_AFTER_SECONDS, extra={"upstream": service},
    )


def peer_timeout(service: str) -> GatewayTimeout:
    """504: the peer had the request and said nothing in time (a write of its own may have happened)."""
    return GatewayTimeout(
        Text(f"Le service {service} n'a pas répondu à temps.", f"The {service} service did not answer in time."),
        retry_after=PEER_RETRY_AFTER_SECONDS, extra={"upstream": service},
    )


def transport_failure(service: str, exc: httpx.HTTPError) -> UpstreamUnavailable | GatewayTimeout:
    """A call that got no answer: too late (504) or no connection, or one that broke (503)."""
    return peer_timeout(service) if isinstance(exc, httpx.TimeoutException) else peer_away(service)


def forwarded_headers(token: str, *, language: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {token}"}
    if language:  # so that the messages another service writes come back in our caller's language
        headers["accept-language"] = language
    request_id = request_id_var.get()
    if request_id:
        headers["x-request-id"] = request_id
    return headers


async def get_json(
    http: httpx.AsyncClient, url: str, *, token: str, service: str, language: str | None = None
) -> tuple[int, Any]:
    """GET a JSON document from another service; for our caller, no answer is a 503 (504 when too late), a 5xx
    other than 503 or a body that is not JSON a 502."""
    return await _exchange(http, "GET", url, None, token=token, service=service, language=language)


async def post_json(
    http: httpx.AsyncClient, url: str, body: Any, *, token: str, service: str, language: str | None = None
) -> tuple[int, Any]:
    """POST JSON to another service; failures as `get_json` says."""
    return await _exchange(http, "POST", url, body, token=token, service=service, language=language)


async def _exchange(
    http: httpx.AsyncClient, method: str, url: str, body: Any, *, token: str, service: str, language: str | None
) -> tuple[int, Any]:
    try:
        response = await http.request(
            method, url, json=body, headers=forwarded_headers(token, language=language)
        )
    except httpx.HTTPError as exc:
        raise transport_failure(service, exc) from exc
    if response.status_code == 503:  # away itself (its own dependency, a restart): so are we, for that long
        raise peer_away(service)
    if response.status_code >= 500:
        raise upstream_unavailable(service)
    try:
        return response.status_code, response.json()
    except ValueError as exc:
        raise upstream_unavailable(service) from exc
