"""Starts identity, projects, funding and the gateway as four servers on 127.0.0.1, and the webhook worker beside
them: `python -m scripts.run_stack`.

Ctrl-C (or SIGTERM) stops all five; if one dies, the others are stopped too.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from scripts import demo_data

SERVERS = (
    ("identity", "services.identity.main:app", "IDENTITY", 8001),
    ("projects", "services.projects.main:app", "PROJECTS", 8002),
    ("funding", "services.funding.main:app", "FUNDING", 8003),
    ("gateway", "gateway.main:app", "GATEWAY", 8000),
)
# Processes that serve no port: the webhook deliveries.
WORKERS = (("webhooks", "services.funding.webhooks.worker"),)


def port_of(prefix: str, default: int) -> int:
    return int(os.environ.get(f"{prefix}_PORT", default))


def host_of(prefix: str) -> str:
    return os.environ.get(f"{prefix}_HOST", "127.0.0.1")


def upstream_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Each process is told where the others listen, from the same port settings (of `base`, default ours)."""
    env = dict(os.environ if base is None else base)

    def url(prefix: str, default: int) -> str:
        return f"http://{env.get(f'{prefix}_HOST', '127.0.0.1')}:{env.get(f'{prefix}_PORT', default)}"

    urls = {name: url(prefix, port) for name, _, prefix, port in SERVERS}
    for prefix in ("PROJECTS", "FUNDING", "GATEWAY"):
        env.setdefault(f"{prefix}_IDENTITY_URL", urls["identity"])
    env.setdefault("FUNDING_PROJECTS_URL", urls["projects"])
    env.setdefault("GATEWAY_PROJECTS_URL", urls["projects"])
    env.setdefault("GATEWAY_FUNDING_URL", urls["funding"])
    return env


def server_command(name: str, target: str, host: str, port: int) -> list[str]:
    """How one server is started, here and by the fault tests (which start, kill and pause each on its own)."""
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so every local client could name its own
    # address: the gateway decides whom to believe itself (GATEWAY_TRUSTED_PROXIES).
    own_proxy_rules = ["--no-proxy-headers"] if name == "gateway" else []
    return [sys.executable, "-m", "uvicorn", target, "--host", host, "--port", str(port),
            "--no-access-log", "--timeout-graceful-shutdown", "5", *own_proxy_rules]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    env = upstream_environment()
    processes: list[subprocess.Popen] = []
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    for name, target, prefix, default in SERVERS:
        port = port_of(prefix, default)
        host = host_of(prefix)
        process = subprocess.Popen(
            server_command(name, target, host, port), env=env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        processes.append(process)
        if not wait_ready(f"http://{host}:{port}/healthz", process):
            print(f"{name} did not start on port {port}", file=sys.stderr)
            stop(processes)
            return 1
    for _name, module in WORKERS:
        processes.append(subprocess.Popen([sys.executable, "-m", module], env=env, start_new_session=True))
    gateway = f"http://{host_of('GATEWAY')}:{port_of('GATEWAY', 8000)}"
    print(f"\nGuichet unique running.\n  gateway: {gateway}\n  docs:    {gateway}/docs\n")
    print(f"Demo logins (password for all: {demo_data.DEMO_PASSWORD}):")
    for user in demo_data.USERS:
        print(f"  {user.roles[0]:<18} {user.email}")
    print("\nCtrl-C stops the five processes (four servers and the webhook worker).", flush=True)
    while not stopping:
        if any(p.poll() is not None for p in processes):
            print("a process stopped unexpectedly; stopping the others", file=sys.stderr)
            stop(processes)
            return 1
        time.sleep(0.5)
    stop(processes)
    print("stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
