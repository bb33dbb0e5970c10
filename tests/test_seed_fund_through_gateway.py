"""A seed-fund project's whole life through the gateway, against the four real processes, on both databases: a
collective of associations tries a repair café run by residents; the committee scores it on the grid and grants
12,000 €; 70 % is paid once the letter is in force, 30 % once the mid-term learning review is accepted; the verdict
is to graduate, and a CPO draft opens on the same thread; through its committee, everybody reads the seed project's
reference as the reference, the CPO's own beside it."""

import csv
import io
import json
from datetime import timedelta
from typing import Any

from scripts.live_stack import LiveStack
from services.funding.tests.scdl_validation import scdl_problems
from tests.support.clock import TODAY
from tests.support.world import COMMITTEE_MEMBER, DESK, PROJECT, org_id
from tests.test_committee_through_gateway import (  # noqa: F401  (fixtures)
    MANAGER,
    THIRD_HOLDER,
    Desk,
    desk,
    item,
    vaults,
)

METROPOLE, PREFECTURE = org_id("metropole"), org_id("prefecture")
GRANTED = 1_200_000


def test_a_seed_project_from_the_grid_to_its_graduation(desk: Desk, vaults: None, live: LiveStack) -> None:  # noqa: F811
    today = TODAY
    period = {"opens_on": (today - timedelta(days=1)).isoformat(),
              "closes_on": (today + timedelta(days=60)).isoformat()}
    seed = desk.json(DESK, "POST", "/api/v1/programmes", 201, json={
        "title": "Fonds d'amorçage", "track": "seed", "year": today.year, "funder_ids": [METROPOLE, PREFECTURE],
        **period})
    assert (seed["rules"]["ceiling_cents"], seed["rules"]["max_duration_months"]) == (1_500_000, 18)
    manager = MANAGER["metropole"]
    desk.call(manager, "POST", "/api/v1/envelopes", 201, json={
        "programme_id": seed["id"], "year": today.year, "total_cents": 5_000_000})

    # The collective's dossier: the Jardins du Gros Chêne lead, with two partners and a learning plan.
    project = desk.json(THIRD_HOLDER, "POST", "/api/v1/projects", 201, json={
        **PROJECT, "title": "Café réparation de Maurepas", "qpv_codes": ["QN03504M"], "total_cost_cents": 2_000_000,
        "start_date": (today + timedelta(days=30)).isoformat(), "end_date": (today + timedelta(days=400)).isoformat()})
    desk.call(THIRD_HOLDER, "PUT", f"/api/v1/projects/{project['id']}/budget", headers={"If-Match": '"0"'}, json={
        "charges": [{"account_group": "60", "label": "Outillage", "amount_cents": 800_000},
                    {"account_group": "64", "label": "Animation", "amount_cents": 1_200_000}],
        "income": [{"account_group": "74", "label": "Métropole", "amount_cents": GRANTED, "funder_id": METROPOLE},
                   {"account_group": "75", "label": "Cotisations", "amount_cents": 800_000}]})
    dossier = desk.json(THIRD_HOLDER, "POST", "/api/v1/dossiers", 201, json={
        "programme_id": seed["id"], "project_id": project["id"],
        "funding_plan": [{"funder_id": METROPOLE, "amount_cents": GRANTED}],
        "partners": [{"name": "Maurepas Solidaire", "organisation_id": org_id("maurepas-solidaire")},
                     {"name": "Les Bricoleurs de Maurepas", "rna": "W353099999"}],
        "learning_plan": {"experiment": "Un café réparation tenu par les habitants.",
                          "evidence": "Objets réparés, bénévoles formés, fréquentation."}})
    url = f"/api/v1/dossiers/{dossier['id']}"
    desk.json(THIRD_HOLDER, "POST", f"{url}/submit")
    desk.call(DESK, "POST", f"{url}/admissibility", json={"decision": "admissible"})
    desk.call(DESK, "POST", f"{url}/route", json={})
    ready = desk.json(manager, "PUT", f"{url}/opinions/mine", 201,
                      json={"opinion": "favourable", "proposed_amount_cents": GRANTED})
    assert ready["opinion"] == "favourable"

    # The committee: the grid, then the decision.
    session = desk.json(DESK, "POST", "/api/v1/sessions", 201, json={
        "title": "Comité du fonds d'amorçage", "held_on": today.isoformat(), "place": "Maison de quartier",
        "programme_ids": [seed["id"]]})
    session_url = f"/api/v1/sessions/{session['id']}"
    desk.call(DESK, "PUT", f"{session_url}/funders", etag_of=session_url, json={"funder_ids": [METROPOLE, PREFECTURE]})
    session = desk.json(DESK, "PUT", f"{session_url}/agenda", etag_of=session_url,
                        json={"items": [{"dossier_id": dossier["id"]}]})
    session = desk.json(DESK, "POST", f"{session_url}/open", json={"present_funder_ids": [METROPOLE, PREFECTURE]})
    scores_url = f"{session_url}/items/{item(session, dossier)['id']}/scores/mine"
    desk.call(manager, "PUT", scores_url, 201,
              json={"innovation": 4, "collective": 5, "residents_involvement": 4, "feasibility": 4})
    # The State's member sees nothing of a dossier that asks nothing of the State.
    desk.call(COMMITTEE_MEMBER, "PUT", scores_url, 404,
              json={"innovation": 4, "collective": 4, "residents_involvement": 4, "feasibility": 4})
    grid = item(desk.json(DESK, "GET", session_url), dossier)["scores"]
    assert (grid["count"], grid["average"], grid["spread"]) == (1, 4.25, 0.0)
    desk.call(manager, "PUT", f"{session_url}/items/{item(session, dossier)['id']}/decisions/mine", 201,
              json={"granted_amount_cents": GRANTED})
    closed = desk.json(DESK, "POST", f"{session_url}/close", json={})
    assert item(closed, dossier)["outcome"] == "accepted"

    # 70 % once the letter is in force, 30 % once the mid-term learning review is accepted.
    [letter] = desk.json(THIRD_HOLDER, "GET", "/api/v1/agreements", params={"dossier_id": dossier["id"]})["items"]
    assert letter["kind"] == "decision_letter"
    desk.call(manager, "POST", f"/api/v1/agreements/{letter['id']}/send", json={})
    start, rest = sorted(desk.json(THIRD_HOLDER, "GET", "/api/v1/payments",
                                   params={"agreement_id": letter["id"]})["items"], key=lambda p: p["sequence"])
    assert (start["amount_cents"], rest["amount_cents"]) == (840_000, 360_000)
    assert desk.json(manager, "POST", f"/api/v1/payments/{start['id']}/pay", json={})["state"] == "paid"
    assert desk.call(manager, "POST", f"/api/v1/payments/{rest['id']}/pay", 409).json()["code"] == "review_pending"
    desk.call(THIRD_HOLDER, "PUT", f"{url}/learning-review", 201,
              json={"learned": "120 objets réparés, 15 bénévoles formés, des habitants qui reviennent."})
    desk.call(THIRD_HOLDER, "POST", f"{url}/learning-review/submit", json={})
    desk.call(DESK, "POST", f"{url}/learning-review/accept", json={})
    assert desk.json(manager, "POST", f"/api/v1/payments/{rest['id']}/pay", json={})["state"] == "paid"
    desk.assert_integrity([METROPOLE, PREFECTURE], [today.year])

    # The verdict: graduate, towards a CPO, on the same thread.
    cpo = desk.json(DESK, "POST", "/api/v1/programmes", 201, json={
        "title": "CPO 2027-2029", "track": "cpo", "year": today.year, "funder_ids": [METROPOLE, PREFECTURE],
        "convention_threshold_cents": 0, **period})
    outcome = desk.json(DESK, "POST", f"{url}/verdict", json={
        "verdict": "graduate", "comment": "Le café devient un lieu durable.", "programme_id": cpo["id"]})
    draft = outcome["draft"]
    assert (outcome["dossier"]["verdict"], draft["state"], draft["programme_id"]) == ("graduate", "draft", cpo["id"])
    assert (draft["thread_reference"], draft["previous_dossier_id"]) == (dossier["reference"], dossier["id"])
    # The CPO's three years (its default) share what the seed project had.
    assert desk.json(THIRD_HOLDER, "GET", f"/api/v1/dossiers/{draft['id']}")["funding_plan"] == [
        {"funder_id": METROPOLE, "amount_cents": GRANTED, "yearly_amounts_cents": [400_000] * 3}]
    graduation_keeps_the_thread(desk, dossier, draft, project, cpo)


def graduation_keeps_the_thread(desk: Desk, first: dict[str, Any], draft: dict[str, Any],  # noqa: F811
                                project: dict[str, Any], cpo: dict[str, Any]) -> None:
    """The CPO that follows, through its committee: the association, the funder, the letter, the convention's
    document, the exports, the events and the open data give the seed project's reference as the reference, the
    CPO's own beside it."""
    thread, own = first["reference"], draft["reference"]
    assert own != thread and first["thread_reference"] == thread  # a first dossier is its own thread
    manager, year = MANAGER["metropole"], cpo["year"]
    years = [year, year + 1, year + 2]
    desk.call(manager, "POST", "/api/v1/envelopes", 201, json={
        "programme_id": cpo["id"], "year": year, "total_cents": GRANTED})
    # The project over the CPO's three years, with a target for each; the CPO's objectives.
    project_url = f"/api/v1/projects/{project['id']}"
    desk.call(THIRD_HOLDER, "PATCH", project_url, etag_of=project_url,
              json={"start_date": f"{year}-01-01", "end_date": f"{year + 2}-12-31"})
    desk.call(THIRD_HOLDER, "PUT", f"{project_url}/indicators", json={"targets": [
        {"indicator_code": "qpv_residents_reached", "period": str(y), "target": 200} for y in years]})
    url = f"/api/v1/dossiers/{draft['id']}"
    desk.call(THIRD_HOLDER, "PATCH", url, etag_of=url, json={"objectives": ["Ouvrir le café chaque samedi."]})
    desk.call(THIRD_HOLDER, "POST", f"{url}/submit")
    desk.call(DESK, "POST", f"{url}/admissibility", json={"decision": "admissible"})
    desk.call(DESK, "POST", f"{url}/route", json={})
    desk.call(manager, "PUT", f"{url}/opinions/mine", 201,
              json={"opinion": "favourable", "proposed_amount_cents": GRANTED})
    session = desk.json(DESK, "POST", "/api/v1/sessions", 201, json={
        "title": "Comité des financeurs — CPO", "held_on": TODAY.isoformat(), "place": "Maison de quartier",
        "programme_ids": [cpo["id"]]})
    session_url = f"/api/v1/sessions/{session['id']}"
    desk.call(DESK, "PUT", f"{session_url}/funders", etag_of=session_url, json={"funder_ids": [METROPOLE, PREFECTURE]})
    desk.call(DESK, "PUT", f"{session_url}/agenda", etag_of=session_url, json={"items": [{"dossier_id": draft["id"]}]})
    session = desk.json(DESK, "POST", f"{session_url}/open", json={"present_funder_ids": [METROPOLE, PREFECTURE]})
    desk.call(manager, "PUT", f"{session_url}/items/{item(session, draft)['id']}/decisions/mine", 201,
              json={"granted_amount_cents": GRANTED})
    desk.call(DESK, "POST", f"{session_url}/close", json={})

    # The association's letter: the thread's reference in its subject, both at its head.
    [letter] = desk.json(THIRD_HOLDER, "GET", "/api/v1/notifications", params={"dossier_id": draft["id"]})["items"]
    assert (letter["reference"], letter["thread_reference"]) == (own, thread)
    assert letter["subject"].startswith(f"Dossier {thread} : réponse du comité")
    assert letter["body"].startswith(f"Référence : {thread} (dossier {own})\n\nBonjour,")

    # The convention: numbered from the thread, unique by the CPO's own reference; the association's home.
    [convention] = desk.json(THIRD_HOLDER, "GET", "/api/v1/agreements", params={"dossier_id": draft["id"]})["items"]
    assert (convention["reference"], convention["thread_reference"]) == (own, thread)
    assert convention["number"] == f"CONV-{thread[3:]}-{own[3:]}-1"
    convention_url = f"/api/v1/agreements/{convention['id']}"
    desk.call(manager, "POST", f"{convention_url}/send", json={})
    home = desk.json(THIRD_HOLDER, "GET", "/api/v1/dashboards/association")["home"]
    to_sign = [(due["reference"], due["thread_reference"]) for due in home["due_next"]
               if due["item_id"] == convention["id"]]
    assert to_sign == [(own, thread)]
    desk.call(manager, "POST", f"{convention_url}/sign", json={})
    desk.call(THIRD_HOLDER, "POST", f"{convention_url}/sign", json={})
    desk.call(manager, "POST", f"{convention_url}/activate", json={})
    document = desk.call(THIRD_HOLDER, "GET", f"{convention_url}/document").text
    assert f"<dt>Référence</dt><dd>{thread} (dossier {own})</dd>" in document and convention["number"] in document
    home = desk.json(THIRD_HOLDER, "GET", "/api/v1/dashboards/association")["home"]
    expected = {(p["reference"], p["thread_reference"]) for p in home["payments_expected"]["next"]
                if p["dossier_id"] == draft["id"]}
    assert expected == {(own, thread)}
    reports = desk.json(THIRD_HOLDER, "GET", "/api/v1/financial-reports", params={"dossier_id": draft["id"]})["items"]
    assert len(reports) == 3 and {(r["reference"], r["thread_reference"]) for r in reports} == {(own, thread)}

    # The funder: the thread's reference finds both dossiers; its exports and its events name both references.
    threaded = desk.json(manager, "GET", "/api/v1/dossiers", params={"reference": thread, "view": "summary"})
    assert {(d["id"], d["reference"], d["thread_reference"]) for d in threaded["items"]} == {
        (first["id"], thread, thread), (draft["id"], own, thread)}
    for kind in ("dossiers", "decisions", "payments"):
        exported = [json.loads(line) for line in desk.call(
            manager, "GET", f"/api/v1/exports/{kind}", params={"format": "jsonl"}).text.splitlines()]
        mine = {(row["reference"], row["thread_reference"]) for row in exported
                if row.get("dossier_id", row["id"]) == draft["id"]}
        assert mine == {(own, thread)}, kind
    events = desk.json(manager, "GET", "/api/v1/events", params={"dossier_id": draft["id"]})["items"]
    assert events and {(e["reference"], e["thread_reference"]) for e in events} == {(own, thread)}
    decided = desk.json(manager, "GET", "/api/v1/decisions", params={"dossier_id": draft["id"]})["items"]
    assert [(d["reference"], d["thread_reference"]) for d in decided] == [(own, thread)]

    # The open data: each year of the CPO names the convention, whose number carries the thread.
    for y in years:
        answer = desk.client.get("/api/v1/exports/scdl", params={"funder": METROPOLE, "year": y})
        assert answer.status_code == 200 and scdl_problems(answer.text) == [], y
        rows = [row for row in csv.DictReader(io.StringIO(answer.text))
                if row["referenceDecision"] == convention["number"]]
        assert [row["montant"] for row in rows] == ["4000.00"], y
    desk.assert_integrity([METROPOLE], years)
