"""The seeded country, on PostgreSQL: `scripts.seed_country` writes a small country into schemas of its own, on top
of the demo; the desk started on them (as `make run` starts it) reads every seeded row back through the gateway,
the way the scale benchmarks do."""

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from common.db import sync_url
from scripts import demo_data
from scripts.country.ids import Registry
from scripts.live_stack import REPO, LiveStack, drop_schemas, launch_stack, live_environment, run_module
from services.funding.dossiers.repository import tags_of
from services.funding.tests.scdl_validation import scdl_problems
from services.identifiers import LA_POSTE_SIREN, is_valid_siren, is_valid_siret
from tests.support.clock import TEST_NOW
from tests.support.world import CITY_MANAGER, DESK, HOLDER

PREFIX = "country_test"  # apart from the suite's schemas and the shared live desk's (live_*)
SCHEMAS = {service: f"{PREFIX}_{service}" for service in ("identity", "projects", "funding")}
COUNTRY = ("--dossiers", "400", "--territories", "3", "--funders", "60", "--associations", "150")
LAST_YEAR = TEST_NOW.year


@dataclass
class Country:
    stack: LiveStack
    env: dict[str, str]
    url: str
    output: str

    def seeded(self, table: str) -> int:
        """A table's rows as the seed reported them."""
        found = re.search(rf"funding\.{table}\s+([\d,]+)", self.output)
        assert found, self.output
        return int(found.group(1).replace(",", ""))

    def sql(self, statement: str, **params: Any) -> list[Any]:
        engine = create_engine(sync_url(self.url))
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(statement), params))
        finally:
            engine.dispose()


def seed_country(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scripts.seed_country", *COUNTRY, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


# One worker runs the whole module under pytest-xdist (tests/support/xdist_groups.py): the country is seeded once.
@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Country]:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_POSTGRES_URL is not set: the seeded country cannot be skipped")
        pytest.skip("the country is seeded into PostgreSQL only: set TEST_POSTGRES_URL")
    workdir = tmp_path_factory.mktemp("country")
    drop_schemas(url, list(SCHEMAS.values()))
    env, ports = live_environment("postgres", workdir, url, fast_passwords=True, schema_prefix=PREFIX, now=TEST_NOW)
    run_module("scripts.migrate", env)
    run_module("scripts.seed_demo", env)
    seeded = seed_country(env, "--last-year", str(LAST_YEAR))
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    stack = launch_stack(env, ports, workdir)
    try:
        yield Country(stack=stack, env=env, url=url, output=seeded.stdout)
    finally:
        stack.stop()
        drop_schemas(url, list(SCHEMAS.values()))


@pytest.fixture(scope="module")
def desk(country: Country) -> Iterator["Gateway"]:
    with httpx.Client(base_url=country.stack.url(), timeout=30) as client:
        yield Gateway(client)


class Gateway:
    def __init__(self, client: httpx.Client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def get(self, user: str, url: str, **params: Any) -> Any:
        if user not in self.tokens:
            answer = self.client.post("/api/v1/auth/token", data={
                "grant_type": "password", "username": user, "password": demo_data.DEMO_PASSWORD})
            assert answer.status_code == 200, answer.text
            self.tokens[user] = answer.json()["access_token"]
        answer = self.client.get(url, params=params, headers={"Authorization": f"Bearer {self.tokens[user]}"})
        assert answer.status_code == 200, f"GET {url}: {answer.status_code} {answer.text[:500]}"
        return answer.json() if answer.headers["content-type"].startswith("application/json") else answer.text

    def every(self, user: str, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, page after page by its cursor."""
        items, cursor = [], None
        while True:
            page = self.get(user, url, limit=200, **params, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


def test_the_desk_pages_through_every_dossier(country: Country, desk: Gateway) -> None:
    listed = desk.every(DESK, "/api/v1/dossiers")
    assert len({d["id"] for d in listed}) == len(listed) == country.seeded("dossiers")
    assert country.sql(f"SELECT count(*) FROM {SCHEMAS['funding']}.dossiers")[0][0] == len(listed)
    states = Counter(d["state"] for d in listed)
    assert states["decided"] > len(listed) / 2, states  # past years are decided, the current one runs
    assert {"draft", "submitted", "in_instruction", "withdrawn", "inadmissible"} & set(states), states
    for dossier in listed:
        assert re.fullmatch(r"GU-\d{4}-\d{6}", dossier["reference"])
        if dossier["submitted_at"] and dossier["decided_at"]:
            days = (date.fromisoformat(dossier["decided_at"][:10]) - date.fromisoformat(dossier["submitted_at"][:10]))
            assert 0 <= days.days <= 125, dossier["reference"]


def test_each_kind_of_seeded_dossier_reads_back(country: Country, desk: Gateway) -> None:
    listed = desk.every(DESK, "/api/v1/dossiers")
    samples = {(d["state"], d["outcome"], d["cpo_state"]): d for d in listed}
    for (state, outcome, cpo_state), listed_dossier in samples.items():
        url = f"/api/v1/dossiers/{listed_dossier['id']}"
        dossier = desk.get(DESK, url)
        assert dossier["state"] == state and dossier["version"] == len(desk.get(DESK, f"{url}/history"))
        assert desk.get(DESK, f"{url}/overview")["dossier"]["reference"] == dossier["reference"]
        if dossier["submitted_at"]:
            assert dossier["project_snapshot"]["id"] == dossier["project_id"]
            assert dossier["organisation_snapshot"]["filled_in"]
        if outcome in ("accepted", "partially_accepted"):
            agreements = desk.get(DESK, "/api/v1/agreements", dossier_id=dossier["id"])["items"]
            assert agreements and all(a["reference"] == dossier["reference"] for a in agreements)
        if cpo_state:
            assert desk.get(DESK, f"{url}/cpo")["state"] == cpo_state


def test_the_tags_are_those_a_submission_writes(country: Country) -> None:
    funding = SCHEMAS["funding"]
    stored: dict[Any, set] = {}
    for dossier_id, kind, value, year in country.sql(
            f"SELECT dossier_id, kind, value, year FROM {funding}.dossier_tags"):
        stored.setdefault(dossier_id, set()).add((kind, value, year))
    rows = country.sql(f"SELECT d.id, p.year, d.project_snapshot, d.association_budget_snapshot "
                       f"FROM {funding}.dossiers d JOIN {funding}.programmes p ON p.id = d.programme_id "
                       "WHERE d.submitted_at IS NOT NULL")
    assert rows
    for dossier_id, year, project, association_budget in rows:
        expected = {(tag.kind, tag.value, tag.year) for tag in tags_of(dossier_id, year, project, association_budget)}
        assert stored.get(dossier_id, set()) == expected


def test_the_city_envelopes_hold_what_it_granted(country: Country, desk: Gateway) -> None:
    year = LAST_YEAR - 1
    figures = desk.get(CITY_MANAGER, "/api/v1/stats/funder", year=year)
    grants = desk.every(CITY_MANAGER, "/api/v1/grants", year=year)
    assert grants and all(g["funder_id"] == str(demo_data.organisation("ville").id) for g in grants)
    granted: Counter = Counter()
    for grant in grants:
        granted[grant["programme_id"]] += grant["amount_cents"]
    committed = {e["programme_id"]: e["committed_cents"] for e in figures["envelopes"] if e["committed_cents"]}
    assert committed == dict(granted)
    assert all(e["paid_cents"] <= e["committed_cents"] <= e["total_cents"] for e in figures["envelopes"])
    # The dashboard counts what the city gives in the year: each grant's amount for that year, a CPO's of any
    # programme year included.
    given = sum(y["amount_cents"] for g in desk.every(CITY_MANAGER, "/api/v1/grants") for y in g["years"]
                if y["year"] == year and y["state"] != "cancelled")
    board = desk.get(CITY_MANAGER, "/api/v1/dashboards/funder", year=year)
    assert board["figures"]["leverage"]["granted_cents"] == given


def test_the_city_open_data_publishes_its_notified_grants_valid_by_the_official_validator(
    country: Country, desk: Gateway
) -> None:
    """The seed writes each notified grant's open-data rows as the desk does at the notification: the city's file
    of a seeded year is valid by validata-core and publishes exactly its letters sent and its conventions signed by
    both sides, one row per year of each grant."""
    year, funding, city = LAST_YEAR - 1, SCHEMAS["funding"], demo_data.organisation("ville").id
    answer = desk.client.get("/api/v1/exports/scdl", params={"funder": str(city), "year": year})
    assert answer.status_code == 200, answer.text
    assert scdl_problems(answer.text) == []
    published = Counter(row["referenceDecision"] for row in csv.DictReader(io.StringIO(answer.text)))
    notified = country.sql(f"""
        SELECT a.number, a.terms FROM {funding}.agreements a JOIN {funding}.grants g ON g.id = a.grant_id
        WHERE a.funder_id = '{city}' AND (
            (a.kind = 'decision_letter' AND a.sent_at IS NOT NULL)
            OR (a.kind = 'convention' AND a.funder_signed_at IS NOT NULL AND a.holder_signed_at IS NOT NULL))""")
    years = {number: {entry["year"] for entry in (terms if isinstance(terms, dict) else json.loads(terms))["years"]
                      if entry["amount_cents"] > 0} for number, terms in notified}
    expected = Counter(number for number, of in years.items() if year in of)
    assert published and published == expected


def test_the_demo_contrat_de_ville_is_territory_one(country: Country, desk: Gateway) -> None:
    """The benchmarks read the demo's territory by its EPCI: the demo QPVs and the seeded ones are together."""
    board = desk.get(DESK, "/api/v1/dashboards/territory", year=LAST_YEAR - 1, epci="Rennes Métropole")
    assert {"QN03504M", "QN03505M"} <= set(board["scope"]["qpv_codes"])
    assert board["figures"]["grants"] and sum(board["figures"]["dossiers_by_state"].values())


def test_the_seeded_qpvs_are_real_ones_with_their_communes(country: Country, desk: Gateway) -> None:
    """Every QPV of the country is in the 2024 national list, with its communes as the list has them, so that a
    commune finds the seeded ones too."""
    with (REPO / "migrations/projects/data/qpv_2024_codes.csv").open(encoding="utf-8", newline="") as handle:
        national = {row["code_qp"]: row["insee_com"] for row in csv.DictReader(handle, delimiter=";")}
    projects = SCHEMAS["projects"]
    stored = country.sql(f"""SELECT q.code, string_agg(c.insee_code, '; ' ORDER BY c.position)
                             FROM {projects}.qpv q LEFT JOIN {projects}.qpv_communes c ON c.qpv_code = q.code
                             GROUP BY q.code""")
    assert len(stored) > 20  # the sample's and the seeded ones
    assert {code: communes for code, communes in stored} == {code: national[code] for code, _ in stored}
    nantes = desk.get(DESK, "/api/v1/referential/qpv", insee_commune="44109")["items"]
    assert len(nantes) > 3 and all("44109" in national[q["code"]] for q in nantes)


def test_the_lives_hold_together(country: Country) -> None:
    """What the API would have written in order: each trail a chain of states ending in the dossier's, committee
    decisions 20 to 120 days after the complete file, nothing after today, instalments adding up to their grant,
    nothing paid before its agreement is in force, no overdue report with a later dossier to that funder."""
    funding = SCHEMAS["funding"]
    checks = {
        "trail": f"""SELECT count(*) FROM (SELECT d.state, h.to_state, h.from_state,
                         lag(h.to_state) OVER (PARTITION BY h.dossier_id ORDER BY h.at) AS before,
                         row_number() OVER (PARTITION BY h.dossier_id ORDER BY h.at DESC) AS back
                     FROM {funding}.dossier_history h JOIN {funding}.dossiers d ON d.id = h.dossier_id) t
                     WHERE from_state IS DISTINCT FROM before OR (back = 1 AND to_state <> state)""",
        "delays": f"""SELECT count(*) FROM {funding}.dossiers d JOIN {funding}.programmes p ON p.id = d.programme_id
                      WHERE p.track <> 'small' AND d.decided_at - d.submitted_at NOT BETWEEN interval '20 days'
                      AND interval '120 days'""",
        "future": f"""SELECT count(*) FROM {funding}.dossiers WHERE greatest(updated_at, decided_at) > now()""",
        "instalments": f"""SELECT count(*) FROM {funding}.grants g WHERE amount_cents <>
                           (SELECT sum(amount_cents) FROM {funding}.payments p WHERE p.grant_id = g.id)""",
        "paid early": f"""SELECT count(*) FROM {funding}.payments p JOIN {funding}.agreements a
                          ON a.id = p.agreement_id WHERE p.state = 'paid' AND NOT p.paid_at > a.activated_at""",
        "overdue": f"""SELECT count(*) FROM {funding}.financial_reports r WHERE r.state IN ('expected', 'draft')
                       AND r.due_on < current_date AND EXISTS (SELECT 1 FROM {funding}.dossiers d
                           JOIN {funding}.funding_lines l ON l.dossier_id = d.id AND l.funder_id = r.funder_id
                           WHERE d.organisation_id = r.organisation_id AND d.submitted_at::date > r.due_on)
                       AND EXISTS (SELECT 1 FROM {funding}.payments p WHERE p.grant_id = r.grant_id
                                   AND p.state = 'paid')""",
    }
    assert {name: country.sql(statement)[0][0] for name, statement in checks.items()} == dict.fromkeys(checks, 0)


def test_every_envelope_ledger_adds_up(country: Country) -> None:
    funding = SCHEMAS["funding"]
    wrong = country.sql(f"""
        SELECT e.id FROM {funding}.envelopes e
        LEFT JOIN (SELECT funder_id, programme_id, sum(amount_cents) AS granted FROM {funding}.grants
                   GROUP BY 1, 2) g ON g.funder_id = e.funder_id AND g.programme_id = e.programme_id
        LEFT JOIN (SELECT funder_id, programme_id, sum(amount_cents) AS paid FROM {funding}.payments
                   WHERE state = 'paid' GROUP BY 1, 2) p
               ON p.funder_id = e.funder_id AND p.programme_id = e.programme_id
        LEFT JOIN (SELECT envelope_id, max(sequence) AS last,
                          sum(amount_cents) FILTER (WHERE kind = 'committed') AS committed
                   FROM {funding}.envelope_movements GROUP BY 1) m ON m.envelope_id = e.id
        WHERE e.committed_cents <> coalesce(g.granted, 0) OR e.paid_cents <> coalesce(p.paid, 0)
           OR e.version <> m.last OR e.committed_cents <> coalesce(m.committed, 0)""")
    assert wrong == []


def test_the_demo_association_reads_its_seeded_projects(country: Country, desk: Gateway) -> None:
    mine = desk.every(HOLDER, "/api/v1/dossiers")
    assert len(mine) >= 10  # about four a year
    for dossier in mine:
        project = desk.get(HOLDER, f"/api/v1/projects/{dossier['project_id']}")
        if dossier["project_snapshot"]:
            assert project["qpv_codes"] == dossier["project_snapshot"]["qpv_codes"]
    budget = desk.get(HOLDER, f"/api/v1/projects/{mine[0]['project_id']}/budget")
    assert budget["balanced"] and budget["issues"] == []


def test_closed_sessions_have_their_minutes(country: Country, desk: Gateway) -> None:
    sessions = desk.every(DESK, "/api/v1/sessions")
    closed = [s for s in sessions if s["state"] == "closed"]
    assert closed
    for session in closed[:5]:
        full = desk.get(DESK, f"/api/v1/sessions/{session['id']}")
        minutes = desk.get(DESK, f"/api/v1/sessions/{session['id']}/minutes")
        assert [i["dossier_id"] for i in minutes["items"]] == [i["dossier_id"] for i in full["items"]]


def test_payments_and_reports_read_back(country: Country, desk: Gateway) -> None:
    payments = desk.every(CITY_MANAGER, "/api/v1/payments")
    assert {"paid"} <= {p["state"] for p in payments}
    reports = desk.every(DESK, "/api/v1/financial-reports")
    assert {"accepted"} <= {r["state"] for r in reports}
    desk.every(DESK, "/api/v1/financial-reports", overdue="true")
    # The demo association stays in good standing: its dossiers to the demo funders can still be submitted.
    assert not [r for r in reports if r["organisation_id"] == str(demo_data.organisation("blosne-avenir").id)
                and r["overdue"]]


def test_seeding_again_is_refused_unless_replacing(country: Country, desk: Gateway) -> None:
    again = seed_country(country.env, "--last-year", str(LAST_YEAR))
    assert again.returncode == 2
    assert "already hold a seeded country" in again.stderr and "--replace" in again.stderr
    before = country.seeded("dossiers")
    replaced = seed_country(country.env, "--last-year", str(LAST_YEAR), "--replace")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert len(desk.every(DESK, "/api/v1/dossiers")) == before


def test_sqlite_is_refused(tmp_path: Any) -> None:
    env = {**os.environ, **{f"{s.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / s}.db" for s in SCHEMAS}}
    refused = subprocess.run([sys.executable, "-m", "scripts.seed_country", "--dossiers", "10"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "PostgreSQL only" in refused.stderr


def test_the_registry_draws_valid_distinct_sirets_beside_the_demo_s() -> None:
    # No database: the generator alone, as the seed calls it (a commune's, an EPCI's, a State service's prefix).
    demo = {o.siret for o in demo_data.ORGANISATIONS if o.siret}
    registry = Registry(demo, set())
    drawn = [registry.siret(prefix) for prefix in ("21", "24", "17", "35") for _ in range(300)]
    drawn += [registry.siret_of_siren("243500139") for _ in range(20)]
    assert all(is_valid_siret(s) and is_valid_siren(s[:9]) for s in drawn)
    assert len(set(drawn)) == len(drawn) and not set(drawn) & demo
    assert not any(s.startswith(LA_POSTE_SIREN) for s in drawn)
