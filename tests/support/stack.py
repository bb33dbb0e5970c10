"""The three services in process, on one event loop, talking to each other over an ASGI router."""

import asyncio
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from jose import jwt
from sqlalchemy import Engine, MetaData, create_engine, event

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
from services.projects.models import metadata as projects_metadata
from services.projects.referential.qpv_import import import_file
from services.projects.settings import ProjectsSettings
from tests.support.clock import TEST_NOW
from tests.support.mailbox import Mailbox

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "projects", "funding")
METADATA: dict[str, MetaData] = {
    "identity": identity_metadata, "projects": projects_metadata, "funding": funding_metadata,
}
# A test may use its tokens for this long: a cached token closer than this to its expiry is not handed out.
PRISTINE_TOKEN_MARGIN_SECONDS = 180
# Reference lists loaded by migrations: kept between tests.
REFERENCE_TABLES = {"qpv", "qpv_communes", "priorities", "indicators", "indicator_priorities"}
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
    reset_engines: dict[str, Any] = field(default_factory=dict)
    watch: "WriteWatch" = field(init=False)
    # What `restore` puts back: None until the first test with a world took it.
    snapshot: dict[str, list[tuple[Any, list[dict[str, Any]]]]] | None = None
    # Tokens of the demo's people taken right after the snapshot (or a layer) was put back, by that layer (None:
    # the demo) and person: valid for as long as identity holds that state.
    pristine_tokens: dict[tuple[str | None, str], str] = field(default_factory=dict)
    # States built on top of the demo by some tests' fixtures, by name (see `take_layer`).
    layers: dict[str, "Layer"] = field(default_factory=dict)
    # The layer each service's database holds (None: the demo's snapshot), for as long as nobody wrote to it.
    held: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(SERVICES))

    def __post_init__(self) -> None:
        self.reset_engines = {
            service: create_engine(sync_url(url), connect_args=_schema_args(url, service))
            for service, url in self.urls.items()
        }
        self.watch = WriteWatch(
            {service: app.state.db.engine.sync_engine for service, app in self.apps.items()},
            ignored=list(self.reset_engines.values()),
        )

    def api(self, service: str) -> Api:
        return Api(self.portal, self.transport, HOSTS[service])

    @property
    def identity_mail(self) -> Mailbox:
        """The invitations, sign-up checks and password resets identity sent."""
        return Mailbox(self.settings["identity"].mail_folder)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.portal.call(fn, *args)

    def clean(self, layer: str | None = None) -> None:
        """Every service's clock back to TEST_NOW, what identity keeps in memory forgotten, and every database
        written since the last clean put back as the snapshot found it (see `restore`), or as the layer holds it."""
        for app in self.apps.values():
            app.state.clock = FixedClock(TEST_NOW)
        # What identity keeps in memory goes with it, as on a restart: the sign-up mails sent a moment ago.
        self.apps["identity"].state.signup_mail_gate = SignupMailGate()
        self.identity_mail.clear()
        self.restore(layer)

    def restore(self, layer: str | None = None) -> None:
        """Each service written since the last restore, or holding another state than the one asked (the demo's
        snapshot, or a layer of `take_layer`), gets back that state's rows: every table but the reference lists
        emptied, children first, then refilled parents first, in one transaction. A service nobody wrote to
        and already holding that state is left as it is (see `WriteWatch`)."""
        built = self.layers[layer] if layer is not None else None
        for service in SERVICES:
            target = layer if built is not None and service in built.rows else None
            if service not in self.watch.dirty and self.held[service] == target:
                continue
            rows = built.rows[service] if built is not None and target is not None else (self.snapshot or {}).get(
                service, []
            )
            with self.reset_engines[service].begin() as connection:
                for table in reversed(METADATA[service].sorted_tables):
                    if table.name not in REFERENCE_TABLES:
                        connection.execute(table.delete())
                if service == "projects":
                    # The catalogue stays, as the tests found it: an indicator a test retired (a fuzzer follows
                    # the links from the list to PATCH …/indicators/{id}) is back in use for the next one.
                    connection.execute(METADATA[service].tables["indicators"].update().values(active=True))
                    # Likewise a QPV a test retired is back in the list.
                    connection.execute(METADATA[service].tables["qpv"].update().values(retired_at=None))
                for table, table_rows in rows:
                    connection.execute(table.insert(), table_rows)
            self.held[service] = target
        if built is not None:
            built.put_back_files()
        self.watch.dirty.clear()

    def take_snapshot(self) -> None:
        """What every table but the reference lists holds now becomes what `restore` puts back."""
        self.snapshot = {service: self._rows(service) for service in SERVICES}
        self.held = dict.fromkeys(SERVICES)
        self.watch.dirty.clear()

    def take_layer(self, name: str, made: Any = None) -> None:
        """What the services written since the demo was put back hold now becomes the layer `name`, which
        `restore(name)` puts back (the others hold the demo's snapshot there), with the vault's files of that
        moment (a test may delete a document, and its file with it); `made` is kept beside it (what a fixture
        built, e.g. identifiers). Taken right after a `clean()` to the demo and what the fixture built."""
        assert not any(self.held.values()), "a layer is built on the demo's snapshot"
        rows = {service: self._rows(service) for service in SERVICES if service in self.watch.dirty}
        vault = Path(self.settings["projects"].documents_root)
        files = {path: path.read_bytes() for path in vault.rglob("*") if path.is_file()} if vault.exists() else {}
        self.layers[name] = Layer(rows=rows, files=files, made=made)
        self.held.update(dict.fromkeys(rows, name))
        self.watch.dirty.clear()

    def _rows(self, service: str) -> list[tuple[Any, list[dict[str, Any]]]]:
        with self.reset_engines[service].connect() as connection:
            tables = [table for table in METADATA[service].sorted_tables if table.name not in REFERENCE_TABLES]
            rows = {table: [dict(row) for row in connection.execute(table.select()).mappings()] for table in tables}
        return [(table, rows[table]) for table in tables if rows[table]]

    def pristine_token(self, key: str) -> str | None:
        """A token taken earlier while identity held the snapshot (or the layer it holds now), if identity still
        holds it at TEST_NOW and the token has minutes to live: then it is the token a login would give now (access
        tokens are stateless; only the refresh row of that earlier login is gone). Their lifetime runs on the wall
        clock, as in production, so a run longer than it takes new ones."""
        held = (self.held["identity"], key)
        token = self.pristine_tokens.get(held)
        if token is None or not self.identity_is_pristine():
            return None
        if jwt.get_unverified_claims(token)["exp"] - time.time() < PRISTINE_TOKEN_MARGIN_SECONDS:
            del self.pristine_tokens[held]
            return None
        return token

    def keep_pristine_token(self, key: str, token: str) -> None:
        """A token just taken while identity held its snapshot or a layer, unwritten (`identity_is_pristine`)."""
        self.pristine_tokens[self.held["identity"], key] = token

    def identity_is_pristine(self) -> bool:
        return "identity" not in self.watch.dirty and self.apps["identity"].state.clock.now() == TEST_NOW

    def dispose(self) -> None:
        self.watch.close()
        for engine in self.reset_engines.values():
            engine.dispose()


@dataclass
class Layer:
    """A state on top of the demo (see `Stack.take_layer`): the rows of the services it changed, the vault's files."""

    rows: dict[str, list[tuple[Any, list[dict[str, Any]]]]]
    files: dict[Path, bytes]
    made: Any = None

    def put_back_files(self) -> None:
        for path, content in self.files.items():
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)


class WriteWatch:
    """Which services' databases were written to since the last restore, read off every statement any engine of
    this process sends: an app's engine marks its own service; any other engine (a test's own, a second set of
    apps over the same databases) marks all three, as nobody can tell whose tables it touched; the restoring
    engines mark nothing. Statements that cannot change a row (reads, transaction control, session settings)
    mark nothing either."""

    HARMLESS = ("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SHOW", "PRAGMA", "SET ")

    def __init__(self, engines: dict[str, Engine], ignored: list[Engine]):
        self.services = {id(engine): service for service, engine in engines.items()}
        self.ignored = {id(engine) for engine in ignored}
        self.dirty: set[str] = set(SERVICES)
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:9].upper().startswith(self.HARMLESS):
            return
        engine = connection.engine
        root = id(getattr(engine, "_proxied", engine))  # an engine with options set proxies its app's engine
        if root in self.ignored:
            return
        service = self.services.get(root)
        self.dirty.update([service] if service else SERVICES)

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._seen)


def _schema_args(url: str, schema: str) -> dict[str, Any]:
    return {} if url.startswith("sqlite") else {"options": f"-csearch_path={schema}"}


def build_stack(backend: str, urls: dict[str, str], portal: BlockingPortal, workdir: Path) -> Stack:
    key_file = workdir / "signing.pem"
    key_file.write_bytes(generate_pem())
    # Small pools: the pytest-xdist workers, their live stacks and the seeded country share one PostgreSQL
    # server's connections (100 by default); one event loop needs no more.
    # Within PostgreSQL's 100 connections with two workers' live desks and the fault desk (scripts/live_stack.py).
    # Bursts queue on so small a pool: a request waits for a connection as long as it may (not production's 3 s).
    common: dict[str, Any] = {"environment": "test", "identity_url": HOSTS["identity"], "database_pool_size": 2,
                              "database_max_overflow": 1, "database_pool_timeout_seconds": 30}
    identity_settings = IdentitySettings(
        **common, database_url=urls["identity"], signing_key_file=str(key_file),
        service_clients={"funding": SERVICE_SECRET}, password_time_cost=1, password_memory_kib=8,
        mail_folder=str(workdir / "identity-mail"),
    )
    projects_settings = ProjectsSettings(
        **common, database_url=urls["projects"], documents_root=workdir / "documents"
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
    (e.g. a smaller pool for the fuzzers' apps), wired like build_stack's."""
    factories: dict[str, Callable[..., FastAPI]] = {
        "identity": create_identity, "projects": create_projects, "funding": create_funding
    }
    transport = RouterTransport()
    apps = {
        service: factories[service](settings[service].model_copy(update=overrides), transport=transport)
        for service in SERVICES
    }
    for service, app in apps.items():
        app.state.clock = FixedClock(TEST_NOW)
        transport.mount(HOSTS[service], app)
    return apps, transport
