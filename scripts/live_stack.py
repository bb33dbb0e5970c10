"""The whole desk as it runs for real, in a scratch folder: `scripts.run_stack` in a subprocess (four uvicorn
servers on free 127.0.0.1 ports), migrated and seeded by the same commands `make run` uses.
Used by the end-to-end tests and by the benchmarks."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from common.db import sync_url
from services.identity.keys import generate_pem

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("identity", "projects", "funding")
LIVE_SECRET = "live-scratch-service-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveStack:
    process: subprocess.Popen
    ports: dict[str, int]
    log_file: Path
    key_file: Path

    def url(self, server: str = "gateway") -> str:
        return f"http://127.0.0.1:{self.ports[server]}"

    def set_clock(self, at: datetime | None) -> None:
        """Funding's time from now on (None: back to the time the desk was started at); see live_environment."""
        folder = self.log_file.parent
        (folder / "clock").write_text(at.isoformat() if at else (folder / "clock-start").read_text())

    @property
    def mail_folder(self) -> Path:
        """Where funding writes the mails it sends (see live_environment)."""
        return self.log_file.parent / "mail"

    @property
    def identity_mail_folder(self) -> Path:
        """Where identity writes its invitations, sign-up checks and password resets."""
        return self.log_file.parent / "identity-mail"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def live_environment(
    backend: str, workdir: Path, postgres_url: str | None, *, fast_passwords: bool, schema_prefix: str = "live",
    now: datetime | None = None,
) -> tuple[dict[str, str], dict[str, int]]:
    """The servers' environment. With `now` (the tests), every service lives at that time rather than the
    calendar's, funding's clock moved by LiveStack.set_clock, the others' standing still."""
    ports = {name: free_port() for name in ("gateway", *SERVICES)}
    key_file = workdir / "signing.pem"
    key_file.write_bytes(generate_pem())
    env = dict(os.environ)
    for prefix in ("IDENTITY", "PROJECTS", "FUNDING", "GATEWAY"):
        env[f"{prefix}_ENVIRONMENT"] = "test"
        env[f"{prefix}_LOG_LEVEL"] = "WARNING"
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
    for service in SERVICES:
        upper = service.upper()
        if backend == "sqlite":
            env[f"{upper}_DATABASE_URL"] = f"sqlite:///{workdir / f'{service}.db'}"
        else:
            assert postgres_url is not None
            env[f"{upper}_DATABASE_URL"] = postgres_url
            env[f"{upper}_DB_SCHEMA"] = f"{schema_prefix}_{service}"  # apart from the in-process suite's schemas
    env.update({
        "IDENTITY_SIGNING_KEY_FILE": str(key_file),
        "IDENTITY_SERVICE_CLIENTS": json.dumps({"funding": LIVE_SECRET}),
        "FUNDING_SERVICE_CLIENT_SECRET": LIVE_SECRET,
        # The holders' notifications are written there, as .eml files (no mail server here).
        "FUNDING_MAIL_FOLDER": str(workdir / "mail"),
        "IDENTITY_MAIL_FOLDER": str(workdir / "identity-mail"),
        # Identity sees the client's address through the gateway (the last X-Forwarded-For entry, written by the
        # gateway), as in production; said here rather than left to the default.
        "IDENTITY_TRUSTED_PROXIES": '["127.0.0.1/32"]',
        # Every test, and the benchmarks' load generator, calls from loopback with a handful of tokens: the
        # default budgets would refuse them. The limiter still runs (and is paid for) on every request.
        "GATEWAY_RATE_LIMIT_CALLER": "1000000/minute",
        "GATEWAY_RATE_LIMIT_ANONYMOUS": "1000000/minute",
        "GATEWAY_RATE_LIMIT_AUTH": "1000000/minute",
    })
    if fast_passwords:  # the tests: the benchmark measures the desk as it runs for real
        env.update({
            # Each pytest-xdist worker runs its live stacks beside its in-process one, and one of them the fault
            # desk, on one PostgreSQL server of 100 connections: 3 x (2 + 1) + the worker's 1 + 1 = 11 at most each.
            # So small a pool queues the tests' bursts (40 decisions at once): they wait for a connection as long
            # as a request may, rather than the production 3 s meant for a pool of 12.
            **{f"{service.upper()}_DATABASE_{name}": value for service in SERVICES
               for name, value in (("POOL_SIZE", "2"), ("MAX_OVERFLOW", "1"), ("POOL_TIMEOUT_SECONDS", "30"))},
            "FUNDING_WEBHOOK_DATABASE_POOL_SIZE": "1", "FUNDING_WEBHOOK_DATABASE_MAX_OVERFLOW": "1",
            # They log in hundreds of times.
            "IDENTITY_PASSWORD_TIME_COST": "1", "IDENTITY_PASSWORD_MEMORY_KIB": "8",
            # Every test calls from loopback: the refusals of one address would add up across the whole suite.
            "IDENTITY_LOGIN_MAX_FAILURES_PER_IP": "10000",
            # Their webhook receivers listen on loopback, and wait for the worker.
            "FUNDING_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
            "FUNDING_WEBHOOK_POLL_SECONDS": "0.2",
            "FUNDING_WEBHOOK_ANNOUNCE_SECONDS": "0",  # they move the clock and wait for payment.due
        })
    if now is not None:
        for name in ("clock", "clock-start"):
            (workdir / name).write_text(now.isoformat())
        env["FUNDING_CLOCK_FILE"] = str(workdir / "clock")
        env["IDENTITY_CLOCK_FILE"] = env["PROJECTS_CLOCK_FILE"] = str(workdir / "clock-start")
    return env, ports


def drop_schemas(postgres_url: str, schemas: list[str]) -> None:
    """A clean start for a scratch desk: its services' schemas go, with everything in them."""
    engine = create_engine(sync_url(postgres_url))
    with engine.begin() as connection:
        for schema in schemas:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def start_live_stack(
    backend: str, workdir: Path, postgres_url: str | None = None, *, fast_passwords: bool = True,
    now: datetime | None = None,
) -> LiveStack:
    if backend == "postgres":
        assert postgres_url is not None
        drop_schemas(postgres_url, [f"live_{service}" for service in SERVICES])
    env, ports = live_environment(backend, workdir, postgres_url, fast_passwords=fast_passwords, now=now)
    for module in ("scripts.migrate", "scripts.seed_demo"):
        run_module(module, env)
    return launch_stack(env, ports, workdir)


def run_module(module: str, env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`python -m module args` in the repository with that environment; its output, or an error with its end."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{done.stderr.decode()[-3000:]}")
    return done.stdout.decode()


def launch_stack(env: dict[str, str], ports: dict[str, int], workdir: Path) -> LiveStack:
    """scripts.run_stack on databases already migrated and seeded; back once the gateway is ready."""
    log_file = workdir / "stack.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.run_stack"], cwd=REPO, env=env,
        stdout=log_file.open("wb"), stderr=subprocess.STDOUT,
    )
    stack = LiveStack(process=process, ports=ports, log_file=log_file, key_file=workdir / "signing.pem")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"run_stack exited early:\n{log_file.read_text()[-3000:]}")
        try:
            if httpx.get(stack.url() + "/readyz", timeout=1).status_code == 200:
                return stack
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stack.stop()
    raise RuntimeError(f"the desk did not become ready:\n{log_file.read_text()[-3000:]}")
