"""A person's login while another address floods identity with logins to unknown emails:
`python -m bench.login_flood [--logins 30] [--wave 40] [--backend sqlite|postgres]`.

Starts the desk in a scratch folder with the real password cost (argon2id, 19 MiB, 2 passes), then logs the demo
holder in `--logins` times one after the other from 127.0.0.1, first on a quiet desk, then while a wave of
`--wave` logins a second, each to a new unknown email, comes from 127.0.0.2 (another client address on loopback).
Prints the holder's login latency (p50, p95, max) in both phases, their ratio, what the flood was answered, and
identity's CPU per flood request read from /proc. Straight to identity: the gateway's own rate limits would
otherwise stop the flood before identity sees it, and this measures identity's door.
"""

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.gateway_vs_direct import cpu_seconds, server_pids
from scripts import demo_data
from scripts.live_stack import start_live_stack

RESULTS = Path(__file__).resolve().parent / "results"
HOLDER = "presidence@blosne-avenir.example"
FLOOD_ADDRESS = "127.0.0.2"


def _form(email: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": email, "password": password}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _holder_logins(client: httpx.AsyncClient, count: int) -> list[float]:
    """Milliseconds per login, one after the other, with a short pause as a person's tool would leave."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.post("/api/v1/auth/token", data=_form(HOLDER, demo_data.DEMO_PASSWORD))
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"the holder's login failed: {response.status_code} {response.text}")
        await asyncio.sleep(0.05)
    return latencies


async def _flood(client: httpx.AsyncClient, wave: int, stop: asyncio.Event, answers: Counter) -> None:
    """A wave of `wave` logins every second, each to a new unknown email, whether the last wave was answered
    or not (an attacker does not wait): the same offered load whatever the server does with it."""
    numbers = itertools.count()
    pending: set[asyncio.Task] = set()

    async def one() -> None:
        email = f"inconnu-{next(numbers)}@flood.example"
        try:
            response = await client.post("/api/v1/auth/token", data=_form(email, "pas-le-bon-mot-de-passe"))
            answers[response.status_code] += 1
        except httpx.HTTPError as error:
            answers[type(error).__name__] += 1

    while not stop.is_set():
        for _ in range(wave):
            task = asyncio.create_task(one())
            pending.add(task)
            task.add_done_callback(pending.discard)
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass
    answers["unanswered when the holder was done"] = len(pending)
    for task in list(pending):
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _figures(latencies: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(_percentile(latencies, 0.95), 1),
            "max_ms": round(max(latencies), 1)}


async def measure(base_url: str, identity_pid: int, *, logins: int, wave: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=None)
    holder_transport = httpx.AsyncHTTPTransport(local_address="127.0.0.1")
    flood_transport = httpx.AsyncHTTPTransport(local_address=FLOOD_ADDRESS, limits=limits)
    async with (
        httpx.AsyncClient(base_url=base_url, transport=holder_transport, timeout=60) as holder,
        httpx.AsyncClient(base_url=base_url, transport=flood_transport, timeout=60) as attacker,
    ):
        await _holder_logins(holder, 3)  # warm: connections, the first argon2 allocation
        cpu_quiet = cpu_seconds(identity_pid)
        quiet = await _holder_logins(holder, logins)
        cpu_per_holder_login = (cpu_seconds(identity_pid) - cpu_quiet) / logins
        stop, answers = asyncio.Event(), Counter[int | str]()
        cpu_before, flood_started = cpu_seconds(identity_pid), time.perf_counter()
        flooding = asyncio.create_task(_flood(attacker, wave, stop, answers))
        await asyncio.sleep(0.5)  # the first wave is in
        under_flood = await _holder_logins(holder, logins)
        flood_seconds = time.perf_counter() - flood_started
        cpu_used = cpu_seconds(identity_pid) - cpu_before
        stop.set()
        await flooding
    flood_requests = sum(v for k, v in answers.items() if not str(k).startswith("unanswered"))
    quiet_figures, flood_figures = _figures(quiet), _figures(under_flood)
    return {
        "quiet": quiet_figures,
        "under_flood": flood_figures,
        "ratio_p50": round(flood_figures["p50_ms"] / quiet_figures["p50_ms"], 2),
        "ratio_p95": round(flood_figures["p95_ms"] / quiet_figures["p95_ms"], 2),
        "flood_answers": {str(k): v for k, v in sorted(answers.items(), key=str)},
        "flood_answered_per_second": round(flood_requests / flood_seconds, 1),
        "identity_cpu_ms_per_holder_login": round(cpu_per_holder_login * 1000, 2),
        # What the holder's own logins cost in that time is taken out.
        "identity_cpu_ms_per_flood_request": round(
            (cpu_used - logins * cpu_per_holder_login) / max(flood_requests, 1) * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=30, help="the holder's logins in each phase")
    parser.add_argument("--wave", type=int, default=40, help="flood logins sent each second")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="with --backend postgres: the database that gets live_* schemas")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as folder:
        stack = start_live_stack(args.backend, Path(folder), args.postgres_url, fast_passwords=False)
        try:
            pid = server_pids(stack)["identity"]
            figures = asyncio.run(measure(stack.url("identity"), pid, logins=args.logins, wave=args.wave))
        finally:
            stack.stop()
    print(f"POST /api/v1/auth/token on {args.backend}: the holder's login, {args.logins} one after the other,"
          f" quiet then under {args.wave} logins a second to unknown emails from {FLOOD_ADDRESS}")
    print(f"{'':14}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for phase in ("quiet", "under_flood"):
        row = figures[phase]
        print(f"{phase:14}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{row['max_ms']:>10.1f}")
    print(f"ratio under flood / quiet: p50 {figures['ratio_p50']}, p95 {figures['ratio_p95']}")
    print(f"the flood: {args.wave} logins/s offered, {figures['flood_answered_per_second']} answered/s:"
          f" {figures['flood_answers']};"
          f" identity's CPU per flood request {figures['identity_cpu_ms_per_flood_request']} ms"
          f" (per holder login: {figures['identity_cpu_ms_per_holder_login']} ms)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"login_flood_{args.backend}.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
