"""GET /api/v1/dossiers/{id}, direct on funding and through the gateway, in the same run:
`python -m bench.gateway_vs_direct [--seconds 10] [--rounds 2] [--connections 32]`.

Starts the desk in a scratch folder (SQLite, real password cost), files and submits one dossier, then runs
wrk (32 connections, bounded time) alternately against funding and the gateway, and prints requests/s,
p50 and p99 for both, the ratio gateway/direct, and each server's resident memory.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from scripts import demo_data
from scripts.live_stack import LiveStack, start_live_stack

RESULTS = Path(__file__).resolve().parent / "results"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    number, unit = match.groups()
    return float(number) * UNITS[unit]


def _wrk_figure(pattern: str, output: str) -> str:
    """One figure of wrk's report; a report without it says so (rather than an AttributeError on None)."""
    found = re.search(pattern, output, re.M)
    if found is None:
        raise RuntimeError(f"no {pattern!r} in wrk's report:\n{output}")
    return found.group(1)


def run_wrk(url: str, token: str, *, seconds: int, connections: int) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
         "-H", f"Authorization: Bearer {token}", url],
        check=True, capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    rps = float(_wrk_figure(r"Requests/sec:\s+([\d.]+)", output))
    p50 = _ms(_wrk_figure(r"^\s*50%\s+(\S+)", output))
    p99 = _ms(_wrk_figure(r"^\s*99%\s+(\S+)", output))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses against {url}:\n{output}")
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99}


def file_a_dossier(stack: LiveStack) -> tuple[str, str]:
    """The holder's token and a submitted dossier, made through the API."""
    with httpx.Client(base_url=stack.url(), timeout=10) as client:
        login = client.post("/api/v1/auth/token", data={
            "grant_type": "password", "username": "presidence@blosne-avenir.example",
            "password": demo_data.DEMO_PASSWORD,
        })
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        project = client.post("/api/v1/projects", headers=auth, json={
            "title": "Aide aux devoirs", "summary": "Soutien scolaire", "qpv_codes": ["QN03505M"],
            "priorities": ["youth"], "start_date": "2027-01-05", "end_date": "2027-12-18",
            "target_public": "Collégiens", "total_cost_cents": 4_800_000,
        })
        project.raise_for_status()
        ville = str(demo_data.organisation("ville").id)
        client.put(f"/api/v1/projects/{project.json()['id']}/budget", headers=auth | {"If-Match": '"0"'}, json={
            "charges": [{"account_group": "64", "label": "Animation", "amount_cents": 4_800_000}],
            "income": [
                {"account_group": "74", "label": "Ville", "amount_cents": 1_500_000, "funder_id": ville},
                {"account_group": "75", "label": "Fonds propres", "amount_cents": 3_300_000},
            ],
        }).raise_for_status()
        dossier = client.post("/api/v1/dossiers", headers=auth, json={
            "programme_id": str(demo_data.PROGRAMME_ID), "project_id": project.json()["id"],
            "funding_plan": [{"funder_id": ville, "amount_cents": 1_500_000}],
        })
        dossier.raise_for_status()
        client.post(f"/api/v1/dossiers/{dossier.json()['id']}/submit", headers=auth).raise_for_status()
        return login.json()["access_token"], dossier.json()["id"]


def server_pids(stack: LiveStack) -> dict[str, int]:
    """The uvicorn children of run_stack, by the name of the server they run (read from their --port); the
    webhook worker serves no port and is left out."""
    pids = {}
    children = subprocess.run(["pgrep", "-P", str(stack.process.pid)], capture_output=True, text=True).stdout.split()
    for pid in children:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"--port" not in cmdline:
            continue
        port = int(cmdline[cmdline.index(b"--port") + 1])
        pids[next(n for n, p in stack.ports.items() if p == port)] = int(pid)
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_memory_mib(pids: dict[str, int]) -> dict[str, float]:
    memory = {}
    for name, pid in pids.items():
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        memory[name] = round(next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024, 1)
    return memory


def measured_run(url: str, token: str, pids: dict[str, int], *, seconds: int, connections: int) -> dict[str, float]:
    """One wrk run, plus the CPU each server spent per request during it (µs)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    figures = run_wrk(url, token, seconds=seconds, connections=connections)
    requests = figures["rps"] * seconds
    for name, pid in pids.items():
        figures[f"cpu_us_per_request_{name}"] = round((cpu_seconds(pid) - before[name]) / requests * 1e6, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="with --backend postgres: the database that gets live_* schemas")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: `apt-get install -y wrk` (make bench does it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as folder:
        stack = start_live_stack(args.backend, Path(folder), args.postgres_url, fast_passwords=False)
        try:
            token, dossier_id = file_a_dossier(stack)
            path = f"/api/v1/dossiers/{dossier_id}"
            targets = {"direct": stack.url("funding") + path, "gateway": stack.url() + path}
            pids = server_pids(stack)
            for url in targets.values():  # warm both paths (token caches, pools) before measuring
                run_wrk(url, token, seconds=2, connections=args.connections)
            runs: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
            for _ in range(args.rounds):  # alternated, so that drift on the machine hits both alike
                for name, url in targets.items():
                    runs[name].append(
                        measured_run(url, token, pids, seconds=args.seconds, connections=args.connections)
                    )
            memory = resident_memory_mib(pids)
        finally:
            stack.stop()
    summary = {
        name: {key: round(statistics.median(r[key] for r in results), 2) for key in results[0]}
        for name, results in runs.items()
    }
    ratio = round(summary["gateway"]["rps"] / summary["direct"]["rps"], 3)
    print(f"GET /api/v1/dossiers/{{id}} on {args.backend} — wrk, {args.connections} connections,"
          f" {args.rounds}×{args.seconds}s each, alternated (median of rounds)")
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, figures in summary.items():
        print(f"{name:10}{figures['rps']:>10.1f}{figures['p50_ms']:>10.2f}{figures['p99_ms']:>10.2f}")
    print(f"ratio gateway/direct (throughput): {ratio}  (aim ≥ 0.5)")
    print(
        "CPU per request through the gateway (µs): "
        + ", ".join(f"{n} {summary['gateway'][f'cpu_us_per_request_{n}']}" for n in ("gateway", "funding"))
        + f"; direct, funding {summary['direct']['cpu_us_per_request_funding']}"
    )
    print("resident memory after the load (MiB): " + ", ".join(f"{k} {v}" for k, v in sorted(memory.items())))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"gateway_vs_direct_{args.backend}.json").write_text(json.dumps(
        {"runs": runs, "summary": summary, "ratio": ratio, "memory_mib": memory}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
