"""The quick benchmark's pieces, without timing anything: the minimal app answers what funding answers (else its
figures would be the ceiling of another endpoint), the BENCH line is what the bench prints and what a reader
parses, and each process's CPU is read from the OS."""

import json
import os
from typing import Any

import httpx
import pytest

from bench import minimal_app, quick
from tests.support.stack import Api
from tests.support.world import CITY_INSTRUCTOR, DESK, HOLDER, World

DOSSIERS = "/api/v1/dossiers"


def minimal_api(world: World, email: str) -> Api:
    """The minimal app over the in-process funding's own database and token verifier, as `email`."""
    funding = world.stack.apps["funding"]
    app = minimal_app.create_app(funding.state.settings, database=funding.state.db, verifier=funding.state.verifier)
    api = Api(world.stack.portal, httpx.ASGITransport(app=app), "http://minimal.test")
    api.token = world.login(email)
    return api


def both(world: World, email: str, url: str, **params: Any) -> tuple[httpx.Response, httpx.Response]:
    real = world.as_("funding", email).get(url, params=params)
    minimal = minimal_api(world, email).get(url, params=params)
    assert real.status_code == minimal.status_code == 200, (real.text, minimal.text)
    return real, minimal


def test_the_minimal_app_answers_funding_s_body_for_a_submitted_dossier(world: World) -> None:
    dossier = world.submit(world.create_dossier())
    assert dossier["project_snapshot"] and dossier["funding_plan"]  # the heavy parts are there to compare
    for email in (HOLDER, DESK):
        real, minimal = both(world, email, f"{DOSSIERS}/{dossier['id']}")
        assert minimal.json() == real.json()
        assert minimal.headers["etag"] == real.headers["etag"]
        assert minimal.headers["content-type"] == real.headers["content-type"]


def test_the_minimal_app_answers_a_routed_funder_what_funding_does(world: World) -> None:
    routed = world.route(world.submit(world.create_dossier()))
    real, minimal = both(world, CITY_INSTRUCTOR, f"{DOSSIERS}/{routed['id']}")
    assert minimal.json() == real.json()
    listed_real, listed_minimal = both(world, CITY_INSTRUCTOR, DOSSIERS, limit=50)
    assert routed["id"] in {item["id"] for item in listed_real.json()["items"]}
    assert listed_minimal.json() == listed_real.json()


def test_the_minimal_app_pages_the_holder_s_dossiers_as_funding_does(world: World) -> None:
    world.submit(world.create_dossier())
    world.create_dossier()
    first_real, first_minimal = both(world, HOLDER, DOSSIERS, limit=1)
    assert first_real.json()["next_cursor"] is not None
    assert first_minimal.json() == first_real.json()
    cursor = first_real.json()["next_cursor"]
    second_real, second_minimal = both(world, HOLDER, DOSSIERS, limit=1, cursor=cursor)
    assert second_minimal.json() == second_real.json()
    whole_real, whole_minimal = both(world, HOLDER, DOSSIERS, limit=50)
    assert len(whole_real.json()["items"]) >= 2
    assert whole_minimal.json() == whole_real.json()


def test_the_minimal_app_refuses_what_funding_refuses(world: World) -> None:
    minimal = minimal_api(world, HOLDER)
    assert minimal.get(f"{DOSSIERS}/{'0' * 8}-0000-0000-0000-{'0' * 12}").status_code == 404
    assert minimal.get(DOSSIERS, token="not-a-token").status_code == 401
    assert minimal.get(DOSSIERS, params={"limit": 0}).status_code == 400


SAMPLE: dict[str, Any] = {
    "sqlite": {
        "get_dossier": {"rps": 900.5, "minimal_rps": 2000.0, "ratio": 0.45,
                        "cpu_us_per_request": {"funding": 1000.0, "minimal": 400.0}},
        "submissions": {"submitted": 20, "concurrency": 4, "seconds": 0.7, "errors": 0, "per_second": 30.0,
                        "cpu_ms_per_submission": {"gateway": 2.0, "funding": 10.0, "total": 12.0}},
    },
}


def test_the_bench_line_is_one_line_that_reads_back_as_the_figures() -> None:
    line = quick.bench_line(SAMPLE)
    assert line.startswith("BENCH {") and "\n" not in line
    assert quick.parse_bench_line(line) == SAMPLE
    with pytest.raises(ValueError):
        quick.parse_bench_line("get_dossier 900 req/s")


def test_the_report_ends_with_exactly_one_bench_line(capsys: pytest.CaptureFixture[str]) -> None:
    quick.report(SAMPLE)
    printed = capsys.readouterr().out.splitlines()
    assert [n for n, text in enumerate(printed) if text.startswith("BENCH ")] == [len(printed) - 1]
    assert quick.parse_bench_line(printed[-1]) == SAMPLE
    assert any("funding" in text and "1000.0" in text for text in printed[:-1])  # where the CPU went, per process


def test_the_ratios_are_read_against_the_baseline_of_the_same_run() -> None:
    rounds = [
        {"requests": 1000, "seconds": 2.0, "cpu_seconds": {"funding": 1.0, "minimal": 0.0}},
        {"requests": 3000, "seconds": 2.0, "cpu_seconds": {"funding": 2.0, "minimal": 0.0}},
    ]
    baseline = [
        {"requests": 4000, "seconds": 2.0, "cpu_seconds": {"funding": 0.0, "minimal": 1.0}},
        {"requests": 4000, "seconds": 2.0, "cpu_seconds": {"funding": 0.0, "minimal": 1.0}},
    ]
    figure = quick.compared(rounds, baseline, name="rps", baseline_name="minimal_rps")
    assert figure["rps"] == 1000.0  # the median of the rounds' rates
    assert figure["minimal_rps"] == 2000.0
    assert figure["ratio"] == 0.5
    # CPU per request: all the rounds' CPU over all their requests, per process, each side its own.
    assert figure["cpu_us_per_request"] == {"funding": 750.0, "minimal": 250.0}


def test_cpu_time_is_read_from_the_os_for_a_process() -> None:
    spent = quick.cpu_seconds(os.getpid())
    while quick.cpu_seconds(os.getpid()) == spent:  # a clock tick of this very process's work
        json.dumps(list(range(10_000)))
    assert quick.cpu_seconds(os.getpid()) > spent
