"""The quick set, `make bench`: `python -m bench.quick [--backends sqlite,postgresql] [--seconds 3] [--rounds 2]
[--drafts 200]`, in a few minutes on each backend.

For each backend the desk is started as `make run` starts it (scripts.live_stack, real password cost; PostgreSQL in
a database of its own, made and dropped here), with the minimal app of bench/minimal_app.py beside it on
funding's database. Then:

- submissions through the gateway: `--drafts` dossiers drafted beforehand (each on its own project and budget),
  submitted by `--connections` concurrent clients; submissions/s, errors, and the CPU each process spent per
  submission;
- reads, with wrk at `--connections` connections: funding's GET /dossiers/{id} and GET /dossiers?limit=50 against
  the minimal app's same reads (same token check, rows and JSON: checked before measuring), and both through the
  gateway against funding direct; each target `--rounds` times, alternated within each round (forward, then
  backward), so that whatever else the machine does hits both sides of a ratio alike.

Every CPU figure is read from the OS (/proc/PID/stat, user + system) before and after a run, divided by the
requests wrk counted: µs per request for each process (wrk's own CPU too, the load generator shares the cores).
Ratios are against the baseline measured in the same run. The output ends with exactly one line,
`BENCH {json}`, the figures by backend; the same, with every round, goes to bench/results/quick.json.
"""

import argparse
import asyncio
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench import scale
from bench.gateway_vs_direct import RESULTS, cpu_seconds, server_pids
from common.db import sync_url
from scripts.live_stack import REPO, LiveStack, drop_schemas, free_port, launch_stack, live_environment, run_module
from scripts.run_stack import upstream_environment

__all__ = ["cpu_seconds"]  # read by the tests from here, where the bench uses it
BACKENDS = {"sqlite": "sqlite", "postgresql": "postgres"}  # the BENCH line's name: live_stack's
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/bench_quick"
LIST_LIMIT = 50
SERVERS = ("gateway", "identity", "projects", "funding")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
# After each run, before the next one's CPU is read: the requests still in flight when wrk stopped are answered
# (and counted) on the run that sent them, not on the next target's.
SETTLE_SECONDS = 0.5


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def _found(pattern: str, output: str) -> re.Match[str]:
    match = re.search(pattern, output, re.M)
    if match is None:
        raise RuntimeError(f"no {pattern!r} in wrk's report:\n{output}")
    return match


def run_wrk(url: str, token: str, *, seconds: int, connections: int) -> dict[str, Any]:
    """One wrk run: the requests it counted (a failed answer or a socket error fails the run), its own CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
         "-H", f"Authorization: Bearer {token}", url],
        check=True, capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: (.*)", output)
    if failed or sockets:
        raise RuntimeError(f"failed requests against {url}:\n{output}")
    count = _found(r"(\d+) requests in ([\d.]+\w+)", output)
    return {
        "requests": int(count.group(1)), "seconds": round(_ms(count.group(2)) / 1000, 3),
        "p50_ms": round(_ms(_found(r"^\s*50%\s+(\S+)", output).group(1)), 3),
        "p99_ms": round(_ms(_found(r"^\s*99%\s+(\S+)", output).group(1)), 3),
        "wrk_cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 4),
    }


def measured(url: str, token: str, pids: dict[str, int], *, seconds: int, connections: int) -> dict[str, Any]:
    """One wrk run, and the CPU each process spent during it (seconds)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    run = run_wrk(url, token, seconds=seconds, connections=connections)
    time.sleep(SETTLE_SECONDS)
    run["cpu_seconds"] = {name: round(cpu_seconds(pid) - before[name], 4) for name, pid in pids.items()}
    run["cpu_seconds"]["wrk"] = run.pop("wrk_cpu_seconds")
    return run


def cpu_us_per_request(rounds: Sequence[dict[str, Any]], processes: Sequence[str] | None = None) -> dict[str, float]:
    """Every round's CPU over every round's requests, per process."""
    requests = sum(r["requests"] for r in rounds)
    names = processes if processes is not None else list(rounds[0]["cpu_seconds"])
    return {name: round(sum(r["cpu_seconds"][name] for r in rounds) / requests * 1e6, 1) for name in names}


def rate(rounds: Sequence[dict[str, Any]]) -> float:
    """The median of the rounds' requests per second."""
    return round(statistics.median(r["requests"] / r["seconds"] for r in rounds), 1)


def compared(
    rounds: Sequence[dict[str, Any]], baseline: Sequence[dict[str, Any]], *, name: str, baseline_name: str,
    processes: Sequence[str] = ("funding",), baseline_processes: Sequence[str] = ("minimal",),
) -> dict[str, Any]:
    """A figure and its baseline of the same run: their rates, the ratio, and the CPU per request of the processes
    that serve each (in one mapping when they are different processes, else the baseline's apart)."""
    figure: dict[str, Any] = {name: rate(rounds), baseline_name: rate(baseline)}
    figure["ratio"] = round(figure[name] / figure[baseline_name], 3)
    figure["cpu_us_per_request"] = cpu_us_per_request(rounds, processes)
    baseline_cpu = cpu_us_per_request(baseline, baseline_processes)
    if set(processes) & set(baseline_processes):
        figure[f"{baseline_name.removesuffix('_rps')}_cpu_us_per_request"] = baseline_cpu
    else:
        figure["cpu_us_per_request"] |= baseline_cpu
    return figure


def bench_line(results: dict[str, Any]) -> str:
    return "BENCH " + json.dumps(results, separators=(",", ":"), sort_keys=True)


def parse_bench_line(line: str) -> dict[str, Any]:
    if not line.startswith("BENCH {"):
        raise ValueError(f"not a BENCH line: {line[:60]!r}")
    figures: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    return figures


# What each figure of the BENCH line reads (the table's rows): its target, and which side is the baseline.
READS = {
    "get_dossier": "funding GET /dossiers/{id} vs the minimal app",
    "list_dossiers": f"funding GET /dossiers?limit={LIST_LIMIT} vs the minimal app",
    "gateway_get_dossier": "gateway GET /dossiers/{id} vs funding direct",
    "gateway_list_dossiers": f"gateway GET /dossiers?limit={LIST_LIMIT} vs funding direct",
}


def report(results: dict[str, Any]) -> None:
    """The figures for a person, then the BENCH line, last."""
    for backend, figures in results.items():
        print(f"\n== {backend}")
        for key, title in READS.items():
            if key not in figures:
                continue
            figure = figures[key]
            rates = [(k, v) for k, v in figure.items() if k.endswith("rps")]
            print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in rates) + f", ratio {figure['ratio']}")
            for cpu_key in (k for k in figure if k.endswith("cpu_us_per_request")):
                print(f"    {cpu_key} (µs): " + ", ".join(f"{k} {v}" for k, v in figure[cpu_key].items()))
        made = figures.get("submissions")
        if made:
            print(f"submissions via the gateway: {made['submitted']} in {made['seconds']} s = {made['per_second']}/s "
                  f"with {made['concurrency']} clients, {made['errors']} errors; CPU per submission (ms): "
                  + ", ".join(f"{k} {v}" for k, v in made["cpu_ms_per_submission"].items()))
        where = figures.get("cpu_by_target")
        if where:
            names = sorted({name for row in where.values() for name in row})
            print("where the CPU went, µs per request, every process:")
            print(f"    {'target':28}" + "".join(f"{name:>10}" for name in names))
            for target, row in where.items():
                print(f"    {target:28}" + "".join(f"{row.get(name, 0):>10.1f}" for name in names))
    print(bench_line({backend: {k: v for k, v in figures.items() if k != "cpu_by_target"}
                      for backend, figures in results.items()}))


@contextmanager
def minimal_server(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """bench.minimal_app in funding's environment, on a port of its own; stopped by its PID."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "bench.minimal_app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--timeout-graceful-shutdown", "5"],
        cwd=REPO, env=upstream_environment(env), stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"the minimal app did not start:\n{log.read().decode()[-3000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def process_pids(stack: LiveStack) -> dict[str, int]:
    """The four servers (by their port) and the webhook worker, children of run_stack."""
    pids = server_pids(stack)
    for pid in subprocess.run(["pgrep", "-P", str(stack.process.pid)], capture_output=True, text=True).stdout.split():
        if b"services.funding.webhooks.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
            pids["webhooks"] = int(pid)
    return pids


def same_answer(token: str, real: str, minimal: str) -> int:
    """The minimal app answers what funding answers (else its rate is the ceiling of something else); the size."""
    headers = {"Authorization": f"Bearer {token}"}
    answers = [httpx.get(url, headers=headers, timeout=30) for url in (real, minimal)]
    for answer in answers:
        answer.raise_for_status()
    if answers[0].json() != answers[1].json():
        raise RuntimeError(f"the minimal app's body differs from funding's for {real}:\n"
                           f"{answers[0].text[:2000]}\n---\n{answers[1].text[:2000]}")
    return len(answers[0].content)


def submissions(stack: LiveStack, pids: dict[str, int], count: int, concurrency: int) -> tuple[dict[str, Any],
                                                                                                list[str]]:
    """Drafts made first (not measured), then all submitted through the gateway at once; and the dossiers' ids,
    for the reads."""
    holder, ids = scale._drafts(stack, count)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    made = asyncio.run(scale._submit_all(stack.url(), holder, ids, concurrency))
    spent = {name: (cpu_seconds(pid) - before[name]) / count * 1000 for name, pid in pids.items()}
    cpu = {name: round(spent[name], 2) for name in pids}
    cpu["total"] = round(sum(spent[name] for name in SERVERS), 2)  # the four servers
    figure = {
        "submitted": count, "concurrency": concurrency, "seconds": made["seconds"], "per_second": made["per_second"],
        "errors": sum(n for status, n in made["statuses"].items() if status != 200), "statuses": made["statuses"],
        "cpu_ms_per_submission": cpu,
    }
    return figure, ids


def holder_token(stack: LiveStack) -> str:
    """A fresh access token of the drafts' holder: one per round, so that a long run never outlives one (10 min)."""
    with httpx.Client(base_url=stack.url(), timeout=30) as client:
        return scale.login(client, scale.HOLDER)["Authorization"].removeprefix("Bearer ")


def reads(
    stack: LiveStack, minimal: str, pids: dict[str, int], dossier_id: str, *, seconds: int, rounds: int,
    connections: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each read target alternated within each round; the figures, and every round."""
    token = holder_token(stack)
    one, page = f"/api/v1/dossiers/{dossier_id}", f"/api/v1/dossiers?limit={LIST_LIMIT}"
    targets = {
        "funding_get": stack.url("funding") + one, "minimal_get": minimal + one, "gateway_get": stack.url() + one,
        "funding_list": stack.url("funding") + page, "minimal_list": minimal + page, "gateway_list": stack.url() + page,
    }
    sizes = {"get_bytes": same_answer(token, targets["funding_get"], targets["minimal_get"]),
             "list_bytes": same_answer(token, targets["funding_list"], targets["minimal_list"])}
    for url in targets.values():  # token caches, pools and JWKS warm on every side before measuring
        run_wrk(url, token, seconds=1, connections=connections)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for number in range(rounds):
        if number:  # a fresh token, its first use unmeasured: each verifier checks it once, then caches it
            token = holder_token(stack)
            for url in targets.values():
                httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).raise_for_status()
        # Forward, then backward (A B C … C B A): a drift of the machine over the run hits every target alike.
        order = list(targets.items())
        for name, url in order if number % 2 == 0 else reversed(order):
            runs[name].append(measured(url, token, pids, seconds=seconds, connections=connections))
    figures = {
        "get_dossier": compared(runs["funding_get"], runs["minimal_get"], name="rps", baseline_name="minimal_rps"),
        "list_dossiers": compared(runs["funding_list"], runs["minimal_list"], name="rps",
                                  baseline_name="minimal_rps"),
        "gateway_get_dossier": compared(runs["gateway_get"], runs["funding_get"], name="rps",
                                        baseline_name="direct_rps", processes=("gateway", "funding"),
                                        baseline_processes=("funding",)),
        "gateway_list_dossiers": compared(runs["gateway_list"], runs["funding_list"], name="rps",
                                          baseline_name="direct_rps", processes=("gateway", "funding"),
                                          baseline_processes=("funding",)),
    }
    for key, baseline in (("gateway_get_dossier", "minimal_get"), ("gateway_list_dossiers", "minimal_list")):
        figures[key]["ratio_to_minimal"] = round(figures[key]["rps"] / rate(runs[baseline]), 3)
    figures["get_dossier"]["bytes"], figures["list_dossiers"]["bytes"] = sizes["get_bytes"], sizes["list_bytes"]
    return figures, runs


def ensure_database(url: str, *, drop: bool = False) -> None:
    """The bench's own PostgreSQL database, made afresh (or dropped, with `drop`)."""
    name = url.rsplit("/", 1)[1]
    engine = create_engine(sync_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def run_backend(backend: str, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    live_backend = BACKENDS[backend]
    with tempfile.TemporaryDirectory(prefix="desk-quick-") as folder:
        workdir = Path(folder)
        if live_backend == "postgres":
            ensure_database(args.postgres_url)
            drop_schemas(args.postgres_url, [f"live_{s}" for s in ("identity", "projects", "funding")])
        env, ports = live_environment(live_backend, workdir, args.postgres_url, fast_passwords=False)
        for module in ("scripts.migrate", "scripts.seed_demo"):
            run_module(module, env)
        stack = launch_stack(env, ports, workdir)
        try:
            with minimal_server(env) as (minimal_url, minimal_pid):
                pids = process_pids(stack) | {"minimal": minimal_pid}
                print(f"{backend}: desk and minimal app up; {args.drafts} drafts, then their submissions", flush=True)
                made, ids = submissions(stack, pids, args.drafts, args.connections)
                print(f"{backend}: submitted; reads, {args.rounds} rounds of 6 targets × {args.seconds} s", flush=True)
                figures, runs = reads(stack, minimal_url, pids, ids[0], seconds=args.seconds, rounds=args.rounds,
                                      connections=args.connections)
        finally:
            stack.stop()
            if live_backend == "postgres":
                ensure_database(args.postgres_url, drop=True)
    figures["submissions"] = made
    figures["cpu_by_target"] = {name: cpu_us_per_request(rounds) for name, rounds in runs.items()}
    return figures, {"runs": runs, "submissions": made}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES,
                        help="a database of the bench's own: made at the start, dropped at the end")
    parser.add_argument("--seconds", type=int, default=3, help="each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds of every read target")
    parser.add_argument("--connections", type=int, default=32, help="wrk's connections, and the submitting clients")
    parser.add_argument("--drafts", type=int, default=200, help="dossiers submitted (drafted beforehand)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: `apt-get install -y wrk` (make bench does it)", file=sys.stderr)
        return 2
    backends = args.backends.split(",")
    if unknown := set(backends) - set(BACKENDS):
        parser.error(f"unknown backends {sorted(unknown)}")
    started = time.monotonic()
    results: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for backend in backends:
        results[backend], details[backend] = run_backend(backend, args)
        print(f"{backend} measured ({time.monotonic() - started:.0f} s so far)", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quick.json").write_text(json.dumps(
        {"figures": results, "details": details, "arguments": vars(args)}, indent=2))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
