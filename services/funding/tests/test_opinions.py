"""Instruction opinions: each funder the dossier is routed to gives its own and the last one makes the dossier ready
for the committee; the citizen council of the project's QPV adds an advisory one; co-funders and the desk read them
all, a council its own, nobody else any."""

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from scripts import demo_data
from services.funding.models.dossier import DossierOpinion
from services.funding.tests.committee_helpers import decide, ok, open_session, plan_session, ready, session_url
from services.funding.tests.helpers import DEPARTEMENT, PREFECTURE, VILLE, history_count, url_of
from services.funding.tests.test_admissibility import PLAN, every_required_document, post
from tests.support.stack import Api, problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    PLATFORM,
    STATE_INSTRUCTOR,
    World,
    org_id,
)

BLOSNE_COUNCIL = org_id("conseil-blosne")
CITY_OPINION: dict[str, Any] = {
    "opinion": "favourable",
    "proposed_amount_cents": 1_800_000,
    "conditions": "Bilan intermédiaire à mi-parcours.",
    "comment": "Projet solide, public bien identifié.",
}
STATE_OPINION = {"opinion": "reserved", "proposed_amount_cents": 800_000, "conditions": "Co-financement CAF."}
COUNCIL_OPINION = {"opinion": "favourable", "comment": "Les familles du quartier attendent ce projet."}


def person_id(email: str) -> str:
    return str(next(user.id for user in demo_data.USERS if user.email == email))


def routed(world: World, plan: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A dossier in instruction: submitted, every document in the vault, admissible, the desk's share (if any)
    given to the city, routed to the funders of its plan (the city and the State by default)."""
    dossier = world.submit(world.create_dossier(plan=plan or PLAN))
    every_required_document(world)
    response = post(world, DESK, dossier, "admissibility", {"decision": "admissible"})
    assert response.status_code == 200, response.text
    pending = [line for line in dossier["funding_plan"] if line["funder_id"] is None]
    if pending:
        shares = [{"funder_id": VILLE, "amount_cents": pending[0]["amount_cents"]}]
        response = post(world, DESK, dossier, "allocate", {"lines": shares})
        assert response.status_code == 200, response.text
    response = post(world, DESK, dossier, "route")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "in_instruction"
    return response.json()


def mine(dossier: dict[str, Any]) -> str:
    return f"{url_of(dossier)}/opinions/mine"


def opinions_url(dossier: dict[str, Any]) -> str:
    return f"{url_of(dossier)}/opinions"


def give(world: World, email: str, dossier: dict[str, Any], body: dict[str, Any], **kwargs: Any):  # noqa: ANN201
    return world.as_("funding", email).put(mine(dossier), json=body, **kwargs)


def state_of(world: World, dossier: dict[str, Any]) -> str:
    return world.as_("funding", DESK).get(url_of(dossier)).json()["state"]


def stored(world: World, dossier: dict[str, Any]) -> list[tuple[str, str, int | None, int]]:
    """Every opinion row of the dossier, straight from funding's table: (organisation, opinion, amount, version)."""

    async def rows() -> list[tuple[str, str, int | None, int]]:
        async with world.stack.apps["funding"].state.db.reader() as session:
            found = await session.execute(
                select(DossierOpinion).where(col(DossierOpinion.dossier_id) == uuid.UUID(dossier["id"]))
            )
            return sorted(
                (str(row.organisation_id), row.opinion, row.proposed_amount_cents, row.version)
                for row in found.scalars()
            )

    return world.stack.run(rows)


def history(world: World, dossier: dict[str, Any]) -> list[tuple[str, str | None, str, str | None]]:
    answer = world.as_("funding", DESK).get(f"{url_of(dossier)}/history")
    assert answer.status_code == 200, answer.text
    return [(row["action"], row["from_state"], row["to_state"], row["comment"]) for row in answer.json()]


def council_of(world: World, qpv_codes: list[str], email: str) -> Api:
    """Another citizen council, registered by the platform, and its reviewer logged in."""
    platform = world.as_("identity", PLATFORM)
    council = platform.post(
        "/api/v1/organisations", json={"kind": "citizen_council", "name": "Conseil citoyen", "qpv_codes": qpv_codes}
    )
    assert council.status_code == 201, council.text
    invited = platform.post(f"/api/v1/organisations/{council.json()['id']}/invitations",
                            json={"email": email, "roles": ["citizen_reviewer"]})
    assert invited.status_code == 201, invited.text
    accepted = world.stack.api("identity").post("/api/v1/invitations/accept", json={
        "token": world.stack.identity_mail.token(email, "inv_"), "full_name": "Membre du conseil",
        "password": demo_data.DEMO_PASSWORD})
    assert accepted.status_code == 201, accepted.text
    return world.as_("funding", email)


class TestFundersOpinions:
    def test_each_routed_funder_gives_its_opinion_the_last_makes_the_dossier_ready(self, world: World) -> None:
        dossier = routed(world)
        city = give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        assert city.status_code == 201, city.text
        assert city.headers["etag"] == '"1"'
        assert city.headers["location"] == mine(dossier)
        body = city.json()
        assert {key: body[key] for key in CITY_OPINION} == CITY_OPINION
        assert (body["organisation_id"], body["author_kind"], body["author"], body["version"]) == (
            VILLE, "funder", person_id(CITY_INSTRUCTOR), 1,
        )
        assert state_of(world, dossier) == "in_instruction"  # the State has not answered yet

        state = give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION)
        assert state.status_code == 201, state.text
        assert state.json()["comment"] is None  # left out: none
        assert state_of(world, dossier) == "ready_for_committee"
        assert stored(world, dossier) == sorted(
            [(VILLE, "favourable", 1_800_000, 1), (PREFECTURE, "reserved", 800_000, 1)]
        )
        assert history(world, dossier)[-3:] == [
            ("opinion_recorded", "in_instruction", "in_instruction", None),
            ("opinion_recorded", "in_instruction", "in_instruction", None),
            ("ready_for_committee", "in_instruction", "ready_for_committee", None),
        ]

    def test_a_manager_answers_for_its_funder_too(self, world: World) -> None:
        dossier = routed(world)
        response = give(world, CITY_MANAGER, dossier, {"opinion": "unfavourable", "proposed_amount_cents": 0})
        assert response.status_code == 201, response.text
        assert stored(world, dossier) == [(VILLE, "unfavourable", 0, 1)]
        # The city's instructor replaces its funder's opinion: one per organisation, not per person.
        again = give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION, headers={"If-Match": '"1"'})
        assert again.status_code == 200, again.text
        assert stored(world, dossier) == [(VILLE, "favourable", 1_800_000, 2)]

    def test_every_funder_routed_after_an_allocation_must_answer(self, world: World) -> None:
        """The desk's share given to a third funder: two opinions are not enough."""
        dossier = world.submit(world.create_dossier(plan=PLAN))
        every_required_document(world)
        assert post(world, DESK, dossier, "admissibility", {"decision": "admissible"}).status_code == 200
        shares = {"lines": [{"funder_id": DEPARTEMENT, "amount_cents": 500_000}]}
        assert post(world, DESK, dossier, "allocate", shares).status_code == 200
        assert post(world, DESK, dossier, "route").status_code == 200
        assert give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION).status_code == 201
        assert give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION).status_code == 201
        assert state_of(world, dossier) == "in_instruction"
        assert history_count(world, dossier["id"], "ready_for_committee") == 0

    def test_replacing_an_opinion_needs_its_etag(self, world: World) -> None:
        dossier = routed(world)
        assert give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION).status_code == 201
        changed = {**CITY_OPINION, "opinion": "reserved", "proposed_amount_cents": 1_000_000}

        missing = give(world, CITY_INSTRUCTOR, dossier, changed)
        assert missing.status_code == 428 and problem(missing)["code"] == "precondition_required"
        stale = give(world, CITY_INSTRUCTOR, dossier, changed, headers={"If-Match": '"7"'})
        assert stale.status_code == 412 and problem(stale)["current_etag"] == '"1"'
        assert stored(world, dossier) == [(VILLE, "favourable", 1_800_000, 1)]

        replaced = give(world, CITY_INSTRUCTOR, dossier, changed, headers={"If-Match": '"1"'})
        assert replaced.status_code == 200, replaced.text
        assert replaced.headers["etag"] == '"2"' and replaced.json()["opinion"] == "reserved"
        assert "location" not in replaced.headers
        # The same content again keeps the version, and the history records nothing more.
        same = give(world, CITY_INSTRUCTOR, dossier, changed, headers={"If-Match": '"2"'})
        assert same.status_code == 200 and same.headers["etag"] == '"2"'
        assert same.json() == replaced.json()
        assert stored(world, dossier) == [(VILLE, "reserved", 1_000_000, 2)]
        assert history_count(world, dossier["id"], "opinion_recorded") == 2

    def test_a_first_opinion_with_an_etag_other_than_0_is_412(self, world: World) -> None:
        dossier = routed(world)
        response = give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION, headers={"If-Match": '"1"'})
        assert response.status_code == 412
        assert stored(world, dossier) == []
        assert give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION, headers={"If-Match": '"0"'}).status_code == 201

    def test_a_funder_the_dossier_is_not_routed_to_gets_404(self, world: World) -> None:
        dossier = routed(world, plan=[{"funder_id": VILLE, "amount_cents": 1_500_000}])
        hidden = give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION)
        unknown = world.as_("funding", STATE_INSTRUCTOR).put(
            f"/api/v1/dossiers/{uuid.uuid4()}/opinions/mine", json=STATE_OPINION
        )
        assert hidden.status_code == unknown.status_code == 404
        assert problem(hidden)["detail"] == problem(unknown)["detail"]
        assert world.as_("funding", STATE_INSTRUCTOR).get(opinions_url(dossier)).status_code == 404
        assert stored(world, dossier) == []
        # Its one funder's opinion is enough: the dossier is ready.
        assert give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION).status_code == 201
        assert state_of(world, dossier) == "ready_for_committee"

    def test_a_funder_that_declined_gives_no_opinion_and_its_earlier_one_is_left_out(self, world: World) -> None:
        dossier = routed(world)
        assert give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION).status_code == 201
        declined = post(world, STATE_INSTRUCTOR, dossier, "decline-routing", {"reason": "Hors de nos champs."})
        assert declined.status_code == 200, declined.text
        again = give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION, headers={"If-Match": '"1"'})
        assert again.status_code == 404
        listed = world.as_("funding", DESK).get(opinions_url(dossier))
        assert listed.status_code == 200 and listed.json() == []

    @pytest.mark.parametrize("email", [COMMITTEE_MEMBER, DESK, HOLDER, HOLDER_MEMBER])
    def test_other_roles_get_403_and_nothing_is_written(self, world: World, email: str) -> None:
        dossier = routed(world)
        response = give(world, email, dossier, STATE_OPINION)
        assert response.status_code == 403
        problem(response)
        assert stored(world, dossier) == []

    def test_no_opinion_once_the_dossier_is_withdrawn_409(self, world: World) -> None:
        dossier = routed(world)
        assert post(world, HOLDER, dossier, "withdraw", {"reason": "Projet abandonné."}).status_code == 200
        response = give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        assert response.status_code == 409
        details = problem(response)
        assert (details["code"], details["state"], details["allowed_actions"]) == (
            "illegal_transition", "withdrawn", [],
        )
        assert stored(world, dossier) == []

    def test_an_opinion_once_ready_is_replaced_the_dossier_stays_ready(self, world: World) -> None:
        dossier = routed(world)
        give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION)
        response = give(
            world, STATE_INSTRUCTOR, dossier, {**STATE_OPINION, "opinion": "favourable"}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 200, response.text
        assert state_of(world, dossier) == "ready_for_committee"
        assert history_count(world, dossier["id"], "ready_for_committee") == 1

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            pytest.param({"proposed_amount_cents": -1}, "body.proposed_amount_cents", id="negative_amount"),
            pytest.param({"proposed_amount_cents": "1500"}, "body.proposed_amount_cents", id="amount_as_text"),
            pytest.param({"proposed_amount_cents": 15.5}, "body.proposed_amount_cents", id="amount_with_cents_part"),
            pytest.param({"proposed_amount_cents": None}, "body.proposed_amount_cents", id="no_amount_for_a_funder"),
            pytest.param({"opinion": "enthusiastic"}, "body.opinion", id="unknown_opinion"),
            pytest.param({"opinion": None}, "body.opinion", id="no_opinion"),
            pytest.param({"conditions": "   "}, "body.conditions", id="blank_conditions"),
            pytest.param({"comment": "x" * 4001}, "body.comment", id="comment_too_long"),
            pytest.param({"weight": 3}, "body.weight", id="extra_field"),
        ],
    )
    def test_bad_input_is_422_and_nothing_is_written(
        self, world: World, change: dict[str, Any], field: str
    ) -> None:
        dossier = routed(world)
        body = {key: value for key, value in {**CITY_OPINION, **change}.items() if value is not None}
        response = give(world, CITY_INSTRUCTOR, dossier, body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        assert stored(world, dossier) == []
        assert history_count(world, dossier["id"], "opinion_recorded") == 0

    def test_a_missing_amount_is_explained_in_english_on_request(self, world: World) -> None:
        dossier = routed(world)
        response = give(world, CITY_INSTRUCTOR, dossier, {"opinion": "favourable"}, headers={"Accept-Language": "en"})
        assert response.status_code == 422
        assert problem(response)["detail"] == "A funder proposes an amount."

    def test_anonymous_caller_gets_401(self, world: World) -> None:
        dossier = routed(world)
        assert world.funding.put(mine(dossier), json=CITY_OPINION).status_code == 401
        assert world.funding.get(opinions_url(dossier)).status_code == 401


class TestJointExamination:
    def test_co_funders_and_the_desk_read_every_opinion(self, world: World) -> None:
        dossier = routed(world)
        give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION)
        give(world, CITIZEN, dossier, COUNCIL_OPINION)
        expected = {VILLE: "favourable", PREFECTURE: "reserved", BLOSNE_COUNCIL: "favourable"}
        for email in (CITY_INSTRUCTOR, STATE_INSTRUCTOR, CITY_MANAGER, COMMITTEE_MEMBER, DESK):
            response = world.as_("funding", email).get(opinions_url(dossier))
            assert response.status_code == 200, (email, response.text)
            assert {row["organisation_id"]: row["opinion"] for row in response.json()} == expected
        city = next(row for row in world.as_("funding", STATE_INSTRUCTOR).get(opinions_url(dossier)).json()
                    if row["organisation_id"] == VILLE)
        assert {key: city[key] for key in CITY_OPINION} == CITY_OPINION
        assert (city["author_kind"], city["version"]) == ("funder", 1)

    def test_none_yet_is_an_empty_list(self, world: World) -> None:
        dossier = routed(world)
        response = world.as_("funding", CITY_INSTRUCTOR).get(opinions_url(dossier))
        assert response.status_code == 200 and response.json() == []

    @pytest.mark.parametrize("email", [HOLDER, HOLDER_MEMBER, OTHER_HOLDER])
    def test_holders_never_read_them(self, world: World, email: str) -> None:
        dossier = routed(world)
        give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        response = world.as_("funding", email).get(opinions_url(dossier))
        assert response.status_code == 403
        assert "favourable" not in response.text

    def test_the_holders_trail_says_who_spoke_not_what(self, world: World) -> None:
        dossier = routed(world)
        give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        trail = world.as_("funding", HOLDER).get(f"/api/v1/dossiers/{dossier['id']}/history")
        assert trail.status_code == 200
        recorded = [entry for entry in trail.json() if entry["action"] == "opinion_recorded"]
        assert [(entry["actor_organisation_id"], entry["comment"]) for entry in recorded] == [(VILLE, None)]
        assert CITY_OPINION["opinion"] not in trail.text

    def test_an_unknown_dossier_is_404_for_the_desk(self, world: World) -> None:
        assert world.as_("funding", DESK).get(f"/api/v1/dossiers/{uuid.uuid4()}/opinions").status_code == 404


class TestCitizenCouncil:
    def test_the_council_of_the_projects_qpv_gives_one_advisory_opinion(self, world: World) -> None:
        dossier = routed(world)
        give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        response = give(world, CITIZEN, dossier, COUNCIL_OPINION)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["organisation_id"], body["author_kind"], body["opinion"], body["proposed_amount_cents"]) == (
            BLOSNE_COUNCIL, "citizen_council", "favourable", None,
        )
        # Advisory: with the city's and the council's opinions, the State's is still missing.
        assert state_of(world, dossier) == "in_instruction"
        assert history_count(world, dossier["id"], "opinion_recorded") == 2
        # One opinion per council: a second PUT replaces it.
        again = give(world, CITIZEN, dossier, {**COUNCIL_OPINION, "opinion": "reserved"}, headers={"If-Match": '"1"'})
        assert again.status_code == 200 and again.json()["version"] == 2
        assert [row for row in stored(world, dossier) if row[0] == BLOSNE_COUNCIL] == [
            (BLOSNE_COUNCIL, "reserved", None, 2)
        ]

    def test_the_council_reads_the_dossier_and_only_its_own_opinion(self, world: World) -> None:
        dossier = routed(world)
        give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        council = world.as_("funding", CITIZEN)
        read = council.get(url_of(dossier))
        assert read.status_code == 200, read.text
        assert read.json()["project_snapshot"]["qpv_codes"] == ["QN03505M"]
        assert read.json()["budget_snapshot"] is not None
        # the project and its budget; not the association's people, contacts, yearly budget or documents
        assert read.json()["organisation_snapshot"] is None
        assert read.json()["association_budget_snapshot"] is None
        assert (read.json()["document_version_ids"], read.json()["documents_snapshot"]) == ([], None)
        desk = world.as_("funding", DESK).get(url_of(dossier)).json()
        assert desk["organisation_snapshot"]["legal_representative"]["name"] == "Awa Diallo"
        assert council.get(opinions_url(dossier)).json() == []  # the city's is not for it
        give(world, CITIZEN, dossier, COUNCIL_OPINION)
        listed = council.get(opinions_url(dossier)).json()
        assert [(row["organisation_id"], row["opinion"]) for row in listed] == [(BLOSNE_COUNCIL, "favourable")]
        assert "1800000" not in council.get(opinions_url(dossier)).text

    def test_the_council_still_gives_it_once_the_dossier_is_ready(self, world: World) -> None:
        dossier = routed(world)
        give(world, CITY_INSTRUCTOR, dossier, CITY_OPINION)
        give(world, STATE_INSTRUCTOR, dossier, STATE_OPINION)
        assert state_of(world, dossier) == "ready_for_committee"
        assert give(world, CITIZEN, dossier, COUNCIL_OPINION).status_code == 201
        assert state_of(world, dossier) == "ready_for_committee"

    def test_the_council_sees_nothing_before_instruction(self, world: World) -> None:
        dossier = world.submit(world.create_dossier(plan=PLAN))
        council = world.as_("funding", CITIZEN)
        assert council.get(url_of(dossier)).status_code == 404
        assert council.get(opinions_url(dossier)).status_code == 404
        assert give(world, CITIZEN, dossier, COUNCIL_OPINION).status_code == 404
        assert stored(world, dossier) == []

    def test_the_council_of_another_qpv_gets_404(self, world: World) -> None:
        dossier = routed(world)
        give(world, CITIZEN, dossier, COUNCIL_OPINION)
        maurepas = council_of(world, ["QN03504M"], "conseil@conseil-maurepas.example")
        assert maurepas.get(url_of(dossier)).status_code == 404
        assert maurepas.get(opinions_url(dossier)).status_code == 404
        assert maurepas.put(mine(dossier), json=COUNCIL_OPINION).status_code == 404
        assert [row[0] for row in stored(world, dossier)] == [BLOSNE_COUNCIL]

    def test_a_council_proposes_no_amount_422(self, world: World) -> None:
        dossier = routed(world)
        response = give(world, CITIZEN, dossier, {**COUNCIL_OPINION, "proposed_amount_cents": 100})
        assert response.status_code == 422
        assert [error["field"] for error in problem(response)["errors"]] == ["body.proposed_amount_cents"]
        assert stored(world, dossier) == []

    def test_a_council_lists_the_examined_dossiers_of_its_qpvs_then_those_it_gave_its_opinion_on(
        self, world: World
    ) -> None:
        submitted = world.submit(world.create_dossier(plan=PLAN))  # not examined yet
        opined, silent = ready(world), ready(world, documents=False)
        give(world, CITIZEN, opined, COUNCIL_OPINION)
        council = world.as_("funding", CITIZEN)

        def listed(view: str = "full") -> list[str]:
            answer = council.get("/api/v1/dossiers", params={"view": view})
            assert answer.status_code == 200, answer.text
            return [item["id"] for item in answer.json()["items"]]

        assert listed() == listed("summary") == [opined["id"], silent["id"]]
        page = council.get("/api/v1/dossiers").json()["items"]
        # the project and its budget, as for one dossier; not the association's profile, budget or documents
        assert all(item["organisation_snapshot"] is None and item["association_budget_snapshot"] is None
                   and item["documents_snapshot"] is None for item in page)
        assert all(item["project_snapshot"]["qpv_codes"] for item in page)
        maurepas = council_of(world, ["QN03504M"], "conseil@conseil-maurepas.example")
        assert maurepas.get("/api/v1/dossiers").json()["items"] == []
        present = [VILLE, PREFECTURE]
        session = ok(open_session(world, plan_session(world, [opined, silent], present), present))
        for dossier in (opined, silent):
            ok(decide(world, session, dossier, VILLE, 1_000_000), 201)
            ok(decide(world, session, dossier, PREFECTURE, 0), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
        # Decided: the one it gave its opinion on stays in its view, with the decision's outcome; the other goes.
        assert listed() == [opined["id"]]
        read = council.get(url_of(opined))
        assert read.status_code == 200 and read.json()["outcome"] == "partially_accepted"
        assert council.get(url_of(silent)).status_code == 404
        assert council.get(url_of(submitted)).status_code == 404
