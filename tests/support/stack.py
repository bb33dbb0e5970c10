"""The three services in process, on one event loop, talking to each other over an ASGI router."""

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from sqlalchemy import MetaData, create_engine

from common.clock import FixedClock
from common.db import sync_url
from scripts.live_stack import drop_schemas
from services.funding.app import create_app as create_funding
from services.funding.models.base import metadata as funding_metadata
from services.funding.settings import FundingSettings
from services.identity.accounts import SignupMailGate
from services.identity.app import create_app as create_identity
from services.identity.keys import generate_pem
from services.identity.models import metadata as identity_metadata
from services.identity.settings import IdentitySettings
from services.projects.app import create_app as create_projects
from services.projects.qpv_import import import_file
from services.projects.settings import ProjectsSettings
from services.projects.tables import metadata as projects_metadata
from tests.support.clock import TEST_NOW
from tests.support.mailbox import Mailbox

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "projects", "funding")
METADATA: dict[str, MetaData] = {
    "identity": identity_metadata, "projects": projects_metadata, "funding": funding_metadata,
}
# Reference lists loaded by migrations: kept between tests.
REFERENCE_TABLES = {"qpv", "priorities", "indicators", "indicator_priorities"}
QPV_SAMPLE = REPO / "migrations" / "projects" / "data" / "qpv_2024_sample.csv"
SERVICE_SECRET = "test-service-secret-funding"
HOSTS = {"identity": "http://identity.test", "projects": "http://projects.test", "funding": "http://funding.test"}


def migrate(service: str, url: str, *, samples: bool = True) -> None:
    """The real migrations; then, for projects, the QPV sample imported as `make run` does (unless `samples=False`)."""
    config = Config(str(REPO / "alembic.ini"), ini_section=service)
    config.set_main_option("script_location", str(REPO / "migrations" / service))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    if service == "projects" and samples:
        report = asyncio.run(import_file(url, service, QPV_SAMPLE))
        assert not report.rejected, report.lines()


def reset_postgres(url: str) -> None:
    drop_schemas(url, list(SERVICES))


class RouterTransport(httpx.AsyncBaseTransport):
    """Sends each request to the in-process app that owns its host."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}

    def mount(self, base_url: str, app: FastAPI) -> None:
        self.apps[httpx.URL(base_url).host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.apps.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no app for {request.url.host}", request=request)
        return await transport.handle_async_request(request)


class Api:
    """A synchronous client for tests over one service, run on the shared event loop."""

    def __init__(self, portal: BlockingPortal, transport: httpx.AsyncBaseTransport, base_url: str):
        self.portal = portal
        self.client = httpx.AsyncClient(transport=transport, base_url=base_url)
        self.token: str | None = None

    def request(self, method: str, url: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        bearer = token if token is not None else self.token
        if bearer and "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = f"Bearer {bearer}"
        call = functools.partial(self.client.request, method, url, headers=headers, **kwargs)
        return self.portal.call(call)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@dataclass
class Stack:
    backend: str
    urls: dict[str, str]
    apps: dict[str, FastAPI]
    transport: RouterTransport
    portal: BlockingPortal
    signing_key_file: Path
    settings: dict[str, Any] = field(default_factory=dict)

    def api(self, service: str) -> Api:
        return Api(self.portal, self.transport, HOSTS[service])

    @property
    def identity_mail(self) -> Mailbox:
        """The invitations, sign-up checks and password resets identity sent."""
        return Mailbox(self.settings["identity"].mail_folder)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.portal.call(fn, *args)

    def clean(self) -> None:
        """Empty every table but the reference lists, children first; every service's clock back to TEST_NOW."""
        for app in self.apps.values():
            app.state.clock = FixedClock(TEST_NOW)
        # What identity keeps in memory goes with it, as on a restart: the sign-up mails sent a moment ago.
        self.apps["identity"].state.signup_mail_gate = SignupMailGate()
        self.identity_mail.clear()
        for service in SERVICES:
            engine = create_engine(sync_url(self.urls[service]), connect_args=_schema_args(self.urls[service], service))
            with engine.begin() as connection:
                for table in reversed(METADATA[service].sorted_tables):
                    if table.name not in REFERENCE_TABLES:
                        connection.execute(table.delete())
                if service == "projects":
                    # The catalogue stays, as the tests found it: an indicator a test retired (a fuzzer follows
                    # the links from the list to PATCH …/indicators/{id}) is back in use for the next one.
                    connection.execute(METADATA[service].tables["indicators"].update().values(active=True))
            engine.dispose()


def _schema_args(url: str, schema: str) -> dict[str, Any]:
    return {} if url.startswith("sqlite") else {"options": f"-csearch_path={schema}"}


def build_stack(backend: str, urls: dict[str, str], portal: BlockingPortal, workdir: Path) -> Stack:
    key_file = workdir / "signing.pem"
    key_file.write_bytes(generate_pem())
    common = {"environment": "test", "identity_url": HOSTS["identity"]}
    identity_settings = IdentitySettings(
        **common, database_url=urls["identity"], signing_key_file=str(key_file),
        service_clients={"funding": SERVICE_SECRET}, password_time_cost=1, password_memory_kib=8,
        mail_folder=str(workdir / "identity-mail"),
    )
    projects_settings = ProjectsSettings(
        **common, database_url=urls["projects"], documents_root=str(workdir / "documents")
    )
    funding_settings = FundingSettings(
        **common, database_url=urls["funding"], projects_url=HOSTS["projects"], service_client_secret=SERVICE_SECRET,
        mail_folder=str(workdir / "mail"),
        # The webhook tests' receivers listen on loopback (plain http there).
        webhook_allowed_networks=["127.0.0.0/8"],
    )
    transport = RouterTransport()
    apps = {
        "identity": create_identity(identity_settings, transport=transport),
        "projects": create_projects(projects_settings, transport=transport),
        "funding": create_funding(funding_settings, transport=transport),
    }
    for service, app in apps.items():
        app.state.clock = FixedClock(TEST_NOW)
        transport.mount(HOSTS[service], app)
    return Stack(
        backend=backend, urls=urls, apps=apps, transport=transport, portal=portal, signing_key_file=key_file,
        settings={"identity": identity_settings, "projects": projects_settings, "funding": funding_settings},
    )


def problem(response: httpx.Response) -> dict[str, Any]:
    """The problem body of an error response, after checking it is one."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = json.loads(response.text)
    assert body["status"] == response.status_code
    return body


def build_apps(settings: dict[str, Any], **overrides: Any) -> tuple[dict[str, FastAPI], RouterTransport]:
    """Three more apps over the same databases and signing key, with some settings changed
    (e.g. `database_pool=False` for a client that runs requests on another event loop), wired like build_stack's."""
    factories = {"identity": create_identity, "projects": create_projects, "funding": create_funding}
    transport = RouterTransport()
    apps = {
        service: factories[service](settings[service].model_copy(update=overrides), transport=transport)
        for service in SERVICES
    }
    for service, app in apps.items():
        app.state.clock = FixedClock(TEST_NOW)
        transport.mount(HOSTS[service], app)
    return apps, transport
