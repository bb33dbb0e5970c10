"""What funding asks of the other services, with its own service token."""

import asyncio
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from common.upstream import ServiceTokenProvider, get_json, post_json, upstream_unavailable
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
            scope=f"{Scope.projects_read} {Scope.organisations_read} {Scope.documents_pin}",
        )

    async def project(self, project_id: uuid.UUID) -> dict[str, Any] | None:
        """The live project, or None if projects does not know it."""
        return await self._get(f"{self.projects_url}/api/v1/projects/{project_id}", "projects")

    async def project_budget(self, project_id: uuid.UUID, *, language: str) -> dict[str, Any] | None:
        """The project's CERFA budget with its totals and the issues that stop a submission (in `language`)."""
        return await self._get(f"{self.projects_url}/api/v1/projects/{project_id}/budget", "projects", language)

    async def project_indicators(self, project_id: uuid.UUID) -> dict[str, Any] | None:
        """The indicators the project follows and their targets per period."""
        return await self._get(f"{self.projects_url}/api/v1/projects/{project_id}/indicators", "projects")

    async def activity_report(self, project_id: uuid.UUID, period: str) -> dict[str, Any] | None:
        """The project's activity report (indicator actuals) for a period, or None while it has none."""
        answer = await self._get(
            f"{self.projects_url}/api/v1/reports?project_id={project_id}&period={period}&limit=1", "projects"
        )
        if answer is None:
            raise upstream_unavailable("projects")
        return next(iter(answer["items"]), None)

    async def association_budget(self, organisation_id: uuid.UUID, year: int, *, language: str) -> dict[str, Any]:
        url = f"{self.projects_url}/api/v1/association-budgets/{organisation_id}/{year}"
        budget = await self._get(url, "projects", language)
        if budget is None:  # projects answers every organisation and year, version 0 when nothing was entered
            raise upstream_unavailable("projects")
        return budget

    async def organisation(self, organisation_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._get(f"{self.identity_url}/api/v1/organisations/{organisation_id}", "identity")

    async def organisations(self, organisation_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any] | None]:
        """What identity says of each organisation (None when it does not know it), asked in parallel."""
        ids = list(dict.fromkeys(organisation_ids))
        cards = await asyncio.gather(*(self.organisation(organisation_id) for organisation_id in ids))
        return dict(zip(ids, cards, strict=True))

    async def organisation_profile(self, organisation_id: uuid.UUID) -> dict[str, Any] | None:
        """The association's profile as the form asks it, or None while it was never filled in."""
        profile = await self._get(f"{self.identity_url}/api/v1/organisations/{organisation_id}/profile", "identity")
        return profile if profile and profile.get("filled_in") else None

    async def pin_documents(
        self, *, organisation_id: uuid.UUID, dossier_id: uuid.UUID, version_ids: list[str], language: str,
        attempt_id: uuid.UUID,
    ) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
        """Reserve the versions a submission references for its attempt (confirmed after funding's commit, or
        lapsing): (their metadata, None), or (None, the vault's problem) when some are unknown or another
        organisation's."""
        body = {"organisation_id": str(organisation_id), "dossier_id": str(dossier_id), "version_ids": version_ids,
                "attempt_id": str(attempt_id)}
        status, answer = await post_json(
            self.http, f"{self.projects_url}/api/v1/documents/pins", body,
            token=await self.tokens.token(), service="projects", language=language,
        )
        if status == 200 and isinstance(answer, dict):
            return answer["versions"], None
        if status == 422 and isinstance(answer, dict):
            return None, answer
        raise upstream_unavailable("projects")

    async def confirm_pins(self, *, dossier_id: uuid.UUID, attempt_id: uuid.UUID, version_ids: list[str]) -> bool:
        """Confirm the attempt's reservations (its submission is committed): True, or False when projects says
        some were lost (lapsed and swept) and must be pinned again."""
        body = {"dossier_id": str(dossier_id), "attempt_id": str(attempt_id), "version_ids": version_ids}
        status = await self._post(f"{self.projects_url}/api/v1/documents/pins/confirm", body)
        if status == 409:
            return False
        return True

    async def release_pins(self, *, dossier_id: uuid.UUID, attempt_id: uuid.UUID | None) -> None:
        """Release an attempt's reservations (a failed submission), or every pin of the dossier (None: it left
        the flow)."""
        body = {"dossier_id": str(dossier_id), "attempt_id": str(attempt_id) if attempt_id else None}
        await self._post(f"{self.projects_url}/api/v1/documents/pins/release", body)

    async def _post(self, url: str, body: dict[str, Any]) -> int:
        status, _ = await post_json(self.http, url, body, token=await self.tokens.token(), service="projects")
        if status not in (200, 409):
            raise upstream_unavailable("projects")
        return status

    async def document_compliance(
        self, *, organisation_id: uuid.UUID, kinds: list[str], on: date
    ) -> dict[str, Any]:
        """Whether the association's vault holds a valid document of each kind on that day."""
        query = "&".join([f"organisation_id={organisation_id}", f"on={on.isoformat()}"] + [f"kinds={k}" for k in kinds])
        answer = await self._get(f"{self.projects_url}/api/v1/documents/compliance?{query}", "projects")
        if answer is None:
            raise upstream_unavailable("projects")
        return answer

    async def _get(self, url: str, service: str, language: str | None = None) -> dict[str, Any] | None:
        token = await self.tokens.token()
        status, body = await get_json(self.http, url, token=token, service=service, language=language)
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise upstream_unavailable(service)
        return body


def _peers(request: Request) -> Peers:
    return request.app.state.peers


PeersDep = Annotated[Peers, Depends(_peers)]
