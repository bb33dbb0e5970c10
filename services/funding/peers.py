"""What funding asks of the other services, with its own service token."""

import uuid
from typing import Any

import httpx

from common.upstream import ServiceTokenProvider, get_json, upstream_unavailable
from services.funding.settings import FundingSettings
from services.vocabulary import Scope


class Peers:
    def __init__(self, settings: FundingSettings, http: httpx.AsyncClient):
        self.http = http
        self.projects_url = settings.projects_url.rstrip("/")
        self.identity_url = settings.identity_url.rstrip("/")
        self.tokens = ServiceTokenProvider(
            http,
            identity_url=settings.identity_url,
            client_id="svc-funding",
            client_secret=settings.service_client_secret,
            scope=f"{Scope.projects_read} {Scope.organisations_read}",
        )

    async def project(self, project_id: uuid.UUID) -> dict[str, Any] | None:
        """The live project, or None if projects does not know it."""
        return await self._get(f"{self.projects_url}/api/v1/projects/{project_id}", "projects")

    async def organisation(self, organisation_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._get(f"{self.identity_url}/api/v1/organisations/{organisation_id}", "identity")

    async def _get(self, url: str, service: str) -> dict[str, Any] | None:
        status, body = await get_json(self.http, url, token=await self.tokens.token(), service=service)
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise upstream_unavailable(service)
        return body
