"""docker-compose.yml, the Dockerfile and the PostgreSQL init script, checked against the code.

No Docker engine runs here, so nothing is started: the files are read and every name they use is looked up
in the code — modules, settings fields (from each settings class's `model_fields` and `env_prefix`), default
ports, routes, schemas. `compose_problems` and `dockerfile_problems` return a list of problems (empty when
all is well); the negative tests feed them broken copies to show that each kind of mistake is reported.
"""

import ast
import asyncio
import copy
import os
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from common.settings import DEV_SECRET_MARKER, VAR_DIR
from gateway.app import Gateway
from gateway.settings import GatewaySettings
from services.funding.app import create_app as create_funding
from services.funding.settings import FundingSettings
from services.identity.app import create_app as create_identity
from services.identity.settings import IdentitySettings
from services.projects.app import create_app as create_projects
from services.projects.settings import ProjectsSettings

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"

# The settings classes that read each Python container's environment (migrate runs the three env.py).
SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    "migrate": (IdentitySettings, ProjectsSettings, FundingSettings),
    "identity": (IdentitySettings,),
    "projects": (ProjectsSettings,),
    "funding": (FundingSettings,),
    "webhooks": (FundingSettings,),  # the webhook worker: funding's settings, no server
    "gateway": (GatewaySettings,),
}
# Long-running servers: their settings class gives the port.
SERVERS: dict[str, type[BaseSettings]] = {
    "identity": IdentitySettings, "projects": ProjectsSettings, "funding": FundingSettings, "gateway": GatewaySettings,
}
DATABASE_SERVICES = ("identity", "projects", "funding")
ONE_SHOT = {"migrate"}
EXPECTED_SERVICES = {"postgres", *SETTINGS}
COMPLETED = "service_completed_successfully"
HEALTHY = "service_healthy"
REQUIRED_DEPENDENCIES: dict[str, dict[str, str]] = {
    "migrate": {"postgres": HEALTHY},
    "identity": {"migrate": COMPLETED},
    "projects": {"migrate": COMPLETED},
    "funding": {"migrate": COMPLETED, "identity": HEALTHY, "projects": HEALTHY},
    "webhooks": {"migrate": COMPLETED},
    "gateway": {"identity": HEALTHY, "projects": HEALTHY, "funding": HEALTHY},
}
HEALTH_PATHS = {"/readyz", "/healthz"}
SECRETS_DIR = "/run/secrets/"

_VARIABLE = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
                       r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


# --- reading the compose file ------------------------------------------------------------------------------

def interpolate(value: str, variables: Mapping[str, str], problems: list[str] | None = None) -> str:
    """Compose's variable substitution. A required variable (`${X:?…}`) missing from `variables` gets a
    stable placeholder derived from its name, so two uses of one variable give the same value."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        current = variables.get(name)
        if op in (":-", "-"):
            return arg if current is None or (op == ":-" and current == "") else current
        if op in (":?", "?"):
            return current if current else f"placeholder-{name.lower().replace('_', '-')}"
        if current is None and problems is not None:
            problems.append(f"variable {name} has neither a default (:-) nor a required marker (:?)")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def environment_of(service: Mapping[str, Any]) -> dict[str, str | None]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in raw)
        return {name: value for name, value in pairs}
    return {name: None if value is None else str(value) for name, value in raw.items()}


def command_of(service: Mapping[str, Any], key: str = "command") -> list[str]:
    raw = service.get(key)
    if raw is None:
        return []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def option(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: "service_started" for name in raw}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def port_targets(service: Mapping[str, Any]) -> list[int]:
    targets = [int(str(port).split("/")[0]) for port in service.get("expose") or []]
    for port in service.get("ports") or []:
        if isinstance(port, Mapping):
            targets.append(int(port["target"]))
        else:  # [host_ip:][published:]target[/protocol]
            targets.append(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
    return targets


def healthcheck_text(service: Mapping[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test")
    if not test or service["healthcheck"].get("disable"):
        return ""
    return " ".join(test) if isinstance(test, list) else str(test)


def env_prefix(settings_class: type[BaseSettings]) -> str:
    return settings_class.model_config.get("env_prefix", "")


def env_names(settings_class: type[BaseSettings]) -> dict[str, str]:
    """Environment variable name → field name, as pydantic-settings reads them."""
    prefix = env_prefix(settings_class)
    return {f"{prefix}{field}".upper(): field for field in settings_class.model_fields}


def default_port(settings_class: type[BaseSettings]) -> int:
    return settings_class.model_fields["port"].default


# --- the code side --------------------------------------------------------------------------------------------

def module_file(repo: Path, module: str) -> Path | None:
    base = repo.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def defines_at_top_level(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            return True
    return False


def runs_as_main(path: Path) -> bool:
    return path.name == "__main__.py" or re.search(r"if __name__ == [\"']__main__[\"']", path.read_text()) is not None


def copied_in_image(repo: Path) -> set[str]:
    """Top-level paths the Dockerfile copies into the image."""
    copied: set[str] = set()
    for line in (repo / "Dockerfile").read_text().splitlines():
        parts = line.split()
        if parts and parts[0].upper() == "COPY":
            sources = [p for p in parts[1:-1] if not p.startswith("--")]
            copied.update(Path(source).parts[0] if source not in (".", "./") else "." for source in sources)
    return copied


class ServedPaths:
    """Asks the real apps, in process, whether they serve a path: a GET that is neither 404 nor 405."""

    def __init__(self, apps: Mapping[str, Any]):
        self.apps = apps
        self.statuses: dict[tuple[str, str], int] = {}

    def status(self, service: str, path: str) -> int:
        if (service, path) not in self.statuses:
            self.statuses[service, path] = asyncio.run(self._get(self.apps[service], path))
        return self.statuses[service, path]

    def __call__(self, service: str, path: str) -> bool:
        return service in self.apps and self.status(service, path) not in (404, 405)

    @staticmethod
    async def _get(app: Any, path: str) -> int:
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
                return (await client.get(path)).status_code
        finally:  # connections made on this event loop must not outlive it
            if isinstance(app, Gateway):
                await app.upstreams.close()
            else:
                await app.state.db.dispose()


# --- the checks -------------------------------------------------------------------------------------------

def command_problems(name: str, service: Mapping[str, Any], repo: Path) -> list[str]:
    problems: list[str] = []
    copied = copied_in_image(repo)
    for key in ("entrypoint", "command"):
        args = command_of(service, key)
        if not args:
            continue
        if args[0] == "uvicorn" or args[:3] == ["python", "-m", "uvicorn"]:
            targets = [a for a in args[1:] if ":" in a and not a.startswith("-") and "/" not in a]
            if len(targets) != 1:
                problems.append(f"{name}: uvicorn {key} names no single module:attribute: {args}")
                continue
            module, attribute = targets[0].split(":", 1)
        elif args[:2] == ["python", "-m"] and len(args) > 2:
            module, attribute = args[2], None
        else:
            problems.append(f"{name}: {key} {args} is neither `uvicorn module:app` nor `python -m module`")
            continue
        path = module_file(repo, module)
        if path is None:
            problems.append(f"{name}: module {module} in its {key} does not exist in the repository")
            continue
        if attribute is not None and not defines_at_top_level(path, attribute):
            problems.append(f"{name}: {module} defines no top-level {attribute!r}")
        if attribute is None and not runs_as_main(path):
            problems.append(f"{name}: {module} does nothing when run with python -m")
        if module.split(".")[0] not in copied and "." not in copied:
            problems.append(f"{name}: the Dockerfile does not copy {module.split('.')[0]}/ into the image")
    if not command_of(service) and not command_of(service, "entrypoint"):
        problems.append(f"{name}: no command")
    return problems


def build_settings(
    name: str, settings_class: type[BaseSettings], env: Mapping[str, str], problems: list[str]
) -> BaseSettings | None:
    """The settings the container would build from exactly this environment."""
    try:
        with mock.patch.dict(os.environ, env, clear=True):
            return settings_class()
    except (ValidationError, ValueError) as exc:
        problems.append(f"{name}: {settings_class.__name__} refuses the compose environment: {exc}")
        return None


def init_sql_problems(compose: Mapping[str, Any], repo: Path, variables: Mapping[str, str],
                      urls: dict[str, str], schemas: dict[str, str]) -> list[str]:
    """The init script creates one role and one schema per service, each role owning its schema, with the
    password the service's database URL carries."""
    problems: list[str] = []
    postgres = compose["services"].get("postgres")
    if postgres is None:
        return problems
    init_dirs = [
        volume.split(":")[0] for volume in postgres.get("volumes") or []
        if isinstance(volume, str) and volume.split(":")[1:2] == ["/docker-entrypoint-initdb.d"]
    ]
    if not init_dirs:
        return [*problems, "postgres: no init script directory mounted on /docker-entrypoint-initdb.d"]
    scripts = sorted((repo / init_dirs[0]).glob("*.sql")) if (repo / init_dirs[0]).is_dir() else []
    if not scripts:
        return [*problems, f"postgres: {init_dirs[0]} holds no .sql init script"]
    sql = "\n".join(script.read_text() for script in scripts)
    postgres_env = {k: interpolate(v or "", variables) for k, v in environment_of(postgres).items()}
    getenv = dict(re.findall(r"\\getenv\s+(\w+)\s+(\w+)", sql))
    for service in DATABASE_SERVICES:
        schema = schemas.get(service)
        url = urls.get(service)
        if schema is None or url is None:
            continue
        role = make_url(url).username
        if not re.search(rf'CREATE\s+SCHEMA\s+"?{re.escape(schema)}"?\s+AUTHORIZATION\s+"?{re.escape(role or "")}"?\b',
                         sql, re.IGNORECASE):
            problems.append(f"init SQL: no CREATE SCHEMA {schema} AUTHORIZATION {role} (service {service})")
        created = re.search(rf'CREATE\s+ROLE\s+"?{re.escape(role or "")}"?\s+LOGIN\s+PASSWORD\s+:\'(\w+)\'',
                            sql, re.IGNORECASE)
        if created is None:
            problems.append(f"init SQL: no CREATE ROLE {role} LOGIN PASSWORD :'…' (service {service})")
            continue
        env_name = getenv.get(created.group(1))
        if env_name is None or env_name not in postgres_env:
            problems.append(f"init SQL: role {role}'s password variable is not passed to the postgres container")
        elif postgres_env[env_name] != make_url(url).password:
            problems.append(f"{service}: the database URL's password is not the one given to role {role} ({env_name})")
    database = postgres_env.get("POSTGRES_DB")
    for service, url in urls.items():
        if make_url(url).database != database:
            problems.append(f"{service}: database URL names database {make_url(url).database!r}, "
                            f"postgres creates {database!r}")
    return problems


def compose_problems(
    compose: Mapping[str, Any],
    *,
    repo: Path = REPO,
    serves: Callable[[str, str], bool],
    variables: Mapping[str, str] | None = None,
) -> list[str]:
    """Everything in `compose` that does not match the code; empty when the file is right."""
    variables = variables or {}
    problems: list[str] = []
    services: dict[str, Any] = dict(compose.get("services") or {})
    missing = EXPECTED_SERVICES - services.keys()
    if missing:
        problems.append(f"services missing: {sorted(missing)}")

    # Raw values first: a development secret is refused whatever the interpolation gives.
    for name, service in services.items():
        for key, value in environment_of(service).items():
            if value is not None and DEV_SECRET_MARKER in value:
                problems.append(f"{name}: {key} holds a development default ({DEV_SECRET_MARKER}…)")

    built: dict[tuple[str, type[BaseSettings]], Any] = {}
    envs: dict[str, dict[str, str]] = {}
    for name, classes in SETTINGS.items():
        service = services.get(name)
        if service is None:
            continue
        problems += command_problems(name, service, repo)
        build = service.get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        if context is None or not (repo / context / "Dockerfile").is_file():
            problems.append(f"{name}: not built from the repository's Dockerfile")
        raw_env = environment_of(service)
        allowed = {env: cls for cls in classes for env in env_names(cls)}
        for key, value in raw_env.items():
            if key not in allowed:
                owners = ", ".join(f"{c.__name__} ({env_prefix(c)}*)" for c in classes)
                problems.append(f"{name}: {key} is not a settings field of {owners}")
            if value is None:
                problems.append(f"{name}: {key} has no value")
        env = {key: interpolate(value or "", variables, problems) for key, value in raw_env.items()}
        envs[name] = env
        for cls in classes:
            key = f"{env_prefix(cls)}ENVIRONMENT"
            if env.get(key) != "production":
                problems.append(f"{name}: {key} must be production (is {env.get(key)!r})")
            settings = build_settings(name, cls, env, problems)
            if settings is None:
                continue
            built[name, cls] = settings
            # The development defaults live in the checkout's var/ (SQLite files, a generated signing key);
            # migrate reads only the database settings, checked below.
            for field, value in settings.model_dump().items():
                if name in SERVERS and isinstance(value, str | Path) and str(VAR_DIR) in str(value):
                    problems.append(f"{name}: {cls.__name__}.{field} keeps its development default under var/ "
                                    f"(set {env_prefix(cls)}{field.upper()})")
        for key, value in env.items():
            if DEV_SECRET_MARKER in value:
                problems.append(f"{name}: {key} holds a development default after interpolation")
            declared = allowed[key].model_fields.get(env_names(allowed[key])[key]) if key in allowed else None
            if key.endswith(("_FILE", "_FILES")) and declared is not None and value:
                listed = {s if isinstance(s, str) else s.get("source") for s in service.get("secrets") or []}
                for path in filter(None, (p.strip() for p in value.split(","))):
                    secret = path.removeprefix(SECRETS_DIR)
                    if not path.startswith(SECRETS_DIR) or secret not in listed:
                        problems.append(f"{name}: {key}={path} is not a secret mounted in the service")
                    elif secret not in (compose.get("secrets") or {}):
                        problems.append(f"{name}: secret {secret} is not declared at the top level")

    # Databases: each service's role, schema and URL; migrate must migrate the very databases the services use.
    urls: dict[str, str] = {}
    schemas: dict[str, str] = {}
    for service_name, cls in (("identity", IdentitySettings), ("projects", ProjectsSettings),
                              ("funding", FundingSettings)):
        for runner in ("migrate", service_name):
            settings = built.get((runner, cls))
            if settings is None:
                continue
            url = make_url(settings.database_url)
            if url.get_backend_name() != "postgresql" or url.host != "postgres":
                problems.append(f"{runner}: {cls.__name__}.database_url is not the compose PostgreSQL ({url.host})")
                continue
            if url.username != settings.db_schema:
                problems.append(f"{runner}: {cls.__name__} connects as role {url.username!r}, "
                                f"not the role owning schema {settings.db_schema!r}")
            if settings.db_schema != cls.model_fields["db_schema"].default:
                problems.append(f"{runner}: {cls.__name__}.db_schema is {settings.db_schema!r}, "
                                f"the migrations' schema is {cls.model_fields['db_schema'].default!r}")
            if service_name in urls and (urls[service_name], schemas[service_name]) != (
                    settings.database_url, settings.db_schema):
                problems.append(f"{runner}: {cls.__name__} database differs between migrate and {service_name}")
            urls.setdefault(service_name, settings.database_url)
            schemas.setdefault(service_name, settings.db_schema)
    worker = built.get(("webhooks", FundingSettings))
    if worker is not None and (worker.database_url, worker.db_schema) != (urls.get("funding"), schemas.get("funding")):
        problems.append("webhooks: the worker's database is not funding's")
    problems += init_sql_problems(compose, repo, variables, urls, schemas)

    # Servers: port, bind address, who publishes, healthcheck on a served route.
    ports: dict[str, int] = {}
    for name, cls in SERVERS.items():
        service = services.get(name)
        if service is None:
            continue
        args = command_of(service)
        expected = default_port(cls)
        port = option(args, "--port")
        if port is None or int(port) != expected:
            problems.append(f"{name}: uvicorn --port is {port}, {cls.__name__}'s default port is {expected}")
        ports[name] = expected
        if option(args, "--host") != "0.0.0.0":
            problems.append(f"{name}: uvicorn must bind 0.0.0.0 inside its container (is {option(args, '--host')})")
        targets = port_targets(service)
        if not targets or any(target != expected for target in targets):
            problems.append(f"{name}: exposed/published ports {targets} do not match port {expected}")
        if service.get("ports") and name != "gateway":
            problems.append(f"{name}: only the gateway is published; {name} should only expose its port")
        check = healthcheck_text(service)
        found = re.findall(r"https?://(?:127\.0\.0\.1|localhost):(\d+)(/[^\s'\")]*)", check)
        if not found:
            problems.append(f"{name}: no healthcheck calling the service over HTTP")
        for check_port, path in found:
            if int(check_port) != expected:
                problems.append(f"{name}: healthcheck calls port {check_port}, the service listens on {expected}")
            if path not in HEALTH_PATHS or not serves(name, path):
                problems.append(f"{name}: healthcheck calls {path}, not /readyz or /healthz served by the app")
    postgres = services.get("postgres") or {}
    if postgres and not str(postgres.get("image", "")).startswith("postgres:15"):
        problems.append(f"postgres: image {postgres.get('image')!r} is not postgres:15")
    if postgres and "pg_isready" not in healthcheck_text(postgres):
        problems.append("postgres: healthcheck does not use pg_isready")
    data_volumes = [v for v in postgres.get("volumes") or [] if isinstance(v, str) and ":/var/lib/postgresql/data" in v]
    if postgres and not any(v.split(":")[0] in (compose.get("volumes") or {}) for v in data_volumes):
        problems.append("postgres: data not kept in a named volume")

    # URLs between containers: `<service>_url` points at that service, on its port (a URL of the outside world,
    # such as identity's links_base_url for the mailed links, names no service of the file).
    for name, env in envs.items():
        for cls in SETTINGS[name]:
            for key, field in env_names(cls).items():
                if key not in env or not field.endswith("_url") or field == "database_url":
                    continue
                target = field.removesuffix("_url")
                if target not in services:
                    continue
                pointed = make_url(env[key]) if "://" in env[key] else None
                if pointed is None or pointed.host != target or pointed.port != ports.get(target):
                    problems.append(f"{name}: {key}={env[key]} should be http://{target}:{ports.get(target)}")

    # Issuer and audience: what identity signs is what everyone else expects.
    issued = {(s.token_issuer, s.token_audience) for (n, _), s in built.items() if n in SERVERS}
    if len(issued) > 1:
        problems.append(f"token issuer/audience differ between services: {sorted(issued)}")

    # Start order.
    for name, service in services.items():
        edges = depends_on(service)
        for dependency, condition in edges.items():
            if dependency not in services:
                problems.append(f"{name}: depends on unknown service {dependency}")
                continue
            wanted = COMPLETED if dependency in ONE_SHOT else HEALTHY
            if condition != wanted:
                problems.append(f"{name}: depends on {dependency} with {condition}, expected {wanted}")
            if wanted == HEALTHY and not healthcheck_text(services[dependency]):
                problems.append(f"{name}: waits for {dependency} to be healthy, but {dependency} has no healthcheck")
        for target, condition in REQUIRED_DEPENDENCIES.get(name, {}).items():
            if target not in edges:
                problems.append(f"{name}: does not wait for {target} ({condition})")
    for name in ONE_SHOT & services.keys():
        if str(services[name].get("restart", "no")) != "no":
            problems.append(f"{name}: a one-shot job must not restart (restart: {services[name]['restart']})")
    return problems


def dockerfile_problems(text: str, repo: Path = REPO) -> list[str]:
    problems: list[str] = []
    lines = [line.strip() for line in re.sub(r"\\\n", " ", text).splitlines()
             if line.strip() and not line.strip().startswith("#")]
    instructions = [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]
    bases = [arg for op, arg in instructions if op == "FROM"]
    if not bases or not bases[-1].split()[0].startswith("python:3.11-slim"):
        problems.append(f"Dockerfile: base image {bases} is not python:3.11-slim")
    copied = set()
    for op, arg in instructions:
        if op == "COPY":
            parts = [p for p in arg.split() if not p.startswith("--")]
            for source in parts[:-1]:
                copied.add(source.removeprefix("./"))
                if not (repo / source).exists():
                    problems.append(f"Dockerfile: COPY source {source} does not exist")
    installed = [match for op, arg in instructions if op == "RUN"
                 for match in re.findall(r"pip install[^&;]*?-r\s+(\S+)", arg)]
    if not installed:
        problems.append("Dockerfile: no `pip install -r <requirements>`")
    for requirements in installed:
        if not (repo / requirements).is_file():
            problems.append(f"Dockerfile: installs {requirements}, which does not exist")
        elif requirements not in copied:
            problems.append(f"Dockerfile: installs {requirements} without copying it first")
        else:
            pinned = {re.split(r"[=<>\[ ]", line, maxsplit=1)[0].lower()
                      for line in (repo / requirements).read_text().splitlines() if line and line[0].isalnum()}
            for needed in ("uvicorn", "psycopg", "alembic"):
                if needed not in pinned:
                    problems.append(f"Dockerfile: {requirements} lacks {needed}, which the containers run")
    users = [arg.split(":")[0] for op, arg in instructions if op == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("Dockerfile: the image runs as root (no final non-root USER)")
    for op, arg in instructions:
        if op in ("ENV", "ARG") and re.search(r"(SECRET|PASSWORD|TOKEN|PRIVATE|SIGNING)", arg, re.IGNORECASE):
            problems.append(f"Dockerfile: {op} {arg} bakes a secret into the image")
        if op == "COPY" and re.search(r"\.pem|\.env\b|secrets|var/", arg):
            problems.append(f"Dockerfile: COPY {arg} copies keys or local state into the image")
    return problems


# --- fixtures -------------------------------------------------------------------------------------------------

# One worker runs the whole module under pytest-xdist (tests/support/xdist_groups.py): its apps are built once.
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def serves(tmp_path_factory: pytest.TempPathFactory) -> ServedPaths:
    """The four apps as the containers build them, on throwaway SQLite files and development settings."""
    folder = tmp_path_factory.mktemp("compose-apps")
    return ServedPaths({
        "identity": create_identity(IdentitySettings(
            environment="development", database_url=f"sqlite:///{folder / 'identity.db'}",
            signing_key_file=str(folder / "signing.pem"),
        )),
        "projects": create_projects(ProjectsSettings(environment="development",
                                                     database_url=f"sqlite:///{folder / 'projects.db'}")),
        "funding": create_funding(FundingSettings(environment="development",
                                                  database_url=f"sqlite:///{folder / 'funding.db'}")),
        "gateway": Gateway(GatewaySettings(
            environment="development", upstream_connect_timeout_seconds=0.5, upstream_read_timeout_seconds=1.0,
            aggregate_timeout_seconds=1.0,
        )),
    })


# --- the tests ------------------------------------------------------------------------------------------------

def test_compose_file_matches_the_code(compose: dict[str, Any], serves: ServedPaths) -> None:
    assert compose_problems(compose, serves=serves) == []


def test_every_service_is_there(compose: dict[str, Any]) -> None:
    assert EXPECTED_SERVICES <= set(compose["services"])


def test_the_route_probe_tells_served_from_unknown(serves: ServedPaths) -> None:
    # The health check verdicts rest on this probe: it must see the real routes and nothing else.
    for name in ("identity", "projects", "funding"):
        assert serves.status(name, "/readyz") == 200, name
        assert serves.status(name, "/healthz") == 200, name
    assert serves.status("gateway", "/healthz") == 200
    assert serves("gateway", "/readyz")  # 503 while no service answers, but served
    for name in SERVERS:
        assert not serves(name, "/ready"), name


def test_compose_variables_are_required_or_defaulted(compose: dict[str, Any]) -> None:
    problems: list[str] = []
    for service in compose["services"].values():
        for value in environment_of(service).values():
            interpolate(value or "", {}, problems)
    assert problems == []


def test_dockerfile() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


def test_init_sql_creates_the_three_schemas_and_roles() -> None:
    sql = "\n".join(p.read_text() for p in sorted((REPO / "deploy" / "postgres" / "init").glob("*.sql")))
    for cls in (IdentitySettings, ProjectsSettings, FundingSettings):
        schema = cls.model_fields["db_schema"].default
        assert re.search(rf'CREATE SCHEMA "{schema}" AUTHORIZATION "{schema}"', sql), schema
        assert re.search(rf'CREATE ROLE "{schema}" LOGIN', sql), schema


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(compose: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = compose
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


def _rename_env(service: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(compose: dict[str, Any]) -> None:
        env = compose["services"][service]["environment"]
        env[new] = env.pop(old)
    return mutate


def _replace_in_command(service: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(compose: dict[str, Any]) -> None:
        args = command_of(compose["services"][service])
        compose["services"][service]["command"] = [new if arg == old else arg for arg in args]
    return mutate


def _healthcheck_path(service: str, path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(compose: dict[str, Any]) -> None:
        check = compose["services"][service]["healthcheck"]
        check["test"] = [re.sub(r"/readyz", path, part) for part in check["test"]]
    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(compose: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = compose
        for key in parents:
            node = node[key]
        del node[last]
    return mutate


@pytest.mark.parametrize(
    ("mutate", "reported"),
    [
        (_rename_env("identity", "IDENTITY_DATABASE_URL", "IDENTITY_DATABSE_URL"), "IDENTITY_DATABSE_URL"),
        (_rename_env("funding", "FUNDING_PROJECTS_URL", "FUNDING_PROJECT_URL"), "FUNDING_PROJECT_URL"),
        (_set("services/funding/environment/FUNDING_SERVICE_CLIENT_SECRET", "dev-only-service-secret-funding"),
         "development default"),
        (_set("services/projects/environment/PROJECTS_ENVIRONMENT", "development"), "PROJECTS_ENVIRONMENT"),
        (_set("services/identity/depends_on/migrate/condition", "service_started"), COMPLETED),
        (_set("services/migrate/depends_on/postgres/condition", "service_started"), HEALTHY),
        (_drop("services/funding/depends_on/identity"), "does not wait for identity"),
        (_replace_in_command("projects", "8002", "8012"), "--port"),
        (_replace_in_command("identity", "services.identity.main:app", "services.identity.mian:app"),
         "services.identity.mian"),
        (_replace_in_command("migrate", "scripts.migrate", "scripts.migrations"), "scripts.migrations"),
        (_healthcheck_path("gateway", "/ready"), "/ready"),
        (_set("services/gateway/environment/GATEWAY_FUNDING_URL", "http://projects:8002"), "GATEWAY_FUNDING_URL"),
        (_set("services/projects/environment/PROJECTS_DB_SCHEMA", "identity"), "db_schema"),
        (_set("services/identity/environment/IDENTITY_SIGNING_KEY_FILE", "/app/var/keys/signing.pem"),
         "IDENTITY_SIGNING_KEY_FILE"),
        (_set("services/funding/environment/FUNDING_DATABASE_URL",
              "postgresql://identity:${IDENTITY_DB_PASSWORD:?x}@postgres:5432/guichet"), "role"),
        (_drop("services/identity/environment/IDENTITY_SIGNING_KEY_FILE"), "IDENTITY_SIGNING_KEY_FILE"),
        (_drop("services/projects/environment/PROJECTS_DATABASE_URL"), "PROJECTS_DATABASE_URL"),
        (_drop("services/projects/healthcheck"), "projects"),
        (_drop("services/postgres"), "postgres"),
        (_set("services/webhooks/environment/FUNDING_DB_SCHEMA", "projects"), "the worker's database"),
        (_replace_in_command("webhooks", "services.funding.webhooks.worker", "services.funding.webhooks.workers"),
         "services.funding.webhooks.workers"),
        (_drop("services/webhooks"), "webhooks"),
    ],
)
def test_a_broken_compose_file_is_reported(
    compose: dict[str, Any], serves: ServedPaths, mutate: Callable[[dict[str, Any]], None], reported: str
) -> None:
    broken = copy.deepcopy(compose)
    mutate(broken)
    problems = compose_problems(broken, serves=serves)
    assert any(reported in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "reported"),
    [
        ("USER desk:desk", "", "root"),
        ("-r requirements.txt", "-r requirements-prod.txt", "requirements-prod.txt"),
        ("PYTHONUNBUFFERED=1", "PYTHONUNBUFFERED=1 FUNDING_SERVICE_CLIENT_SECRET=s3cret", "secret"),
        ("FROM python:3.11-slim", "FROM python:3.12", "python:3.11-slim"),
    ],
)
def test_a_broken_dockerfile_is_reported(old: str, new: str, reported: str) -> None:
    text = DOCKERFILE.read_text()
    assert old in text
    problems = dockerfile_problems(text.replace(old, new))
    assert any(reported in problem for problem in problems), problems
