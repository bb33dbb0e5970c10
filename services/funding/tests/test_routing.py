"""Routing: an admissible dossier goes to each funder of its plan once the desk's share is allocated; a funder
sees only what is routed to it, and may decline it (its line goes back to the desk, to allocate again)."""

from typing import Any

import pytest

from services.funding.tests.helpers import CAF, DEPARTEMENT, METROPOLE, PREFECTURE, VILLE, history_count, url_of
from services.funding.tests.test_admissibility import PLAN, every_required_document, post
from tests.support.stack import problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    OTHER_HOLDER,
    STATE_INSTRUCTOR,
    World,
)


def admitted(world: World, plan: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A dossier the desk declared admissible (every required document in the vault)."""
    dossier = world.submit(world.create_dossier(plan=plan or PLAN))
    every_required_document(world)
    response = post(world, DESK, dossier, "admissibility", {"decision": "admissible"})
    assert response.status_code == 200, response.text
    return response.json()


def routed(world: World) -> dict[str, Any]:
    """Admissible, the desk's 5,000 € given to the département, routed to the city, the State and it."""
    dossier = admitted(world)
    assert post(world, DESK, dossier, "allocate", {"lines": [
        {"funder_id": DEPARTEMENT, "amount_cents": 500_000}]}).status_code == 200
    response = post(world, DESK, dossier, "route")
    assert response.status_code == 200, response.text
    return response.json()


def routings(world: World, dossier: dict[str, Any]) -> dict[str, dict[str, Any]]:
    answer = world.as_("funding", DESK).get(f"{url_of(dossier)}/routings")
    assert answer.status_code == 200, answer.text
    return {row["funder_id"]: row for row in answer.json()}


class TestRoute:
    def test_the_desks_share_is_allocated_first(self, world: World) -> None:
        dossier = admitted(world)
        response = post(world, DESK, dossier, "route")
        assert response.status_code == 409 and problem(response)["code"] == "unallocated_share"
        assert routings(world, dossier) == {}

    def test_every_funder_of_the_plan_gets_it(self, world: World) -> None:
        dossier = routed(world)
        assert dossier["state"] == "in_instruction"
        rows = routings(world, dossier)
        assert {funder: row["amount_cents"] for funder, row in rows.items()} == {
            VILLE: 1_500_000, PREFECTURE: 1_000_000, DEPARTEMENT: 500_000,
        }
        assert {row["state"] for row in rows.values()} == {"routed"}
        assert history_count(world, dossier["id"], "routed") == 1
        again = post(world, DESK, dossier, "route")
        assert again.status_code == 409 and problem(again)["code"] == "nothing_to_route"

    def test_a_funder_sees_only_what_is_routed_to_it(self, world: World) -> None:
        submitted = world.submit(world.create_dossier(plan=PLAN))
        city = world.as_("funding", CITY_INSTRUCTOR)
        assert city.get(url_of(submitted)).status_code == 404  # named in the plan, not routed yet
        assert submitted["id"] not in [d["id"] for d in city.get("/api/v1/dossiers").json()["items"]]
        dossier = routed(world)
        assert city.get(url_of(dossier)).status_code == 200
        assert [d["id"] for d in city.get("/api/v1/dossiers").json()["items"]] == [dossier["id"]]
        caf = world.stack.api("funding")
        caf.token = world.login(CITY_MANAGER)
        assert caf.get(url_of(dossier)).status_code == 200  # the city's manager too

    @pytest.mark.parametrize("email", [HOLDER, CITY_INSTRUCTOR])
    def test_only_the_desk_routes(self, world: World, email: str) -> None:
        dossier = admitted(world, plan=PLAN[:2])
        assert post(world, email, dossier, "route").status_code == 403
        assert routings(world, dossier) == {}

    def test_a_submitted_dossier_is_not_routed_before_admissibility(self, world: World) -> None:
        dossier = world.submit(world.create_dossier(plan=PLAN[:2]))
        response = post(world, DESK, dossier, "route")
        assert response.status_code == 409 and "route" not in problem(response)["allowed_actions"]


class TestDecline:
    def test_the_line_goes_back_to_the_desk_and_on_to_another_funder(self, world: World) -> None:
        dossier = routed(world)
        response = post(world, CITY_INSTRUCTOR, dossier, "decline-routing", {"reason": "Hors de nos priorités."})
        assert response.status_code == 200, response.text
        plan = {line["funder_id"]: line["amount_cents"] for line in response.json()["funding_plan"]}
        assert plan == {PREFECTURE: 1_000_000, DEPARTEMENT: 500_000, None: 1_500_000}
        row = routings(world, dossier)[VILLE]
        assert (row["state"], row["decline_reason"]) == ("declined", "Hors de nos priorités.")
        assert world.as_("funding", CITY_INSTRUCTOR).get(url_of(dossier)).status_code == 404
        # the desk gives the city's share to the métropole and routes again
        assert post(world, DESK, dossier, "allocate", {"lines": [
            {"funder_id": METROPOLE, "amount_cents": 1_500_000}]}).status_code == 200
        again = post(world, DESK, dossier, "route")
        assert again.status_code == 200, again.text
        assert routings(world, dossier)[METROPOLE]["state"] == "routed"
        assert history_count(world, dossier["id"], "routing_declined") == 1

    def test_a_declined_funder_cannot_be_given_the_share_back(self, world: World) -> None:
        dossier = routed(world)
        declined = post(world, CITY_INSTRUCTOR, dossier, "decline-routing", {"reason": "Non."}).json()
        response = post(world, DESK, dossier, "allocate", {"lines": [{"funder_id": VILLE, "amount_cents": 1_500_000}]})
        assert response.status_code == 422 and problem(response)["code"] == "funder_declined"
        assert world.as_("funding", DESK).get(url_of(dossier)).json()["funding_plan"] == declined["funding_plan"]

    def test_declining_twice_is_409(self, world: World) -> None:
        dossier = routed(world)
        post(world, CITY_INSTRUCTOR, dossier, "decline-routing", {"reason": "Non."})
        again = post(world, CITY_INSTRUCTOR, dossier, "decline-routing", {"reason": "Non."})
        assert again.status_code == 409 and problem(again)["code"] == "routing_already_declined"

    def test_a_funder_it_was_not_routed_to_gets_404(self, world: World) -> None:
        dossier = routed(world)
        caf = world.as_("funding", STATE_INSTRUCTOR)
        assert caf.get(url_of(dossier)).status_code == 200  # the State is routed
        other = post(world, CITY_INSTRUCTOR, world.submit(world.create_dossier(plan=[
            {"funder_id": CAF, "amount_cents": 100_000}])), "decline-routing", {"reason": "x"})
        assert other.status_code == 404

    @pytest.mark.parametrize(("email", "status"), [(HOLDER, 403), (COMMITTEE_MEMBER, 403), (DESK, 403)])
    def test_only_the_funders_instructors_and_managers_decline(self, world: World, email: str, status: int) -> None:
        dossier = routed(world)
        assert post(world, email, dossier, "decline-routing", {"reason": "x"}).status_code == status
        assert {row["state"] for row in routings(world, dossier).values()} == {"routed"}

    @pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x", "extra": 1}], ids=["none", "empty", "extra"])
    def test_a_reason_is_required(self, world: World, body: dict[str, Any]) -> None:
        dossier = routed(world)
        assert post(world, CITY_INSTRUCTOR, dossier, "decline-routing", body).status_code == 422
        assert routings(world, dossier)[VILLE]["state"] == "routed"


class TestWhoReadsTheRoutingsAndTheTrail:
    @pytest.mark.parametrize("what", ["routings", "history"])
    def test_another_association_gets_404_a_citizen_403_a_bad_id_422(self, world: World, what: str) -> None:
        dossier = routed(world)
        assert world.as_("funding", HOLDER).get(f"{url_of(dossier)}/{what}").status_code == 200
        assert world.as_("funding", CITY_INSTRUCTOR).get(f"{url_of(dossier)}/{what}").status_code == 200
        assert world.as_("funding", OTHER_HOLDER).get(f"{url_of(dossier)}/{what}").status_code == 404
        assert world.as_("funding", CITIZEN).get(f"{url_of(dossier)}/{what}").status_code == 403
        assert world.as_("funding", DESK).get(f"/api/v1/dossiers/not-a-uuid/{what}").status_code == 404
