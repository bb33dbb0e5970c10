"""The desk at a country's scale, on PostgreSQL: `python -m bench.scale [--sizes 10000,1000000]`.

For each size, a country seeded by `scripts.seed_country` (100 territories, 2,000 funders, 50,000 associations and
that many dossiers over 5 years) in its own schemas of one database (kept between runs: a size already seeded is
reused, `--reseed` starts it again), then the desk started on it, as `make run` starts it, and measured:

- the funder dashboard (the demo city's, a past year) and the territory dashboard (the demo contrat de ville,
  by its EPCI) through the gateway: p50 and p95 of sequential calls, and the ratio between the sizes (aims:
  p95 under 150 ms at the largest size, the ratio under 2);
- a funder's pages (the demo city's, through the gateway, 50 a page): of its agreements and of its dossiers
  (GET /agreements, GET /dossiers), the first page and a deep one (the cursor 90 % of the way through its list,
  or on a short list the deepest that gives a whole page; found by walking it), p50 and p95 of sequential calls
  and the ratio between the sizes (aim: a page costs the same whatever the funder's number of rows, the ratio
  under 2);
- at the largest size: paging through 100,000 dossiers via the gateway, one client following the cursors, in
  the summary view a syncing partner uses (aim: over 5,000 dossiers/s), and 20,000 in the full view;
  submissions through the gateway, concurrent clients submitting dossiers drafted beforehand (each on its own
  project and budget), each submission freezing the project, its budget and the association's documents
  through the other services (aim: over 200 per second, no error); the gateway's pass-through on
  GET /dossiers/{id} against funding direct (throughput at 32 connections, aim ≥ 0.8; latency at 1 connection,
  aim: p99 overhead < 5 ms).

Figures are printed and written to bench/results/scale.json.
"""

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import create_engine, text

from bench.gateway_vs_direct import RESULTS, cpu_seconds, run_wrk, server_pids
from common.db import sync_url
from scripts import demo_data
from scripts.live_stack import LiveStack, drop_schemas, launch_stack, live_environment, run_module

DESK = "coordination@guichet-rennes.example"
CITY_MANAGER = "direction@ville-rennes.example"
HOLDER = "presidence@blosne-avenir.example"
TERRITORY_EPCI = "Rennes Métropole"  # the demo contrat de ville: territory 1 of the seeded country
SEED_TIMEOUT_SECONDS = 30 * 60
FUNDER_PAGES = ("agreements_first", "agreements_deep", "dossiers_first", "dossiers_deep")
PARTS = ("dashboards", "funder_pages", "paging", "pass_through", "submissions")
FUNDER_PAGE = 50


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the ⌈p·n⌉-th of the sorted values."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def login(client: httpx.Client, email: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": email, "password": demo_data.DEMO_PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def schemas_of(prefix: str) -> list[str]:
    return [f"{prefix}_{service}" for service in ("identity", "projects", "funding")]


def seeded_dossiers(url: str, prefix: str) -> int:
    """How many dossiers the size's funding schema holds (0 when it does not exist yet)."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            exists = connection.execute(text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = 'dossiers'"),
                {"s": f"{prefix}_funding"}).first()
            if exists is None:
                return 0
            return connection.execute(text(f'SELECT count(*) FROM "{prefix}_funding".dossiers')).scalar_one()
    finally:
        engine.dispose()


def prepare(size: int, url: str, workdir: Path, *, reseed: bool) -> tuple[dict[str, str], dict[str, int], dict]:
    """The size's schemas migrated and seeded (reused when already there), and the desk's environment."""
    prefix = f"scale{size}"
    env, ports = live_environment("postgres", workdir, url, fast_passwords=False, schema_prefix=prefix)
    seeding: dict[str, Any] = {"reused": True}
    if not reseed and seeded_dossiers(url, prefix) >= size:
        run_module("scripts.migrate", env, timeout=SEED_TIMEOUT_SECONDS)  # kept schemas follow the code's migrations
    else:
        drop_schemas(url, schemas_of(prefix))
        run_module("scripts.migrate", env)
        run_module("scripts.seed_demo", env)
        started = time.perf_counter()
        output = run_module("scripts.seed_country", env, "--dossiers", str(size), timeout=SEED_TIMEOUT_SECONDS)
        seeding = {"reused": False, "seconds": round(time.perf_counter() - started, 1), "output": output}
        print(output, end="")
        print(f"seeded {size:,} dossiers in {seeding['seconds']} s")
    seeding["dossiers"] = seeded_dossiers(url, prefix)
    return env, ports, seeding


def latencies(call: Callable[[], httpx.Response], *, warmup: int, count: int) -> dict[str, Any]:
    for _ in range(warmup):
        call().raise_for_status()
    spent = []
    for _ in range(count):
        started = time.perf_counter()
        call().raise_for_status()
        spent.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(percentile(spent, 0.5), 2), "p95_ms": round(percentile(spent, 0.95), 2),
            "calls": count}


def dashboards(stack: LiveStack, year: int, calls: int) -> dict[str, Any]:
    with httpx.Client(base_url=stack.url(), timeout=30) as client:
        city, desk = login(client, CITY_MANAGER), login(client, DESK)
        funder = lambda: client.get("/api/v1/dashboards/funder", params={"year": year}, headers=city)  # noqa: E731
        territory = lambda: client.get(  # noqa: E731
            "/api/v1/dashboards/territory", params={"year": year, "epci": TERRITORY_EPCI}, headers=desk)
        # What the dashboards add up, so that the figures are read against the work done.
        seen_funder = funder().json()["figures"]
        seen_territory = territory().json()
        volume = {
            "funder_dossiers_routed": sum(seen_funder["dossiers_by_state"].values()),
            "territory_qpvs": len(seen_territory["scope"]["qpv_codes"]),
            "territory_grants": seen_territory["figures"]["grants"],
            "territory_dossiers": sum(seen_territory["figures"]["dossiers_by_state"].values()),
        }
        return {"funder": latencies(funder, warmup=10, count=calls),
                "territory": latencies(territory, warmup=10, count=calls), "volume": volume}


def walk(client: httpx.Client, path: str, headers: dict[str, str], rows: float) -> tuple[int, str | None]:
    """`rows` rows of the list read from its start, by pages of 200 at most: how many it read, and the cursor of
    the row after them (None at the list's end)."""
    read, cursor = 0, None
    while read < rows:
        answer = client.get(path, headers=headers, params={
            "limit": int(min(200, rows - read)), **({"cursor": cursor} if cursor else {})})
        answer.raise_for_status()
        page = answer.json()
        read += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return read, cursor


def deep_cursor(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[int, str | None]:
    """The list's length, and the cursor 90 % of the way through it — or, on a short list, the deepest one that
    still gives a whole page (None when the list fits one page)."""
    total, _ = walk(client, path, headers, math.inf)
    depth = min(int(0.9 * total), total - FUNDER_PAGE)
    return total, walk(client, path, headers, depth)[1] if depth > 0 else None


def funder_pages(stack: LiveStack, calls: int) -> dict[str, Any]:
    """The demo city's first and deep pages of its agreements and of its dossiers (the full view)."""
    figures: dict[str, Any] = {"volume": {}}
    with httpx.Client(base_url=stack.url(), timeout=60) as client:
        city = login(client, CITY_MANAGER)
        for name, path in (("agreements", "/api/v1/agreements"), ("dossiers", "/api/v1/dossiers")):
            total, deep = deep_cursor(client, path, city)
            figures["volume"][f"funder_{name}"] = total
            for depth, cursor in (("first", None), ("deep", deep)):
                params: dict[str, Any] = {"limit": FUNDER_PAGE, **({"cursor": cursor} if cursor else {})}

                def call(path: str = path, params: dict[str, Any] = params) -> httpx.Response:
                    return client.get(path, params=params, headers=city)

                figures[f"{name}_{depth}"] = latencies(call, warmup=10, count=calls)
    return figures


def paging(stack: LiveStack, dossiers: int, view: str) -> dict[str, Any]:
    """The desk walks the dossiers by cursor, 200 a page, from the oldest."""
    with httpx.Client(base_url=stack.url(), timeout=60) as client:
        desk = login(client, DESK)
        read, cursor, pages, size = 0, None, 0, 0
        started = time.perf_counter()
        while read < dossiers:
            answer = client.get("/api/v1/dossiers", headers=desk, params={
                "limit": 200, "view": view, **({"cursor": cursor} if cursor else {})})
            answer.raise_for_status()
            page = answer.json()
            size += len(answer.content)
            read += len(page["items"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        seconds = time.perf_counter() - started
    return {"view": view, "dossiers": read, "pages": pages, "seconds": round(seconds, 2),
            "dossiers_per_second": round(read / seconds, 1), "bytes_per_dossier": round(size / max(read, 1))}


def _drafts(stack: LiveStack, count: int) -> tuple[dict[str, str], list[str]]:
    """Draft dossiers, each on its own project with a balanced budget, made before the clock starts."""
    ville = str(demo_data.organisation("ville").id)
    ids = []
    with httpx.Client(base_url=stack.url(), timeout=30) as client:
        holder = login(client, HOLDER)
        for number in range(count):
            project = client.post("/api/v1/projects", headers=holder, json={
                "title": f"Atelier {number}", "summary": "Soutien scolaire", "qpv_codes": ["QN03505M"],
                "priorities": ["youth"], "start_date": "2027-01-05", "end_date": "2027-12-18",
                "target_public": "Collégiens", "total_cost_cents": 4_800_000})
            project.raise_for_status()
            client.put(f"/api/v1/projects/{project.json()['id']}/budget", headers=holder | {"If-Match": '"0"'}, json={
                "charges": [{"account_group": "64", "label": "Animation", "amount_cents": 4_800_000}],
                "income": [{"account_group": "74", "label": "Ville", "amount_cents": 1_500_000, "funder_id": ville},
                           {"account_group": "75", "label": "Fonds propres", "amount_cents": 3_300_000}],
            }).raise_for_status()
            dossier = client.post("/api/v1/dossiers", headers=holder, json={
                "programme_id": str(demo_data.PROGRAMME_ID), "project_id": project.json()["id"],
                "funding_plan": [{"funder_id": ville, "amount_cents": 1_500_000}]})
            dossier.raise_for_status()
            ids.append(dossier.json()["id"])
    return holder, ids


async def _submit_all(base_url: str, holder: dict[str, str], ids: list[str], concurrency: int) -> dict[str, Any]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for dossier_id in ids:
        queue.put_nowait(dossier_id)
    statuses: dict[int, int] = {}
    finished_at: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, headers=holder, connector=connector) as session:
        started = time.perf_counter()

        async def worker() -> None:
            while not queue.empty():
                dossier_id = queue.get_nowait()
                async with session.post(f"/api/v1/dossiers/{dossier_id}/submit") as answer:
                    await answer.read()
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1
                finished_at.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = max(finished_at)
    per_second = [sum(1 for t in finished_at if second <= t < second + 1) for second in range(int(seconds))]
    return {"submitted": len(ids), "concurrency": concurrency, "seconds": round(seconds, 2),
            "per_second": round(len(ids) / seconds, 1), "statuses": statuses,
            "slowest_whole_second": min(per_second) if per_second else None, "each_second": per_second}


def submissions(stack: LiveStack, count: int, concurrency: int) -> dict[str, Any]:
    """Also the CPU each server spent per submission: what bounds the rate on this machine's two cores."""
    holder, ids = _drafts(stack, count)
    pids = server_pids(stack)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    figures = asyncio.run(_submit_all(stack.url(), holder, ids, concurrency))
    figures["cpu_ms_per_submission"] = {
        name: round((cpu_seconds(pid) - before[name]) / count * 1000, 2) for name, pid in pids.items()}
    return figures


def pass_through(stack: LiveStack, seconds: int) -> dict[str, Any]:
    """GET /dossiers/{id} (a seeded one) on funding and through the gateway: throughput under load (32
    connections, alternated twice) and latency unloaded (1 connection)."""
    with httpx.Client(base_url=stack.url(), timeout=30) as client:
        desk = login(client, DESK)
        dossier_id = client.get("/api/v1/dossiers", params={"limit": 1}, headers=desk).json()["items"][0]["id"]
    token = desk["Authorization"].removeprefix("Bearer ")
    path = f"/api/v1/dossiers/{dossier_id}"
    targets = {"direct": stack.url("funding") + path, "gateway": stack.url() + path}
    assert server_pids(stack)  # the servers are up (and run_wrk fails on any non-2xx answer)
    figures: dict[str, dict[str, list[dict[str, float]]]] = {"loaded": {"direct": [], "gateway": []},
                                                             "unloaded": {"direct": [], "gateway": []}}
    for url in targets.values():
        run_wrk(url, token, seconds=2, connections=32)
    for _ in range(2):
        for name, url in targets.items():
            figures["loaded"][name].append(run_wrk(url, token, seconds=seconds, connections=32))
            figures["unloaded"][name].append(run_wrk(url, token, seconds=seconds, connections=1))
    median = {load: {name: {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
                     for name, runs in by_name.items()} for load, by_name in figures.items()}
    return {
        "loaded": median["loaded"], "unloaded": median["unloaded"],
        "throughput_ratio": round(median["loaded"]["gateway"]["rps"] / median["loaded"]["direct"]["rps"], 3),
        "p50_overhead_ms_unloaded": round(
            median["unloaded"]["gateway"]["p50_ms"] - median["unloaded"]["direct"]["p50_ms"], 2),
        "p99_overhead_ms_unloaded": round(
            median["unloaded"]["gateway"]["p99_ms"] - median["unloaded"]["direct"]["p99_ms"], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="dossiers, comma-separated, smallest first")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/bench_scale",
                        help="the database that keeps each size's schemas (created when missing)")
    parser.add_argument("--reseed", action="store_true", help="seed every size again")
    parser.add_argument("--year", type=int, default=2025, help="the dashboards' year (a past, decided one)")
    parser.add_argument("--calls", type=int, default=200, help="sequential calls per dashboard")
    parser.add_argument("--page-through", type=int, default=100_000)
    parser.add_argument("--submissions", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run of the pass-through")
    parser.add_argument("--parts", default=",".join(PARTS), help="which measures, comma-separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    ensure_database(args.postgres_url)
    results: dict[str, Any] = {"sizes": {}}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="desk-scale-") as folder:
            env, ports, seeding = prepare(size, args.postgres_url, Path(folder), reseed=args.reseed)
            stack = launch_stack(env, ports, Path(folder))
            try:
                figures: dict[str, Any] = {"seeding": {k: v for k, v in seeding.items() if k != "output"}}
                parts = args.parts.split(",")
                if "dashboards" in parts:
                    figures["dashboards"] = dashboards(stack, args.year, args.calls)
                if "funder_pages" in parts:
                    figures["funder_pages"] = funder_pages(stack, args.calls)
                if size == sizes[-1]:  # the rest at the largest size only
                    if "paging" in parts:
                        figures["paging"] = paging(stack, args.page_through, "summary")
                        figures["paging_full"] = paging(stack, args.page_through // 5, "full")
                    if "pass_through" in parts:
                        figures["pass_through"] = pass_through(stack, args.seconds)
                    if "submissions" in parts:
                        figures["submissions"] = submissions(stack, args.submissions, args.concurrency)
            finally:
                stack.stop()
        results["sizes"][size] = figures
        report_size(size, figures)
    if len(sizes) > 1 and all("dashboards" in results["sizes"][s] for s in sizes):
        small, large = (results["sizes"][s]["dashboards"] for s in (sizes[0], sizes[-1]))
        results["ratios_p95"] = {name: round(large[name]["p95_ms"] / small[name]["p95_ms"], 2)
                                 for name in ("funder", "territory")}
        print(f"p95 ratio {sizes[-1]:,} / {sizes[0]:,} dossiers (aim < 2): "
              + ", ".join(f"{k} {v}" for k, v in results["ratios_p95"].items()))
    if len(sizes) > 1 and all("funder_pages" in results["sizes"][s] for s in sizes):
        small, large = (results["sizes"][s]["funder_pages"] for s in (sizes[0], sizes[-1]))
        results["funder_pages_ratios_p95"] = {name: round(large[name]["p95_ms"] / small[name]["p95_ms"], 2)
                                              for name in FUNDER_PAGES}
        print(f"funder pages, p95 ratio {sizes[-1]:,} / {sizes[0]:,} dossiers (aim < 2): "
              + ", ".join(f"{k} {v}" for k, v in results["funder_pages_ratios_p95"].items()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2))
    return 0


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(sync_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def report_size(size: int, figures: dict[str, Any]) -> None:
    seeding = figures["seeding"]
    print(f"\n== {size:,} dossiers ({seeding['dossiers']:,} in the database"
          + (", reused)" if seeding["reused"] else f", seeded in {seeding['seconds']} s)"))
    boards = figures.get("dashboards")
    if boards:
        for name in ("funder", "territory"):
            print(f"{name} dashboard: p50 {boards[name]['p50_ms']} ms, p95 {boards[name]['p95_ms']} ms "
                  f"({boards[name]['calls']} sequential calls; aim p95 < 150 ms)")
        print("what they add up: " + ", ".join(f"{k} {v:,}" for k, v in boards["volume"].items()))
    pages = figures.get("funder_pages")
    if pages:
        for name in FUNDER_PAGES:
            seen = pages[name]
            print(f"funder's {name.replace('_', ' ')} page: p50 {seen['p50_ms']} ms, p95 {seen['p95_ms']} ms "
                  f"({seen['calls']} sequential calls of {FUNDER_PAGE})")
        print("what they page through: " + ", ".join(f"{k} {v:,}" for k, v in pages["volume"].items()))
    for key in ("paging", "paging_full"):
        if key in figures:
            paged = figures[key]
            print(f"paging via the gateway, view={paged['view']}: {paged['dossiers']:,} dossiers in "
                  f"{paged['seconds']} s = {paged['dossiers_per_second']:,} dossiers/s ({paged['pages']} pages of 200, "
                  f"{paged['bytes_per_dossier']:,} bytes a dossier; aim > 5,000/s)")
    if "pass_through" in figures:
        through = figures["pass_through"]
        loaded, unloaded = through["loaded"], through["unloaded"]
        print(f"pass-through GET /dossiers/{{id}}: 32 connections direct {loaded['direct']['rps']} req/s, gateway "
              f"{loaded['gateway']['rps']} req/s, ratio {through['throughput_ratio']} (aim ≥ 0.8); 1 connection: p50 "
              f"direct {unloaded['direct']['p50_ms']} ms, gateway {unloaded['gateway']['p50_ms']} ms (overhead "
              f"{through['p50_overhead_ms_unloaded']} ms), p99 direct {unloaded['direct']['p99_ms']} ms, gateway "
              f"{unloaded['gateway']['p99_ms']} ms (overhead {through['p99_overhead_ms_unloaded']} ms; aim < 5 ms)")
    if "submissions" in figures:
        made = figures["submissions"]
        print(f"submissions via the gateway: {made['submitted']:,} in {made['seconds']} s = {made['per_second']}/s "
              f"with {made['concurrency']} clients, slowest whole second {made['slowest_whole_second']}, "
              f"answers {made['statuses']} (aim > 200/s, no error); CPU per submission (ms): "
              + ", ".join(f"{k} {v}" for k, v in sorted(made["cpu_ms_per_submission"].items())))


if __name__ == "__main__":
    sys.exit(main())
