"""Exports. The SCDL "subventions" 2.1.1 CSV: public, one row per notified grant of the funder for the year, each
row checked against the schema's rules (required fields, patterns, allowed values, lengths). A funder's bulk
exports of its dossiers, decisions and payments, CSV or JSON Lines, batch after batch."""

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common.clock import FixedClock
from services.funding.exports.scdl import COLUMNS, amount, payment_period
from services.funding.models.agreement import Payment
from services.funding.tests.committee_helpers import ok
from services.funding.tests.helpers import BLOSNE_AVENIR, PREFECTURE, VILLE
from services.funding.tests.scdl_validation import OFFICIAL_EXAMPLE, scdl_problems
from services.funding.tests.test_agreements import agreements_of, decided, payments_of
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, HOLDER, World

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


def export_text(world: World, funder: str, year: int) -> str:
    answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": funder, "year": year})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    return answer.text


def export(world: World, funder: str, year: int) -> list[dict[str, str]]:
    """The funder's SCDL file of the year, checked by the official validator (zero errors, zero warnings) and by
    the field rules above, as rows."""
    text = export_text(world, funder, year)
    assert scdl_problems(text) == []
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    found = list(reader)
    assert [violations(row) for row in found] == [[] for _ in found]
    return found


def grant_year(world: World, dossier: dict[str, Any]) -> int:
    year: int = ok(world.as_("funding", CITY_MANAGER).get(
        "/api/v1/grants", params={"dossier_id": dossier["id"]}))["items"][0]["year"]
    return year


def on(clock: FixedClock, day: date) -> None:
    clock.at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


class TestTheOfficialValidator:
    def test_it_accepts_the_schema_s_own_example_and_catches_a_bad_siret(self) -> None:
        example = OFFICIAL_EXAMPLE.read_text(encoding="utf-8")
        assert scdl_problems(example) == []
        # One digit off in one beneficiary's SIRET: the schema's custom check finds it, so a pass means something.
        broken = example.replace("52499120500013", "52499120500014", 1)
        assert [p for p in scdl_problems(broken) if "french-siret-value" in p] == [
            "row 1 idBeneficiaire french-siret-value: La valeur 52499120500014 n'est pas un numéro SIRET français "
            "valide."]

    def test_it_catches_a_bad_row_of_our_own_export(self, world: World) -> None:
        dossier = decided(world)
        state_letter = agreements_of(world, dossier)[PREFECTURE]
        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{state_letter['id']}/send"))
        text = export_text(world, PREFECTURE, grant_year(world, dossier))
        assert scdl_problems(text) == []
        assert scdl_problems(text.replace("81234567600017", "81234567600018"))  # a checksum off by one
        assert scdl_problems(text.replace(",non,", ",peut-être,"))  # notificationUE is a boolean


class TestWhatIsPublished:
    def test_a_letter_once_sent_a_convention_once_signed_by_both_sides_on_that_day(
        self, world: World, clock: FixedClock
    ) -> None:
        dossier = decided(world)
        year = grant_year(world, dossier)
        # Nothing is public before the agreements leave the funders: the file is empty, and valid.
        assert export(world, VILLE, year) == [] and export(world, PREFECTURE, year) == []
        agreements = agreements_of(world, dossier)
        on(clock, TODAY + timedelta(days=1))
        ok(world.as_("funding", CITY_MANAGER).post(f"/api/v1/agreements/{agreements[VILLE]['id']}/send"))
        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{agreements[PREFECTURE]['id']}/send"))
        # The State's decision letter is notified by its sending; the city's convention is not concluded yet.
        [state] = export(world, PREFECTURE, year)
        assert (state["dateConvention"], state["montant"], state["referenceDecision"]) == (
            (TODAY + timedelta(days=1)).isoformat(), "10000.00", agreements[PREFECTURE]["number"])
        assert export(world, VILLE, year) == []
        on(clock, TODAY + timedelta(days=3))
        ok(world.as_("funding", CITY_MANAGER).post(f"/api/v1/agreements/{agreements[VILLE]['id']}/sign"))
        assert export(world, VILLE, year) == []  # signed by the city only
        on(clock, TODAY + timedelta(days=8))
        ok(world.as_("funding", HOLDER).post(f"/api/v1/agreements/{agreements[VILLE]['id']}/sign"))
        [city] = export(world, VILLE, year)
        assert city["dateConvention"] == (TODAY + timedelta(days=8)).isoformat()  # the later signature
        assert (city["nomAttribuant"], city["idAttribuant"]) == ("Ville de Rennes", "21350238800019")
        assert (city["nomBeneficiaire"], city["idBeneficiaire"], city["rnaBeneficiaire"]) == (
            "Association Blosne Avenir", "81234567600017", "W353012345")
        assert (city["montant"], city["referenceDecision"]) == ("25000.00", agreements[VILLE]["number"])
        assert (city["conditionsVersement"], city["pourcentageSubvention"], city["notificationUE"]) == (
            "unique", "1.00", "non")
        assert export(world, VILLE, year + 1) == []

    def test_the_period_is_the_real_payment_date_or_the_scheduled_one(self, world: World, clock: FixedClock) -> None:
        dossier = decided(world)
        year = grant_year(world, dossier)
        letter = agreements_of(world, dossier)[PREFECTURE]
        on(clock, TODAY + timedelta(days=2))
        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send"))
        [unpaid] = export(world, PREFECTURE, year)
        # Not paid yet: due on the letter's coming into force, its notification, not the committee's decision.
        assert (unpaid["conditionsVersement"], unpaid["datesPeriodeVersement"]) == (
            "unique", (TODAY + timedelta(days=2)).isoformat())
        [payment] = payments_of(world, letter)
        on(clock, TODAY + timedelta(days=20))
        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/payments/{payment['id']}/pay", json={}))
        [paid] = export(world, PREFECTURE, year)
        assert paid["datesPeriodeVersement"] == (TODAY + timedelta(days=20)).isoformat()

    def test_a_beneficiary_s_ids_go_as_the_schema_takes_them_or_the_row_stays_out_with_its_reason(
        self, world: World, monkeypatch: Any
    ) -> None:
        dossier = decided(world)
        year = grant_year(world, dossier)
        agreements = agreements_of(world, dossier)
        # An RNA with a capital letter (real, e.g. Corsica's W2A…) cannot go in the column: the SIRET carries the row.
        with identity_says(monkeypatch, BLOSNE_AVENIR, rna="W2A1002760"):
            ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{agreements[PREFECTURE]['id']}/send"))
        [row] = export(world, PREFECTURE, year)
        assert (row["idBeneficiaire"], row["rnaBeneficiaire"]) == ("81234567600017", "")
        # Neither a SIRET nor such an RNA: the row stays out, counted in a header, listed with its reason.
        with identity_says(monkeypatch, BLOSNE_AVENIR, siret=None, rna="W2A1002760"):
            for email, action in ((CITY_MANAGER, "send"), (CITY_MANAGER, "sign"), (HOLDER, "sign")):
                ok(world.as_("funding", email).post(f"/api/v1/agreements/{agreements[VILLE]['id']}/{action}"))
        answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": VILLE, "year": year})
        assert answer.text.splitlines()[1:] == [] and scdl_problems(answer.text) == []
        assert answer.headers["X-SCDL-Excluded-Rows"] == "1"
        report_url = answer.headers["X-SCDL-Excluded-Report"]
        assert report_url == f"/api/v1/exports/scdl/excluded?funder={VILLE}&year={year}"
        report = ok(world.stack.api("funding").get(report_url, headers={"Accept-Language": "en"}))
        [excluded] = report["items"]
        assert (excluded["reason"], excluded["reference_decision"], excluded["beneficiary_name"],
                excluded["organisation_id"]) == ("beneficiary_without_siret_or_rna", agreements[VILLE]["number"],
                                                 "Association Blosne Avenir", BLOSNE_AVENIR)
        assert "SIRET" in excluded["message"] and excluded["message"].startswith("No valid SIRET")
        # The State's file has nothing left out.
        state = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": PREFECTURE, "year": year})
        assert state.headers["X-SCDL-Excluded-Rows"] == "0"
        assert ok(world.stack.api("funding").get("/api/v1/exports/scdl/excluded", params={
            "funder": PREFECTURE, "year": year}))["items"] == []

    def test_a_beneficiary_with_only_an_rna_of_the_schema_s_form_is_published_with_it(
        self, world: World, monkeypatch: Any
    ) -> None:
        dossier = decided(world)
        letter = agreements_of(world, dossier)[PREFECTURE]
        with identity_says(monkeypatch, BLOSNE_AVENIR, siret=None):
            ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send"))
        [row] = export(world, PREFECTURE, grant_year(world, dossier))
        assert (row["idBeneficiaire"], row["rnaBeneficiaire"]) == ("", "W353012345")

    def test_a_funder_without_a_siret_gets_a_problem_not_an_invalid_file(self, world: World, monkeypatch: Any) -> None:
        with identity_says(monkeypatch, PREFECTURE, siret=None):
            answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": PREFECTURE,
                                                                                   "year": 2026})
        assert answer.status_code == 409 and problem(answer)["code"] == "funder_without_siret"
        assert problem(answer)["funder_id"] == PREFECTURE
        assert "SIRET" in problem(answer)["detail"]


@contextmanager
def identity_says(monkeypatch: Any, organisation: str, **fields: Any) -> Iterator[None]:
    """Identity's card of `organisation` with `fields` changed, as funding reads it, for the block's duration
    (identity's API lets nobody change a SIRET or an RNA: they are the registers' facts)."""
    from services.funding.peers import Peers

    real = Peers.organisation

    async def card(self: Peers, organisation_id: uuid.UUID) -> dict[str, Any] | None:
        found = await real(self, organisation_id)
        return {**found, **fields} if found is not None and str(organisation_id) == organisation else found

    with monkeypatch.context() as patch:
        patch.setattr(Peers, "organisation", card)
        yield


def test_an_unknown_funder_is_a_404(world: World) -> None:
    association = "4b1a7e5e-0000-4000-8000-000000000000"
    answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": association, "year": 2027})
    assert answer.status_code == 404 and problem(answer)["status"] == 404


def test_amounts_and_schedules_in_scdl_words() -> None:
    assert [amount(cents) for cents in (0, 5, 1_500_000, 123_456)] == ["0.00", "0.05", "15000.00", "1234.56"]

    def instalment(paid: date | None = None, due: date | None = None, condition: str = "on_activation",
                   year: int = 2027) -> Payment:
        some = uuid.uuid4()
        return Payment(grant_id=some, agreement_id=some, dossier_id=some, funder_id=some, organisation_id=some,
                       programme_id=some, sequence=1, amount_cents=100, paid_at=None if paid is None else _at(paid),
                       due_on=due, condition=condition, year=year)

    notified = date(2027, 3, 1)
    assert payment_period([instalment(date(2027, 4, 2))], notified) == ("unique", "2027-04-02")
    assert payment_period([instalment(date(2027, 4, 2)), instalment(due=date(2028, 1, 1))], notified) == (
        "échelonné", "2027-04-02/2028-01-01")
    # Two instalments paid on one day are still a period, from that day to that day.
    assert payment_period([instalment(date(2027, 4, 2)), instalment(date(2027, 4, 2))], notified) == (
        "échelonné", "2027-04-02/2027-04-02")
    # Nothing paid: the scheduled period, from the notification to the end of the balance's year.
    assert payment_period([instalment(), instalment(condition="after_review")], notified) == (
        "échelonné", "2027-03-01/2027-12-31")
    assert payment_period([], notified) == ("unique", "2027-03-01")


def _at(day: date) -> Any:
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
        assert [(d["funder_id"], d["granted_amount_cents"], d["reference"]) for d in decisions] == [
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
        assert [json.loads(line)["granted_amount_cents"] for line in caf.text.splitlines()] == [0]
        assert world.as_("funding", "presidence@blosne-avenir.example").get(
            "/api/v1/exports/dossiers").status_code == 403

    def test_columns_bear_the_api_fields_names_and_values(self, world: World) -> None:
        from services.funding.committee.schemas import DecisionListed
        from services.funding.dossiers.schemas import DossierSummary
        from services.funding.exports.bulk import DERIVED_COLUMNS, EXPORTS
        from services.funding.grants.schemas import PaymentPublic

        # Every column is a field of the API's schema for the same rows, or one of the documented derived ones.
        for kind, schema in (("dossiers", DossierSummary), ("decisions", DecisionListed), ("payments", PaymentPublic)):
            unknown = set(EXPORTS[kind].columns) - set(schema.model_fields) - set(DERIVED_COLUMNS[kind])
            assert unknown == set(), (kind, unknown)
        # And the same value under the same name: each decision exported is the one GET /decisions lists.
        decided(world)
        desk = world.as_("funding", "coordination@guichet-rennes.example")
        listed = {item["id"]: item for item in ok(desk.get("/api/v1/decisions"))["items"]}
        exported = [json.loads(line) for line in desk.get("/api/v1/exports/decisions",
                                                          params={"format": "jsonl"}).text.splitlines()]
        assert len(exported) == len(listed) == 3
        def same(name: str, value: Any) -> Any:  # the export writes times in ISO, as JSON does, maybe not alike
            return datetime.fromisoformat(value) if name.endswith("_at") and value else value

        for row in exported:
            api = listed[row["id"]]
            named = [name for name in row if name not in DERIVED_COLUMNS["decisions"]]
            assert {name: same(name, row[name]) for name in named} == {name: same(name, api[name]) for name in named}

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
        agreements = agreements_of(world, dossier)
        year = grant_year(world, dossier)
        # Identity trims a name, so a leading tab never reaches the export through one (the bulk test has one).
        # The names are written when the grant is notified: each agreement is notified under other names.
        formulas = [f for f in FORMULAS if not f.startswith("\t")]
        cases = [(PREFECTURE, STATE_MANAGER, formulas[0], f"{formulas[1]} préfecture", 1_000_000, ["send"]),
                 (VILLE, CITY_MANAGER, formulas[2], f"{formulas[3]} ville", 2_500_000, ["send", "sign"])]
        for funder, manager, holder_name, funder_name, _, moves in cases:
            _rename(world, HOLDER, BLOSNE_AVENIR, holder_name)
            _rename(world, manager, funder, funder_name)
            for action in moves:
                ok(world.as_("funding", manager).post(f"/api/v1/agreements/{agreements[funder]['id']}/{action}"))
            if funder == VILLE:
                ok(world.as_("funding", HOLDER).post(f"/api/v1/agreements/{agreements[funder]['id']}/sign"))
        _rename(world, HOLDER, BLOSNE_AVENIR, "Association Blosne Avenir")
        for funder, _, holder_name, funder_name, cents, _ in cases:
            text = export_text(world, funder, year)
            assert scdl_problems(text) == []
            [line] = text.splitlines()[1:]
            [row] = list(csv.DictReader(io.StringIO(text)))
            # A leading quote, inside double quotes: what a spreadsheet shows as text; nothing else changes.
            assert row["nomBeneficiaire"] == "'" + holder_name, holder_name
            assert row["nomAttribuant"] == "'" + funder_name
            assert row["objet"] == "'" + title
            assert '"' + ("'" + holder_name).replace('"', '""') + '"' in line
            # The figures stay figures, and the row still passes the schema's rules.
            assert (row["montant"], row["pourcentageSubvention"], row["idBeneficiaire"]) == (
                amount(cents), "1.00", "81234567600017")
            assert re.fullmatch(DATE, row["dateConvention"]) and violations(row) == []

    def test_text_cells_of_the_bulk_exports_are_neutralised_and_their_figures_kept(self, world: World) -> None:
        dossier = _decided_with(world, title="-2+3", conditions="@SUM(A1)", refusal="+1")
        city = world.as_("funding", CITY_MANAGER)
        [row] = list(csv.DictReader(io.StringIO(city.get("/api/v1/exports/dossiers").text)))
        assert (row["title"], row["asked_cents"], row["reference"]) == ("'-2+3", "2500000", dossier["reference"])
        [decision] = list(csv.DictReader(io.StringIO(city.get("/api/v1/exports/decisions").text)))
        assert (decision["conditions"], decision["granted_amount_cents"]) == ("'@SUM(A1)", "2500000")
        caf = world.as_("funding", "direction@caf35.example").get("/api/v1/exports/decisions")
        [refused] = list(csv.DictReader(io.StringIO(caf.text)))
        assert (refused["refusal_reason"], refused["granted_amount_cents"]) == ("'+1", "0")
        assert '"\'+1"' in caf.text  # quoted, as OWASP asks (a leading tab never gets this far: inputs are trimmed)
        # JSON Lines is not a spreadsheet format: the text stays as typed there.
        [jsonl] = city.get("/api/v1/exports/dossiers", params={"format": "jsonl"}).text.splitlines()
        assert json.loads(jsonl)["title"] == "-2+3"
