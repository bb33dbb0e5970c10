"""A 3-year CPO's whole life through the gateway, against the four real processes, on both databases, funding's
clock moved year by year: a social centre of Maurepas signs with the city (60,000 € a year), the CAF (30,000 €)
and the State (20,000 €), one convention each; each year an advance before 31 March and the balance after the
yearly review of the reports of the year before; in year 2 an amendment lowers the State's year 3 to 15,000 €;
year 3's balance waits for a late financial report (the CPO suspended meanwhile); the final evaluation, and the
renewal on the same thread: the association and the desk read the first CPO's reference as the reference, the
renewal's own beside it. Then an annual call refuses a submission after its deadline."""

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scripts.live_stack import LiveStack
from services.funding.tests.scdl_validation import scdl_problems
from tests.support.clock import TODAY
from tests.support.documents import assert_inert
from tests.support.world import CITY_MANAGER, DESK, PROJECT, org_id
from tests.test_committee_through_gateway import (  # noqa: F401  (fixtures)
    MANAGER,
    OTHER_HOLDER,
    Desk,
    desk,
    vaults,
)

# The CERFA 15059's qualitative account and signatory, signed on the suite's first day (time only moves on).
REPORT_FORM: dict[str, Any] = {
    "qualitative": {"summary": "Une année au centre social."},
    "signatory": {"name": "Awa Diallo", "capacity": "legal_representative", "signed_on": TODAY.isoformat()},
}
VILLE, CAF, PREFECTURE = org_id("ville"), org_id("caf"), org_id("prefecture")
YEARLY = {VILLE: 6_000_000, CAF: 3_000_000, PREFECTURE: 2_000_000}
MANAGERS = {VILLE: CITY_MANAGER, CAF: MANAGER["caf"], PREFECTURE: "direction@prefecture35.example"}
INSTRUCTORS = {VILLE: "instruction@ville-rennes.example", CAF: MANAGER["caf"],
               PREFECTURE: "instruction@prefecture35.example"}
MEMBERS = {VILLE: "comite@ville-rennes.example", CAF: MANAGER["caf"], PREFECTURE: "comite@prefecture35.example"}
YEARS = [2027, 2028, 2029]
INDICATOR = "qpv_residents_reached"


@pytest.fixture
def clock(live: LiveStack) -> Iterator[LiveStack]:
    """Funding's time, moved by the test; back at TEST_NOW afterwards (the live desk is shared)."""
    yield live
    live.set_clock(None)


def at(live: LiveStack, year: int, month: int, day: int = 15) -> None:
    live.set_clock(datetime(year, month, day, 10, tzinfo=UTC))


def funder_envelope(gateway: Desk, funder: str, programme: dict[str, Any], year: int) -> dict[str, int]:
    """The programme's line of the funder's dashboard for `year`: committed on its envelope, and awaiting it."""
    board = gateway.json(MANAGERS[funder], "GET", "/api/v1/dashboards/funder", params={"year": year})
    [line] = [e for e in board["figures"]["envelopes"] if e["programme_id"] == programme["id"]]
    return {"committed_cents": line["committed_cents"], "awaiting_cents": line["awaiting_cents"]}


def number_of(gateway: Desk, dossier: dict[str, Any], funder: str) -> str:
    agreements = gateway.json(DESK, "GET", "/api/v1/agreements", params={"dossier_id": dossier["id"]})["items"]
    return next(a["number"] for a in agreements if a["funder_id"] == funder)


class Centre:
    """The social centre's CPO as the desk, the funders and the association see it through the gateway."""

    def __init__(self, gateway: Desk, dossier: dict[str, Any]):
        self.desk, self.dossier = gateway, dossier
        self.url = f"/api/v1/dossiers/{dossier['id']}"

    def payments(self) -> list[dict[str, Any]]:
        listed = self.desk.json(DESK, "GET", "/api/v1/payments", params={"dossier_id": self.dossier["id"],
                                                                          "limit": 100})["items"]
        return sorted(listed, key=lambda p: (p["funder_id"], p["sequence"]))

    def pay_due(self) -> list[tuple[int, int]]:
        """Each funder pays what is due; the (year, amount) of each payment made."""
        paid = []
        for payment in self.payments():
            if payment["state"] == "due":
                self.desk.call(MANAGERS[payment["funder_id"]], "POST", f"/api/v1/payments/{payment['id']}/pay",
                               json={})
                paid.append((payment["year"], payment["amount_cents"]))
        return paid

    def file_reports(self, year: int, funders: list[str]) -> None:
        """The association's financial reports of `year` to these funders, and, once, its activity report."""
        reports = self.desk.json(OTHER_HOLDER, "GET", "/api/v1/financial-reports",
                                 params={"dossier_id": self.dossier["id"], "limit": 100})["items"]
        for report in reports:
            if report["year"] == year and report["funder_id"] in funders:
                url = f"/api/v1/financial-reports/{report['id']}"
                self.desk.call(OTHER_HOLDER, "PUT", url, etag_of=url,
                               json={"lines": [{"actual_cents": line["planned_cents"]} for line in report["lines"]],
                                     **REPORT_FORM})
                self.desk.call(OTHER_HOLDER, "POST", f"{url}/submit", json={})

    def file_activity(self, year: int) -> None:
        report = self.desk.json(OTHER_HOLDER, "POST", "/api/v1/reports", 201, json={
            "project_id": self.dossier["project_id"], "period": str(year), "narrative": "Une année au centre.",
            "values": [{"indicator_code": INDICATOR, "value": 320}]})
        self.desk.call(OTHER_HOLDER, "POST", f"/api/v1/reports/{report['id']}/submit", json={},
                       headers={"If-Match": f'"{report["version"]}"'})

    def review(self, year: int, outcome: str, status: int = 201, **body: Any) -> dict[str, Any]:
        return self.desk.json(DESK, "POST", f"{self.url}/cpo/reviews", status,
                              json={"year": year, "outcome": outcome, **body})


def test_a_three_year_cpo_from_the_committee_to_its_renewal(
    desk: Desk, vaults: None, clock: LiveStack  # noqa: F811
) -> None:
    today = TODAY
    period = {"opens_on": (today - timedelta(days=1)).isoformat(),
              "closes_on": (today + timedelta(days=60)).isoformat()}
    programme = desk.json(DESK, "POST", "/api/v1/programmes", 201, json={
        "title": "CPO 2027-2029", "track": "cpo", "year": 2027, "funder_ids": list(YEARLY),
        "convention_threshold_cents": 0, **period})
    assert programme["rules"]["default_years"] == 3 and programme["rules"]["convention_threshold_cents"] == 0
    # Each funder's envelope of each year holds that year's amount, no more: a year commits on its own year's.
    envelopes = {(funder, year): desk.json(MANAGERS[funder], "POST", "/api/v1/envelopes", 201, json={
        "programme_id": programme["id"], "year": year, "total_cents": amount})
        for funder, amount in YEARLY.items() for year in YEARS}

    # The file: amounts per funder per year, objectives, a target for each year.
    project = desk.json(OTHER_HOLDER, "POST", "/api/v1/projects", 201, json={
        **PROJECT, "title": "Centre social de Maurepas", "qpv_codes": ["QN03504M"], "total_cost_cents": 40_000_000,
        "start_date": "2027-01-01", "end_date": "2029-12-31"})
    plan: list[dict[str, Any]] = [
        {"funder_id": funder, "amount_cents": amount * 3, "yearly_amounts_cents": [amount] * 3}
        for funder, amount in YEARLY.items()
    ]
    desk.call(OTHER_HOLDER, "PUT", f"/api/v1/projects/{project['id']}/budget", headers={"If-Match": '"0"'}, json={
        "charges": [{"account_group": "64", "label": "Salaires", "amount_cents": 40_000_000}],
        "income": [{"account_group": "74", "label": "Subvention", "amount_cents": line["amount_cents"],
                    "funder_id": line["funder_id"]} for line in plan]
        + [{"account_group": "70", "label": "Participations des familles", "amount_cents": 7_000_000}]})
    desk.call(OTHER_HOLDER, "PUT", f"/api/v1/projects/{project['id']}/indicators", headers={"If-Match": '"0"'},
              json={"targets": [{"indicator_code": INDICATOR, "period": str(year), "target": 300}
                                for year in YEARS]})
    dossier = desk.json(OTHER_HOLDER, "POST", "/api/v1/dossiers", 201, json={
        "programme_id": programme["id"], "project_id": project["id"], "funding_plan": plan,
        "objectives": ["Ouvrir six jours sur sept.", "Accueillir 300 familles par an."]})
    url = f"/api/v1/dossiers/{dossier['id']}"
    submitted = desk.json(OTHER_HOLDER, "POST", f"{url}/submit")
    assert submitted["cpo_targets"]["2029"] == [{"indicator_code": INDICATOR, "target": "300"}]
    desk.call(DESK, "POST", f"{url}/admissibility", json={"decision": "admissible"})
    desk.call(DESK, "POST", f"{url}/route", json={})
    for line in plan:
        desk.call(INSTRUCTORS[line["funder_id"]], "PUT", f"{url}/opinions/mine", 201,
                  json={"opinion": "favourable", "proposed_amount_cents": line["amount_cents"]})

    # The committee grants in full; one convention per funder, signed by both sides.
    session = desk.json(DESK, "POST", "/api/v1/sessions", 201, json={
        "title": "Comité des financeurs — CPO", "held_on": today.isoformat(), "place": "Hôtel de ville",
        "programme_ids": [programme["id"]]})
    session_url = f"/api/v1/sessions/{session['id']}"
    desk.call(DESK, "PUT", f"{session_url}/funders", etag_of=session_url, json={"funder_ids": list(YEARLY)})
    session = desk.json(DESK, "PUT", f"{session_url}/agenda", etag_of=session_url,
                        json={"items": [{"dossier_id": dossier["id"]}]})
    session = desk.json(DESK, "POST", f"{session_url}/open", json={"present_funder_ids": list(YEARLY)})
    [item] = session["items"]
    for line in plan:
        desk.call(MEMBERS[line["funder_id"]], "PUT", f"{session_url}/items/{item['id']}/decisions/mine", 201,
                  json={"granted_amount_cents": line["amount_cents"]})
    desk.call(DESK, "POST", f"{session_url}/close", json={})
    agreements = desk.json(OTHER_HOLDER, "GET", "/api/v1/agreements", params={"dossier_id": dossier["id"]})["items"]
    assert sorted((a["kind"], a["amount_cents"]) for a in agreements) == [
        ("convention", 6_000_000), ("convention", 9_000_000), ("convention", 18_000_000)]
    for agreement in agreements:
        agreement_url = f"/api/v1/agreements/{agreement['id']}"
        manager = MANAGERS[agreement["funder_id"]]
        desk.call(manager, "POST", f"{agreement_url}/send", json={})
        desk.call(manager, "POST", f"{agreement_url}/sign", json={})
        desk.call(OTHER_HOLDER, "POST", f"{agreement_url}/sign", json={})
        desk.call(manager, "POST", f"{agreement_url}/activate", json={})
    # A funder's agreements and dossiers, paged one by one through the gateway (their index, from the cursor on):
    # each once, in the order of the whole list.
    for kind in ("agreements", "dossiers"):
        whole = desk.json(MANAGERS[CAF], "GET", f"/api/v1/{kind}", params={"limit": 200})["items"]
        paged, cursor = [], None
        while True:
            page = desk.json(MANAGERS[CAF], "GET", f"/api/v1/{kind}",
                             params={"limit": 1, **({"cursor": cursor} if cursor else {})})
            paged += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert paged == [item["id"] for item in whole] and dossier["id"] in (
            paged if kind == "dossiers" else [a["dossier_id"] for a in whole]), kind
    document = desk.call(OTHER_HOLDER, "GET", f"/api/v1/agreements/{agreements[0]['id']}/document")
    assert_inert(document)  # the policy and nosniff pass the gateway's hop
    assert "<th>À verser avant le</th>" in document.text and "2029-03-31" in document.text

    # The decision committed 2027 on the 2027 envelopes; 2028 and 2029 wait for their budgets, as every side sees.
    for reader in (DESK, OTHER_HOLDER, MANAGERS[CAF]):
        cpo = desk.json(reader, "GET", f"{url}/cpo")
        assert {(c["funder_id"], c["year"]): (c["state"], c["committed_cents"]) for c in cpo["commitments"]} == {
            **{(funder, 2027): ("committed", amount) for funder, amount in YEARLY.items()},
            **{(funder, year): ("awaiting", 0) for funder in YEARLY for year in (2028, 2029)}}, reader
    decided = desk.json(MANAGERS[CAF], "GET", "/api/v1/decisions", params={"dossier_id": dossier["id"]})["items"]
    assert [(d["granted_amount_cents"], d["yearly_amounts"]) for d in decided] == [
        (9_000_000, [{"year": year, "amount_cents": 3_000_000} for year in YEARS])]
    assert funder_envelope(desk, CAF, programme, 2028) == {"committed_cents": 0, "awaiting_cents": 3_000_000}
    assert funder_envelope(desk, CAF, programme, 2027) == {"committed_cents": 3_000_000, "awaiting_cents": 0}
    desk.assert_integrity(list(YEARLY), YEARS)

    centre = Centre(desk, dossier)
    # 2027: the advances before 31 March; the first review, without report, lets the balances fall due.
    at(clock, 2027, 2)
    assert sorted(centre.pay_due()) == [(2027, 1_000_000), (2027, 1_500_000), (2027, 3_000_000)]
    at(clock, 2027, 6)
    assert centre.review(2027, "continue")["reviews"][0]["outcome"] == "continue"
    assert len(centre.pay_due()) == 3

    # 2028: once the year opens, the CAF commits its own 2028, the desk the others'; then the advances are paid.
    early = desk.call(MANAGERS[CAF], "POST", f"{url}/cpo/years/2028/commit", 409, json={}).json()
    assert early["code"] == "year_not_open"
    at(clock, 2028, 2)
    waiting = next(p for p in centre.payments() if p["funder_id"] == CAF and p["year"] == 2028)
    refused = desk.call(MANAGERS[CAF], "POST", f"/api/v1/payments/{waiting['id']}/pay", 409, json={}).json()
    assert refused["code"] == "year_not_committed" and refused["year"] == 2028
    own = desk.json(MANAGERS[CAF], "POST", f"{url}/cpo/years/2028/commit", json={})
    assert {(c["funder_id"], c["state"]) for c in own["commitments"] if c["year"] == 2028} == {
        (CAF, "committed"), (VILLE, "awaiting"), (PREFECTURE, "awaiting")}
    assert funder_envelope(desk, CAF, programme, 2028) == {"committed_cents": 3_000_000, "awaiting_cents": 0}
    # The association reads each year's state on its grants too.
    grants = desk.json(OTHER_HOLDER, "GET", "/api/v1/grants", params={"dossier_id": dossier["id"]})["items"]
    assert {(g["funder_id"], y["year"]): y["state"] for g in grants for y in g["years"]} == {
        **{(f, 2027): "committed" for f in YEARLY}, **{(f, 2029): "awaiting" for f in YEARLY},
        (CAF, 2028): "committed", (VILLE, 2028): "awaiting", (PREFECTURE, 2028): "awaiting"}
    desk.call(DESK, "POST", f"{url}/cpo/years/2028/commit", json={})
    assert len(centre.pay_due()) == 3
    desk.assert_integrity(list(YEARLY), [2028])
    # The review needs the reports of 2027; it amends the State's 2029 down to 15,000 €.
    missing = centre.review(2028, "continue", 409)
    assert missing["code"] == "reports_missing" and len(missing["missing"]) == 4
    centre.file_reports(2027, list(YEARLY))
    centre.file_activity(2027)
    at(clock, 2028, 5)
    amended = centre.review(2028, "amend", comment="Dotation de l'État revue à la baisse pour 2029.", amendment={
        "amounts": [{"funder_id": PREFECTURE, "year": 2029, "amount_cents": 1_500_000}]})
    assert [v["number"] for v in amended["versions"]] == [1, 2]
    assert {(a["funder_id"], a["year"], a["amount_cents"]) for a in amended["current"]["amounts"]} >= {
        (PREFECTURE, 2029, 1_500_000), (PREFECTURE, 2028, 2_000_000)}
    assert len(centre.pay_due()) == 3
    # The State's decision in a new version, the committee's kept: in /decisions, its export, its dashboard.
    [state] = desk.json(MANAGERS[PREFECTURE], "GET", "/api/v1/decisions",
                        params={"dossier_id": dossier["id"]})["items"]
    amendment_reference = f"{number_of(desk, dossier, PREFECTURE)}-AV1"
    assert (state["granted_amount_cents"], state["decided_amount_cents"], state["amended_on"],
            state["amendment_reference"]) == (5_500_000, 6_000_000, "2028-05-15", amendment_reference)
    assert [a["number"] for a in state["amendments"]] == [2]
    assert state["yearly_amounts"][-1] == {"year": 2029, "amount_cents": 1_500_000}
    exported = desk.call(MANAGERS[PREFECTURE], "GET", "/api/v1/exports/decisions").text
    [row] = [r for r in csv.DictReader(io.StringIO(exported)) if r["dossier_id"] == dossier["id"]]
    assert (row["granted_amount_cents"], row["decided_amount_cents"], row["amended_on"],
            row["amendment_reference"]) == ("5500000", "6000000", "2028-05-15", amendment_reference)
    assert funder_envelope(desk, PREFECTURE, programme, 2029) == {"committed_cents": 0, "awaiting_cents": 1_500_000}

    # 2029: the State's 2029 budget is voted short; the year cannot be committed (nothing is, for anyone) until
    # its envelope takes it.
    at(clock, 2029, 7)
    state_envelope = f"/api/v1/envelopes/{envelopes[(PREFECTURE, 2029)]['id']}"
    desk.call(MANAGERS[PREFECTURE], "PATCH", state_envelope, etag_of=state_envelope, json={"total_cents": 1_000_000})
    short = desk.call(DESK, "POST", f"{url}/cpo/years/2029/commit", 409, json={}).json()
    assert (short["code"], short["year"], short["funder_id"]) == ("envelope_exceeded", 2029, PREFECTURE)
    assert "2029" in short["detail"]
    assert funder_envelope(desk, VILLE, programme, 2029)["committed_cents"] == 0
    desk.call(MANAGERS[PREFECTURE], "PATCH", state_envelope, etag_of=state_envelope, json={"total_cents": 2_000_000})
    desk.call(DESK, "POST", f"{url}/cpo/years/2029/commit", json={})
    assert funder_envelope(desk, PREFECTURE, programme, 2029) == {"committed_cents": 1_500_000, "awaiting_cents": 0}
    # The city's 2028 report is late; the balance waits, the CPO is suspended, then goes on.
    centre.file_reports(2028, [CAF, PREFECTURE])
    centre.file_activity(2028)
    assert sorted(centre.pay_due()) == [(2029, 750_000), (2029, 1_500_000), (2029, 3_000_000)]
    late = centre.review(2029, "continue", 409)
    assert [(m["kind"], m["funder_id"]) for m in late["missing"]] == [("financial_report", VILLE)]
    assert centre.review(2029, "suspend", comment="Compte rendu 2028 de la ville en retard.")["state"] == "suspended"
    city_balance = next(p for p in centre.payments() if p["funder_id"] == VILLE and p["year"] == 2029
                        and p["condition"] == "after_review")
    stopped = desk.call(CITY_MANAGER, "POST", f"/api/v1/payments/{city_balance['id']}/pay", 409, json={})
    assert stopped.json()["code"] in ("cpo_suspended", "review_pending")
    centre.file_reports(2028, [VILLE])
    assert centre.review(2029, "continue")["state"] == "running"
    assert sorted(centre.pay_due()) == [(2029, 750_000), (2029, 1_500_000), (2029, 3_000_000)]
    assert all(p["state"] == "paid" for p in centre.payments())
    assert sum(p["amount_cents"] for p in centre.payments() if p["funder_id"] == PREFECTURE) == 5_500_000

    # 2030: the final evaluation on the reports of 2029; then the renewal keeps the thread.
    at(clock, 2030, 3)
    centre.file_reports(2029, list(YEARLY))
    centre.file_activity(2029)
    evaluated = desk.json(DESK, "POST", f"{url}/cpo/final-evaluation", 201,
                          json={"outcome": "achieved", "comment": "300 familles accueillies chaque année."})
    assert evaluated["state"] == "completed"

    # The open data: each funder's file of each year, valid by the official validator, publishes that year's
    # amount of its convention (the State's 2029 as amended), and nothing of this CPO in the years around.
    number = {agreement["funder_id"]: agreement["number"] for agreement in agreements}
    for funder, yearly in YEARLY.items():
        published = {}
        for year in [2026, *YEARS, 2030]:
            answer = desk.client.get("/api/v1/exports/scdl", params={"funder": funder, "year": year})
            assert answer.status_code == 200 and scdl_problems(answer.text) == [], (funder, year)
            rows = [row for row in csv.DictReader(io.StringIO(answer.text)) if row["referenceDecision"] in (
                number[funder], amendment_reference)]
            published[year] = [(row["montant"], row["referenceDecision"], row["dateConvention"]) for row in rows]
        signed = {year: published[year][0][2] for year in YEARS if published[year]}
        expected = {year: [(f"{yearly // 100}.00", number[funder], signed[year])] for year in YEARS}
        # The year the amendment changed publishes it as its act: its amount, reference and date.
        if funder == PREFECTURE:
            expected[2029] = [("15000.00", amendment_reference, "2028-05-15")]
        assert published == expected | {2026: [], 2030: []}, funder
    desk.assert_integrity(list(YEARLY), YEARS)
    clock.set_clock(None)
    renewal = desk.json(DESK, "POST", "/api/v1/programmes", 201, json={
        "title": "CPO 2030-2032", "track": "cpo", "year": 2030, "funder_ids": list(YEARLY), **period})
    draft = desk.json(OTHER_HOLDER, "POST", f"{url}/cpo/renewal", 201, json={"programme_id": renewal["id"]})
    assert (draft["thread_reference"], draft["previous_dossier_id"]) == (dossier["reference"], dossier["id"])
    assert {line["funder_id"]: line["yearly_amounts_cents"][0] for line in draft["funding_plan"]} == {
        VILLE: 6_000_000, CAF: 3_000_000, PREFECTURE: 1_500_000}
    renewal_keeps_the_thread(desk, dossier, draft)


def renewal_keeps_the_thread(desk: Desk, first: dict[str, Any], draft: dict[str, Any]) -> None:  # noqa: F811
    """The renewal's draft: the association and the desk read the first CPO's reference as the reference, the
    renewal's own beside it, and find both CPOs by it (its letter, agreements and open data: the graduation's story
    in tests/test_seed_fund_through_gateway.py, through the same thread)."""
    thread, own = first["reference"], draft["reference"]
    assert own != thread
    assert desk.json(OTHER_HOLDER, "GET", f"/api/v1/dossiers/{first['id']}")["thread_reference"] == thread
    for reader in (OTHER_HOLDER, DESK):
        threaded = desk.json(reader, "GET", "/api/v1/dossiers", params={"reference": thread})["items"]
        assert {(d["id"], d["reference"], d["thread_reference"]) for d in threaded} == {
            (first["id"], thread, thread), (draft["id"], own, thread)}, reader
        alone = desk.json(reader, "GET", "/api/v1/dossiers", params={"reference": own, "view": "summary"})["items"]
        assert [(d["id"], d["thread_reference"]) for d in alone] == [(draft["id"], thread)], reader
    overview = desk.json(OTHER_HOLDER, "GET", f"/api/v1/dossiers/{draft['id']}/overview")
    assert (overview["dossier"]["reference"], overview["dossier"]["thread_reference"]) == (own, thread)
    events = desk.json(OTHER_HOLDER, "GET", "/api/v1/events", params={"dossier_id": draft["id"]})["items"]
    assert events and {(e["reference"], e["thread_reference"]) for e in events} == {(own, thread)}
    exported = [json.loads(line) for line in desk.call(
        DESK, "GET", "/api/v1/exports/dossiers", params={"format": "jsonl"}).text.splitlines()]
    assert {row["id"]: (row["reference"], row["thread_reference"]) for row in exported
            if row["id"] in (first["id"], draft["id"])} == {first["id"]: (thread, thread), draft["id"]: (own, thread)}


def test_an_annual_call_refuses_a_submission_after_its_deadline(
    desk: Desk, vaults: None, clock: LiveStack  # noqa: F811
) -> None:
    today = TODAY
    closes_on = today + timedelta(days=10)
    call = desk.json(DESK, "POST", "/api/v1/programmes", 201, json={
        "title": "Appel à projets 2027", "track": "annual", "year": today.year, "funder_ids": [VILLE],
        "opens_on": (today - timedelta(days=1)).isoformat(), "closes_on": closes_on.isoformat()})
    project = desk.json(OTHER_HOLDER, "POST", "/api/v1/projects", 201, json={**PROJECT, "title": "Fête de Maurepas"})
    dossier = desk.json(OTHER_HOLDER, "POST", "/api/v1/dossiers", 201, json={
        "programme_id": call["id"], "project_id": project["id"],
        "funding_plan": [{"funder_id": VILLE, "amount_cents": 300_000}]})
    clock.set_clock(datetime.combine(closes_on + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
    late = desk.call(OTHER_HOLDER, "POST", f"/api/v1/dossiers/{dossier['id']}/submit", 409).json()
    assert late["code"] == "programme_closed" and late["closes_on"] == closes_on.isoformat()
    assert closes_on.isoformat() in late["detail"]
    english = desk.call(OTHER_HOLDER, "POST", f"/api/v1/dossiers/{dossier['id']}/submit", 409,
                        headers={"Accept-Language": "en"}).json()
    assert english["detail"] == f"This programme's deadline for submissions was {closes_on}."
