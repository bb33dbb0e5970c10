"""The live desk as five processes the fault tests start, kill (-9), pause (SIGSTOP) and resume one by one, with a
proxy of our own between funding and projects that can hold or cut what passes.

The same environment, migrations, seed and server commands as `make run` (scripts.live_stack, scripts.run_stack);
only the process supervision differs: run_stack stops everything when one process dies, which is the very event
these tests cause."""

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from scripts.live_stack import REPO, drop_schemas, live_environment, run_module
from scripts.run_stack import SERVERS, WORKERS, server_command, upstream_environment, wait_ready
from tests.support.clock import TEST_NOW

SCHEMA_PREFIX = "faults"
APPLICATION_NAME = "faults-desk"


class Proxy:
    """A TCP relay on 127.0.0.1 in front of one server. `hold()` keeps every new request from reaching it (the
    peer looks hung, as under SIGSTOP, without stopping its other clients); `on_answer(marker, action)` runs
    `action` when the server starts answering a request whose first line contains `marker` — before the answer
    is relayed, so that the caller can be killed right between the peer's commit and its own (a server commits
    before it answers)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests_seen: list[bytes] = []
        self._held = threading.Event()
        self._released = threading.Event()
        self._triggers: list[tuple[bytes, Callable[[], bool], Callable[[], None]]] = []
        self._lock = threading.Lock()
        self._waiting = 0
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self._released.clear()
        self._held.set()

    def release(self) -> None:
        self._held.clear()
        self._released.set()

    def held_requests(self) -> int:
        with self._lock:
            return self._waiting

    def on_answer(self, marker: bytes, action: Callable[[], None], *, nth: int = 1) -> None:
        """`action` once, when the `nth` request whose first line holds `marker` is being answered."""
        seen = 0

        def counted() -> bool:
            nonlocal seen
            seen += 1
            return seen == nth

        with self._lock:
            self._triggers.append((marker, counted, action))

    def close(self) -> None:
        self._closing = True
        self.release()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        pending: list[Callable[[], None]] = []
        threading.Thread(target=self._answers, args=(upstream, client, pending), daemon=True).start()
        try:
            while chunk := client.recv(65536):
                first_line = chunk.split(b"\r\n", 1)[0]
                if b" HTTP/1." in first_line:  # a new request on this connection
                    self.requests_seen.append(first_line)
                    if self._held.is_set():
                        with self._lock:
                            self._waiting += 1
                        self._released.wait()
                        with self._lock:
                            self._waiting -= 1
                    with self._lock:
                        fired = [trigger for trigger in self._triggers if trigger[0] in first_line and trigger[1]()]
                        pending.extend(action for _marker, _due, action in fired)
                        self._triggers = [trigger for trigger in self._triggers if trigger not in fired]
                upstream.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(upstream)
            _close(client)

    @staticmethod
    def _answers(upstream: socket.socket, client: socket.socket, pending: list[Callable[[], None]]) -> None:
        try:
            while chunk := upstream.recv(65536):
                while pending:
                    pending.pop(0)()
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(client)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@dataclass
class FaultDesk:
    env: dict[str, str]
    ports: dict[str, int]
    workdir: Path
    projects_proxy: Proxy
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def url(self, server: str = "gateway") -> str:
        return f"http://127.0.0.1:{self.ports[server]}"

    def start(self, name: str, *, wait: bool = True) -> None:
        """One server (or the webhook worker) started again, with the desk's environment."""
        log = (self.workdir / f"{name}.log").open("ab")
        workers = dict(WORKERS)
        if name in workers:
            command = [sys.executable, "-m", workers[name]]
        else:
            target = next(target for server, target, _prefix, _port in SERVERS if server == name)
            command = server_command(name, target, "127.0.0.1", self.ports[name])
        process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        if wait and name not in workers and not wait_ready(f"{self.url(name)}/healthz", process, timeout=60):
            raise RuntimeError(f"{name} did not start:\n{self.log(name)[-3000:]}")

    def kill(self, name: str) -> None:
        """kill -9: no shutdown, no commit, no cleanup."""
        process = self.processes[name]
        process.send_signal(signal.SIGCONT)  # a paused process dies as well
        process.kill()
        process.wait(timeout=10)

    def pause(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGCONT)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.projects_proxy.close()
        self.stop_processes()

    def stop_processes(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def move_projects_clock(self, by: timedelta) -> None:
        """Projects' (and identity's) time moved on: the pins' reservations lapse by it. Funding's stays."""
        clock = self.workdir / "clock-start"
        clock.write_text((datetime.fromisoformat(clock.read_text()) + by).isoformat())

    def database_url(self, service: str) -> str:
        return self.env[f"{service.upper()}_DATABASE_URL"]

    def schema(self, service: str) -> str | None:
        return self.env.get(f"{service.upper()}_DB_SCHEMA")


def start_fault_desk(backend: str, workdir: Path, postgres_url: str | None) -> FaultDesk:
    """Migrated, seeded, the five processes running; funding reaches projects through `projects_proxy`."""
    if backend == "postgres":
        assert postgres_url is not None
        drop_schemas(postgres_url, [f"{SCHEMA_PREFIX}_{service}" for service in ("identity", "projects", "funding")])
    env, ports = live_environment(backend, workdir, postgres_url, fast_passwords=True, schema_prefix=SCHEMA_PREFIX,
                                  now=TEST_NOW)
    for module in ("scripts.migrate", "scripts.seed_demo"):
        run_module(module, env)
    env = upstream_environment(env)
    proxy = Proxy(ports["projects"])
    env["FUNDING_PROJECTS_URL"] = f"http://127.0.0.1:{proxy.port}"
    env.update(FAULT_SETTINGS)
    env["PGAPPNAME"] = APPLICATION_NAME  # libpq's: how a test finds the desk's own PostgreSQL connections
    desk = FaultDesk(env=env, ports=ports, workdir=workdir, projects_proxy=proxy)
    try:
        for name, *_ in SERVERS:
            desk.start(name)
        for name, _module in WORKERS:
            desk.start(name)
    except Exception:
        desk.stop()
        raise
    return desk


# Faults are waited out in seconds, not the production defaults' tens of seconds.
FAULT_SETTINGS = {
    "FUNDING_UPSTREAM_TIMEOUT_SECONDS": "10",
    # A reservation nobody confirms lapses in seconds, and the sweep looks every second.
    "PROJECTS_PIN_RESERVATION_SECONDS": "5",
    "PROJECTS_PIN_SWEEP_SECONDS": "1",
    # A key left by the killed process is taken over by a retry after seconds; no fault test retries a call
    # still running with the same key (the hung peer's submissions are not retried).
    "FUNDING_IDEMPOTENCY_LEASE_SECONDS": "4",
}


def wait_until(condition: Callable[[], bool], *, timeout: float = 30, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
