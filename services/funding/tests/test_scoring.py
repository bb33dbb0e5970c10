"""The seed fund's grid: in session, each committee member present scores a seed-fund item (innovation, collective
dimension, residents' involvement, feasibility: 0 to 5); the agenda and the minutes show the averages and their
spread; a recused member's scores are refused; the other tracks have no grid."""

from typing import Any

import pytest

from services.funding.tests.committee_helpers import (
    CITY_MEMBER,
    INSTRUCTOR_OF,
    decide,
    item_of,
    ok,
    open_session,
    plan_session,
    ready,
    session_url,
)
from services.funding.tests.helpers import PREFECTURE, PROGRAMME_ID, VILLE, create_programme, url_of
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, COMMITTEE_MEMBER, DESK, HOLDER, OTHER_HOLDER, World, org_id

SEED_PLAN: list[dict[str, Any]] = [
    {"funder_id": VILLE, "amount_cents": 800_000}, {"funder_id": PREFECTURE, "amount_cents": 400_000},
]
CITY_MARKS = {"innovation": 4, "collective": 5, "residents_involvement": 4, "feasibility": 3}
STATE_MARKS = {"innovation": 5, "collective": 5, "residents_involvement": 4, "feasibility": 4}


PARTNERS = [
    {"name": "Maurepas Solidaire", "organisation_id": org_id("maurepas-solidaire")},
    {"name": "Les Bricoleurs de Maurepas", "rna": "W353099999"},
]
LEARNING_PLAN = {
    "experiment": "Un café réparation tenu par les habitants, deux samedis par mois.",
    "evidence": "Objets réparés, bénévoles formés, fréquentation, avis des habitants.",
}


def seed_draft(world: World, programme: dict[str, Any], **extra: Any) -> dict[str, Any]:
    project = world.create_project(title="Café réparation de Maurepas", **extra.pop("project", {}))
    world.budget_matching(project, SEED_PLAN)
    return ok(world.as_("funding", HOLDER).post("/api/v1/dossiers", json={
        "programme_id": programme["id"], "project_id": project["id"], "funding_plan": SEED_PLAN, **extra}), 201)


def seed_dossier(world: World, programme: dict[str, Any]) -> dict[str, Any]:
    """A repair café of a collective, on the seed fund, ready for the committee."""
    dossier = seed_draft(world, programme, partners=PARTNERS, learning_plan=LEARNING_PLAN)
    assert dossier["partners"][1]["rna"] == "W353099999"
    world.submit(dossier)
    world.provide_required_documents(track="seed")
    desk = world.as_("funding", DESK)
    ok(desk.post(f"{url_of(dossier)}/admissibility", json={"decision": "admissible"}))
    ok(desk.post(f"{url_of(dossier)}/route", json={}))
    for line in SEED_PLAN:
        opinion = {"opinion": "favourable", "proposed_amount_cents": line["amount_cents"]}
        ok(world.as_("funding", INSTRUCTOR_OF[line["funder_id"]]).put(
            f"{url_of(dossier)}/opinions/mine", json=opinion), 201)
    return ok(desk.get(url_of(dossier)))


@pytest.fixture
def seed(world: World) -> dict[str, Any]:
    programme = create_programme(world, title="Fonds d'amorçage", track="seed", funder_ids=[VILLE, PREFECTURE])
    for email in (CITY_MANAGER, "direction@prefecture35.example"):
        ok(world.as_("funding", email).post("/api/v1/envelopes", json={
            "programme_id": programme["id"], "year": programme["year"], "total_cents": 5_000_000}), 201)
    return programme


def score(world: World, email: str, session: dict[str, Any], dossier: dict[str, Any], marks: dict[str, int],
          **kwargs: Any):  # noqa: ANN201
    url = f"{session_url(session)}/items/{item_of(session, dossier)['id']}/scores/mine"
    return world.as_("funding", email).put(url, json=marks, **kwargs)


def test_members_score_a_seed_item_and_the_agenda_shows_averages_and_spread(world: World, seed: dict) -> None:
    repair, annual = seed_dossier(world, seed), ready(world)
    both = [VILLE, PREFECTURE]
    planned = plan_session(world, [repair, annual], both, programme_ids=[seed["id"], annual["programme_id"]])
    early = score(world, CITY_MEMBER, planned, repair, CITY_MARKS)
    assert early.status_code == 409 and problem(early)["code"] == "session_not_open"
    ok(world.as_("funding", CITY_MANAGER).post(f"{session_url(planned)}/conflicts", json={
        "item_id": item_of(planned, repair)["id"], "reason": "Je suis adhérent du café."}), 201)
    session = ok(open_session(world, planned, both))
    assert item_of(session, annual)["scores"] is None
    assert item_of(session, repair)["scores"]["count"] == 0

    first = score(world, CITY_MEMBER, session, repair, CITY_MARKS)
    assert first.status_code == 201 and first.headers["etag"] == '"1"'
    ok(score(world, COMMITTEE_MEMBER, session, repair, STATE_MARKS), 201)
    recused = score(world, CITY_MANAGER, session, repair, CITY_MARKS)
    assert recused.status_code == 409 and problem(recused)["code"] == "recused"
    no_grid = score(world, CITY_MEMBER, session, annual, CITY_MARKS)
    assert no_grid.status_code == 409 and problem(no_grid)["code"] == "no_scoring_grid"
    assert score(world, CITY_MEMBER, session, repair, {**CITY_MARKS, "feasibility": 6}).status_code == 422

    summary = item_of(ok(world.as_("funding", DESK).get(session_url(session))), repair)["scores"]
    assert summary == {"count": 2, "innovation": 4.5, "collective": 5.0, "residents_involvement": 4.0,
                       "feasibility": 3.5, "average": 4.25, "spread": 0.5}

    # A member changes its marks under the ETag; the same marks again keep it.
    assert score(world, CITY_MEMBER, session, repair, {**CITY_MARKS, "feasibility": 5}).status_code == 428
    changed = score(world, CITY_MEMBER, session, repair, {**CITY_MARKS, "feasibility": 5},
                    headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
    same = score(world, CITY_MEMBER, session, repair, {**CITY_MARKS, "feasibility": 5}, headers={"If-Match": '"2"'})
    assert same.headers["etag"] == '"2"'
    marks_url = f"{session_url(session)}/items/{item_of(session, repair)['id']}/scores"
    assert len(ok(world.as_("funding", DESK).get(marks_url))) == 2
    assert world.as_("funding", CITY_MEMBER).get(marks_url).status_code == 403

    for dossier, grants in ((repair, SEED_PLAN), (annual, None)):
        for line in grants or [{"funder_id": VILLE, "amount_cents": 1_500_000},
                               {"funder_id": PREFECTURE, "amount_cents": 1_000_000}]:
            email = CITY_MEMBER if line["funder_id"] == VILLE else COMMITTEE_MEMBER
            ok(decide(world, session, dossier, line["funder_id"], line["amount_cents"], email=email), 201)
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    minutes = ok(world.as_("funding", DESK).get(f"{session_url(session)}/minutes"))
    by_reference = {item["reference"]: item for item in minutes["items"]}
    assert by_reference[repair["reference"]]["scores"]["average"] == 4.5
    assert by_reference[annual["reference"]]["scores"] is None
    document = world.as_("funding", DESK).get(f"{session_url(session)}/minutes", params={"format": "html"}).text
    assert "Grille du fonds d&#39;amorçage" in document and "4.50/5 (écart 0.00, 2 membres)" in document


class TestTheSeedDossier:
    def test_a_collective_names_its_partners_and_its_learning_plan(self, world: World, seed: dict) -> None:
        alone = seed_draft(world, seed)
        refused = world.as_("funding", HOLDER).post(f"{url_of(alone)}/submit")
        assert refused.status_code == 409
        assert set(problem(refused)["failed_rules"]) == {"seed_partners_missing", "seed_learning_plan_missing"}
        completed = ok(world.as_("funding", HOLDER).patch(
            url_of(alone), json={"partners": PARTNERS[:1], "learning_plan": LEARNING_PLAN},
            headers={"If-Match": f'"{alone["version"]}"'}))
        assert completed["learning_plan"] == LEARNING_PLAN
        assert ok(world.as_("funding", HOLDER).post(f"{url_of(alone)}/submit"))["state"] == "submitted"

    @pytest.mark.parametrize("partner", [
        pytest.param({"name": "Sans identifiant"}, id="unidentified"),
        pytest.param({"name": "SIRET faux", "siret": "12345678901234"}, id="siret-luhn"),
        pytest.param({"name": "SIREN faux", "siret": "83456789400003"}, id="siret-whose-siren-fails-luhn"),
        pytest.param({"name": "La Poste par Luhn", "siret": "35600000000014"}, id="la-poste-establishment-by-luhn"),
        pytest.param({"name": "RNA faux", "rna": "W12"}, id="rna"),
    ])
    def test_a_partner_is_registered_or_identified(self, world: World, seed: dict, partner: dict) -> None:
        project = world.create_project()
        answer = world.as_("funding", HOLDER).post("/api/v1/dossiers", json={
            "programme_id": seed["id"], "project_id": project["id"], "funding_plan": SEED_PLAN,
            "partners": [partner]})
        assert answer.status_code == 422

    def test_partners_identifiers_are_stored_as_the_registries_write_them(self, world: World, seed: dict) -> None:
        dossier = seed_draft(world, seed, partners=[
            {"name": "Régie de quartier", "siret": "732 829 320 00074"},
            {"name": "Les Amis du Blosne", "rna": "w9p1002760"},
        ])
        assert [(p["siret"], p["rna"]) for p in dossier["partners"]] == [
            ("73282932000074", None), (None, "W9P1002760")]

    def test_a_seed_project_lasts_18_months_at_most(self, world: World, seed: dict) -> None:
        long = seed_draft(world, seed, partners=PARTNERS, learning_plan=LEARNING_PLAN,
                          project={"start_date": "2027-01-05", "end_date": "2028-07-06"})
        refused = world.as_("funding", HOLDER).post(f"{url_of(long)}/submit")
        assert refused.status_code == 409 and problem(refused)["failed_rules"] == ["duration_exceeded"]
        assert "18 mois" in problem(refused)["errors"][0]["message"]

    def test_the_seed_fund_ceiling_is_15000_euros(self, world: World, seed: dict) -> None:
        project = world.create_project()
        answer = world.as_("funding", HOLDER).post("/api/v1/dossiers", json={
            "programme_id": seed["id"], "project_id": project["id"],
            "funding_plan": [{"funder_id": VILLE, "amount_cents": 1_500_001}]})
        assert answer.status_code == 422 and problem(answer)["limit_cents"] == 1_500_000


def granted_seed(world: World, programme: dict[str, Any]) -> dict[str, Any]:
    """A seed dossier granted in full by the city and the State, its session closed."""
    repair = seed_dossier(world, programme)
    both = [VILLE, PREFECTURE]
    session = ok(open_session(world, plan_session(world, [repair], both, programme_ids=[programme["id"]]), both))
    ok(decide(world, session, repair, VILLE, 800_000, email=CITY_MEMBER), 201)
    ok(decide(world, session, repair, PREFECTURE, 400_000, email=COMMITTEE_MEMBER), 201)
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    return repair


class TestTheMidTermLearningReview:
    def test_70_percent_at_the_start_30_once_the_review_is_accepted(self, world: World, seed: dict) -> None:
        repair = granted_seed(world, seed)
        holder, desk = world.as_("funding", HOLDER), world.as_("funding", DESK)
        city = world.as_("funding", CITY_MANAGER)
        [letter] = [a for a in holder.get("/api/v1/agreements", params={"dossier_id": repair["id"]}).json()["items"]
                    if a["funder_id"] == VILLE]
        ok(city.post(f"/api/v1/agreements/{letter['id']}/send"))
        start, rest = sorted(holder.get("/api/v1/payments", params={"agreement_id": letter["id"]}).json()["items"],
                             key=lambda p: p["sequence"])
        assert (start["amount_cents"], start["state"], rest["amount_cents"], rest["state"]) == (
            560_000, "due", 240_000, "scheduled")
        waiting = city.post(f"/api/v1/payments/{rest['id']}/pay")
        assert waiting.status_code == 409 and problem(waiting)["code"] == "review_pending"

        url = f"{url_of(repair)}/learning-review"
        assert holder.get(url).status_code == 404
        written = holder.put(url, json={"learned": "Les habitants réparent eux-mêmes, accompagnés."})
        assert written.status_code == 201 and written.headers["etag"] == '"1"'
        assert holder.put(url, json={"learned": "Sans ETag."}).status_code == 428
        ok(holder.post(f"{url}/submit"))
        assert desk.post(f"{url}/request-changes", json={}).status_code == 422
        back = ok(desk.post(f"{url}/request-changes", json={"comment": "Combien d'objets réparés ?"}))
        assert back["state"] == "changes_requested"
        ok(holder.put(url, json={"learned": "120 objets réparés, 15 bénévoles formés.", "next_steps": "Un 3e samedi."},
                      headers={"If-Match": f'"{back["version"]}"'}))
        ok(holder.post(f"{url}/submit"))
        assert world.as_("funding", CITY_MEMBER).post(f"{url}/accept").status_code == 403
        accepted = ok(desk.post(f"{url}/accept"))
        assert accepted["state"] == "accepted"
        released = ok(holder.get(f"/api/v1/payments/{rest['id']}"))
        assert released["state"] == "due" and released["released_at"]
        assert ok(city.post(f"/api/v1/payments/{rest['id']}/pay"))["state"] == "paid"
        assert desk.post(f"{url}/accept").status_code == 409

    def test_only_a_funded_seed_project_has_one(self, world: World, seed: dict) -> None:
        draft = seed_draft(world, seed, partners=PARTNERS, learning_plan=LEARNING_PLAN)
        early = world.as_("funding", HOLDER).put(f"{url_of(draft)}/learning-review", json={"learned": "Trop tôt."})
        assert early.status_code == 409 and problem(early)["code"] == "no_learning_review"


class TestTheVerdict:
    def test_graduating_opens_a_prefilled_draft_on_the_same_thread(self, world: World, seed: dict) -> None:
        repair = granted_seed(world, seed)
        holder, desk = world.as_("funding", HOLDER), world.as_("funding", DESK)
        url = f"{url_of(repair)}/verdict"
        early = desk.post(url, json={"verdict": "graduate", "programme_id": PROGRAMME_ID})
        assert early.status_code == 409 and problem(early)["code"] == "no_verdict_yet"
        ok(holder.put(f"{url_of(repair)}/learning-review", json={"learned": "Ça marche."}), 201)
        ok(holder.post(f"{url_of(repair)}/learning-review/submit"))
        ok(desk.post(f"{url_of(repair)}/learning-review/accept"))

        assert desk.post(url, json={"verdict": "stop", "programme_id": PROGRAMME_ID}).status_code == 422
        assert desk.post(url, json={"verdict": "graduate"}).status_code == 422
        to_seed = desk.post(url, json={"verdict": "graduate", "programme_id": seed["id"]})
        assert to_seed.status_code == 422 and problem(to_seed)["code"] == "not_a_graduation_programme"
        graduated = desk.post(url, json={"verdict": "graduate", "comment": "Prêt pour une CPO.",
                                         "programme_id": PROGRAMME_ID})
        assert graduated.status_code == 200, graduated.text
        outcome = graduated.json()
        assert (outcome["dossier"]["verdict"], outcome["dossier"]["verdict_comment"]) == ("graduate",
                                                                                         "Prêt pour une CPO.")
        draft = outcome["draft"]
        assert graduated.headers["location"] == f"/api/v1/dossiers/{draft['id']}"
        assert (draft["state"], draft["programme_id"], draft["project_id"]) == ("draft", PROGRAMME_ID,
                                                                              repair["project_id"])
        assert (draft["thread_reference"], draft["previous_dossier_id"]) == (repair["reference"], repair["id"])
        assert (draft["request_kind"], draft["request_object"]) == ("first", "project")  # a graduation is no renewal
        assert draft["reference"] != repair["reference"]
        assert draft["funding_plan"] == SEED_PLAN and draft["partners"] == repair["partners"]
        assert ok(holder.get(url_of(draft)))["learning_plan"] == LEARNING_PLAN
        again = desk.post(url, json={"verdict": "stop"})
        assert again.status_code == 409 and problem(again)["code"] == "verdict_given"


def test_another_association_and_a_funder_outside_the_plan_see_no_learning_review(world: World, seed: dict) -> None:
    repair = granted_seed(world, seed)
    url = f"{url_of(repair)}/learning-review"
    ok(world.as_("funding", HOLDER).put(url, json={"learned": "Ça marche."}), 201)
    other = world.as_("funding", OTHER_HOLDER)
    assert other.get(url).status_code == 404
    assert other.put(url, json={"learned": "Intrusion."}).status_code == 404
    assert other.post(f"{url}/submit").status_code == 404
    assert world.as_("funding", "direction@caf35.example").get(url).status_code == 404
    assert world.as_("funding", CITY_MANAGER).get(url).status_code == 200  # the city funds it
    assert world.as_("funding", HOLDER).get(url).json()["learned"] == "Ça marche."
