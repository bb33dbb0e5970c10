"""Exports. The SCDL "subventions" 2.1.1 CSV: public, one row per notified grant of the funder for the year, each
row checked against the schema's rules (required fields, patterns, allowed values, lengths). A funder's bulk
exports of its dossiers, decisions and payments, CSV or JSON Lines, batch after batch."""

import csv
import io
import json
import re
from datetime import date
from typing import Any

from services.funding.exports.scdl import COLUMNS, amount, payment_period
from services.funding.tests.committee_helpers import ok
from services.funding.tests.helpers import PREFECTURE, VILLE
from services.funding.tests.test_agreements import agreements_of, decided
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, World

STATE_MANAGER = "direction@prefecture35.example"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# The schema's rules, field by field: (required, pattern or allowed values, longest).
RULES: dict[str, tuple[bool, str | frozenset[str] | None, int | None]] = {
    "nomAttribuant": (True, None, None),
    "idAttribuant": (True, r"[0-9]{14}", None),
    "dateConvention": (True, DATE, None),
    "referenceDecision": (False, None, None),
    "nomBeneficiaire": (True, None, None),
    "idBeneficiaire": (False, r"[0-9]{14}", None),
    "rnaBeneficiaire": (False, r"W[0-9]{9}", None),
    "objet": (True, None, 256),
    "montant": (True, r"[0-9]+(\.[0-9]{1,2})?", None),
    "nature": (True, frozenset({"aide en numéraire", "aide en nature", "aide en numéraire;aide en nature"}), None),
    "conditionsVersement": (True, frozenset({"unique", "échelonné", "autre"}), None),
    "datesPeriodeVersement": (True, rf"{DATE}(/{DATE})?", None),
    "idRAE": (False, None, None),
    "notificationUE": (True, frozenset({"oui", "non"}), None),
    "pourcentageSubvention": (True, r"(0\.[0-9]{1,2}|1(\.0{1,2})?)", None),
    "dispositifAide": (False, None, None),
}


def violations(row: dict[str, str]) -> list[str]:
    found = []
    for field, (required, rule, longest) in RULES.items():
        value = row[field]
        if not value:
            if required:
                found.append(f"{field} is required")
            continue
        if isinstance(rule, frozenset) and value not in rule:
            found.append(f"{field}={value!r} is not an allowed value")
        if isinstance(rule, str) and not re.fullmatch(rule, value):
            found.append(f"{field}={value!r} does not match {rule}")
        if longest is not None and len(value) > longest:
            found.append(f"{field} is longer than {longest}")
    if not (row["idBeneficiaire"] or row["rnaBeneficiaire"]):
        found.append("the beneficiary has neither SIRET nor RNA")
    for day in re.findall(DATE, row["dateConvention"] + " " + row["datesPeriodeVersement"]):
        date.fromisoformat(day)  # a real date
    if row["pourcentageSubvention"] and not 0.01 <= float(row["pourcentageSubvention"]) <= 1:
        found.append("pourcentageSubvention outside 0.01-1")
    return found


def export(world: World, funder: str, year: int) -> list[dict[str, str]]:
    answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": funder, "year": year})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(answer.text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


def test_each_notified_grant_is_one_valid_row(world: World) -> None:
    dossier = decided(world)
    year = ok(world.as_("funding", CITY_MANAGER).get(
        "/api/v1/grants", params={"dossier_id": dossier["id"]}))["items"][0]["year"]
    # Nothing is public before the agreements leave the funders.
    assert export(world, VILLE, year) == []
    agreements = agreements_of(world, dossier)
    ok(world.as_("funding", CITY_MANAGER).post(f"/api/v1/agreements/{agreements[VILLE]['id']}/send"))
    ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{agreements[PREFECTURE]['id']}/send"))

    [city] = export(world, VILLE, year)
    assert violations(city) == []
    assert (city["nomAttribuant"], city["idAttribuant"]) == ("Ville de Rennes", "21350238800019")
    assert (city["nomBeneficiaire"], city["idBeneficiaire"], city["rnaBeneficiaire"]) == (
        "Association Blosne Avenir", "81234567600017", "W353012345")
    assert (city["montant"], city["referenceDecision"]) == ("25000.00", agreements[VILLE]["number"])
    assert (city["conditionsVersement"], city["pourcentageSubvention"], city["notificationUE"]) == (
        "unique", "1.00", "non")
    [state] = export(world, PREFECTURE, year)
    assert violations(state) == [] and state["montant"] == "10000.00"
    assert export(world, VILLE, year + 1) == []


def test_an_unknown_funder_is_a_404(world: World) -> None:
    association = "4b1a7e5e-0000-4000-8000-000000000000"
    answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": association, "year": 2027})
    assert answer.status_code == 404 and problem(answer)["status"] == 404


def test_amounts_and_schedules_in_scdl_words() -> None:
    assert [amount(cents) for cents in (0, 5, 1_500_000, 123_456)] == ["0.00", "0.05", "15000.00", "1234.56"]

    class Paid:
        def __init__(self, paid: date | None = None, due: date | None = None):
            self.paid_at = None if paid is None else _at(paid)
            self.due_on, self.pay_by = due, None

    decided_on = date(2027, 3, 1)
    assert payment_period([Paid(date(2027, 4, 2))], decided_on) == ("unique", "2027-04-02")  # type: ignore[list-item]
    assert payment_period([Paid(date(2027, 4, 2)), Paid(due=date(2028, 1, 1))], decided_on) == (  # type: ignore[list-item]
        "échelonné", "2027-04-02/2028-01-01")
    assert payment_period([Paid(), Paid()], decided_on) == ("échelonné", "2027-03-01")  # type: ignore[list-item]


def _at(day: date) -> Any:
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


class TestBulkExports:
    def test_a_funder_exports_its_dossiers_decisions_and_payments_as_csv_or_json_lines(self, world: World) -> None:
        dossier = decided(world)
        city = world.as_("funding", CITY_MANAGER)
        answer = city.get("/api/v1/exports/dossiers")
        assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
        [row] = list(csv.DictReader(io.StringIO(answer.text)))
        assert (row["reference"], row["asked_cents"], row["state"]) == (dossier["reference"], "2500000", "decided")
        decisions = [json.loads(line) for line in city.get("/api/v1/exports/decisions",
                                                           params={"format": "jsonl"}).text.splitlines()]
        assert [(d["funder_id"], d["granted_cents"], d["reference"]) for d in decisions] == [
            (VILLE, 2_500_000, dossier["reference"])]
        payments = [json.loads(line) for line in city.get("/api/v1/exports/payments",
                                                          params={"format": "jsonl"}).text.splitlines()]
        assert {p["funder_id"] for p in payments} == {VILLE} and sum(p["amount_cents"] for p in payments) == 2_500_000
        # Another funder's data stays its own; the desk names a funder or takes all.
        refused = city.get("/api/v1/exports/payments", params={"funder_id": PREFECTURE})
        assert refused.status_code == 403 and problem(refused)["code"] == "not_your_funder"
        desk = world.as_("funding", "coordination@guichet-rennes.example")
        everyone = desk.get("/api/v1/exports/payments", params={"format": "jsonl"}).text.splitlines()
        assert {json.loads(line)["funder_id"] for line in everyone} == {VILLE, PREFECTURE}
        caf = world.as_("funding", "direction@caf35.example").get("/api/v1/exports/decisions",
                                                                  params={"format": "jsonl"})
        assert [json.loads(line)["granted_cents"] for line in caf.text.splitlines()] == [0]
        assert world.as_("funding", "presidence@blosne-avenir.example").get(
            "/api/v1/exports/dossiers").status_code == 403

    def test_batches_follow_each_other_without_loss(self, world: World, monkeypatch: Any) -> None:
        from services.funding.exports import bulk as bulk_exports

        monkeypatch.setattr(bulk_exports, "BATCH", 2)
        created = [world.create_dossier() for _ in range(5)]
        lines = world.as_("funding", "coordination@guichet-rennes.example").get(
            "/api/v1/exports/dossiers", params={"format": "jsonl"}).text.splitlines()
        assert [json.loads(line)["id"] for line in lines] == [d["id"] for d in created]


# What OWASP's CSV-injection page lists: each would run as a formula in a spreadsheet opening the export.
FORMULAS = ('=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "\tcmd", "-2+3")


def _rename(world: World, email: str, organisation: str, name: str) -> None:
    identity = world.as_("identity", email)
    current = identity.get(f"/api/v1/organisations/{organisation}")
    ok(identity.patch(f"/api/v1/organisations/{organisation}", json={"name": name},
                      headers={"If-Match": current.headers["ETag"]}))


def _decided_with(world: World, *, title: str, conditions: str, refusal: str) -> dict[str, Any]:
    """decided(), with a project title, the city's conditions and the CAF's refusal reason typed as formulas."""
    from services.funding.tests.committee_helpers import decide, open_session, plan_session, ready, session_url
    from services.funding.tests.helpers import CAF
    from services.funding.tests.test_agreements import PLAN
    from tests.support.world import DESK

    dossier = ready(world, plan=PLAN, project=world.create_project(title=title))
    present = [VILLE, PREFECTURE, CAF]
    session = ok(open_session(world, plan_session(world, [dossier], present), present))
    ok(decide(world, session, dossier, VILLE, 2_500_000, conditions=conditions), 201)
    ok(decide(world, session, dossier, PREFECTURE, 1_000_000), 201)
    ok(decide(world, session, dossier, CAF, 0, refusal_reason=refusal), 201)
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    return dossier


class TestFormulasAreNeutralised:
    def test_names_and_objects_in_the_scdl_export_read_as_text_and_the_row_stays_valid(self, world: World) -> None:
        title = FORMULAS[0]
        dossier = _decided_with(world, title=title, conditions="x", refusal="y")
        agreement = agreements_of(world, dossier)[VILLE]
        ok(world.as_("funding", CITY_MANAGER).post(f"/api/v1/agreements/{agreement['id']}/send"))
        year = ok(world.as_("funding", CITY_MANAGER).get(
            "/api/v1/grants", params={"dossier_id": dossier["id"]}))["items"][0]["year"]
        association = ok(world.as_("funding", CITY_MANAGER).get(
            "/api/v1/grants", params={"dossier_id": dossier["id"]}))["items"][0]["organisation_id"]
        # Identity trims a name, so a leading tab never reaches the export through one (the bulk test has one).
        for formula in (f for f in FORMULAS if not f.startswith("\t")):
            _rename(world, "presidence@blosne-avenir.example", association, formula)
            _rename(world, CITY_MANAGER, VILLE, f"{formula} ville")
            answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": VILLE, "year": year})
            [line] = answer.text.splitlines()[1:]
            [row] = list(csv.DictReader(io.StringIO(answer.text)))
            # A leading quote, inside double quotes: what a spreadsheet shows as text; nothing else changes.
            assert row["nomBeneficiaire"] == "'" + formula, formula
            assert row["nomAttribuant"] == f"'{formula} ville"
            assert row["objet"] == "'" + title
            written = '"' + ("'" + formula).replace('"', '""') + '"'
            assert written in line
            # The figures stay figures, and the row still passes the schema's rules.
            assert (row["montant"], row["pourcentageSubvention"], row["idBeneficiaire"]) == (
                "25000.00", "1.00", "81234567600017")
            assert re.fullmatch(DATE, row["dateConvention"]) and violations(row) == []

    def test_text_cells_of_the_bulk_exports_are_neutralised_and_their_figures_kept(self, world: World) -> None:
        dossier = _decided_with(world, title="-2+3", conditions="@SUM(A1)", refusal="+1")
        city = world.as_("funding", CITY_MANAGER)
        [row] = list(csv.DictReader(io.StringIO(city.get("/api/v1/exports/dossiers").text)))
        assert (row["title"], row["asked_cents"], row["reference"]) == ("'-2+3", "2500000", dossier["reference"])
        [decision] = list(csv.DictReader(io.StringIO(city.get("/api/v1/exports/decisions").text)))
        assert (decision["conditions"], decision["granted_cents"]) == ("'@SUM(A1)", "2500000")
        caf = world.as_("funding", "direction@caf35.example").get("/api/v1/exports/decisions")
        [refused] = list(csv.DictReader(io.StringIO(caf.text)))
        assert (refused["refusal_reason"], refused["granted_cents"]) == ("'+1", "0")
        assert '"\'+1"' in caf.text  # quoted, as OWASP asks (a leading tab never gets this far: inputs are trimmed)
        # JSON Lines is not a spreadsheet format: the text stays as typed there.
        [jsonl] = city.get("/api/v1/exports/dossiers", params={"format": "jsonl"}).text.splitlines()
        assert json.loads(jsonl)["title"] == "-2+3"
