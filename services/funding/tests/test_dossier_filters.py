"""The dossiers list narrowed as a partner needs: the programme's track and year, a funder the plan asks, a QPV or
a priority of the project as submitted; each filter alone and together, paged by cursor."""

from typing import Any

from services.funding.tests.committee_helpers import ok
from services.funding.tests.helpers import CAF, PREFECTURE, VILLE, create_programme
from tests.support.stack import problem
from tests.support.world import DESK, HOLDER, World

DOSSIERS = "/api/v1/dossiers"


def references(world: World, email: str = DESK, **params: Any) -> set[str]:
    found, cursor = set(), None
    while True:
        page = ok(world.as_("funding", email).get(DOSSIERS, params={**params, "limit": 2,
                                                                    **({"cursor": cursor} if cursor else {})}))
        found |= {dossier["reference"] for dossier in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_each_filter_alone_and_together(world: World) -> None:
    blosne = world.submit(world.create_dossier(plan=[{"funder_id": VILLE, "amount_cents": 1_000_000}]))
    project = world.create_project(qpv_codes=["QN03504M"], priorities=["economic_development"])
    maurepas = world.submit(world.create_dossier(project=project, plan=[{"funder_id": CAF, "amount_cents": 500_000}]))
    draft = world.create_dossier(plan=[{"funder_id": PREFECTURE, "amount_cents": 400_000}])
    seed = create_programme(world, title="Fonds d'amorçage", track="seed", year=2030, funder_ids=[VILLE, PREFECTURE])
    everything = {blosne["reference"], maurepas["reference"], draft["reference"]}

    assert references(world) == everything
    assert references(world, qpv="QN03505M") == {blosne["reference"]}  # a draft has no QPV yet: not submitted
    assert references(world, priority="economic_development") == {maurepas["reference"]}
    assert references(world, funder_id=CAF) == {maurepas["reference"]}
    assert references(world, track="annual") == everything and references(world, track="seed") == set()
    assert references(world, year=seed["year"]) == set()
    assert references(world, track="annual", qpv="QN03504M", funder_id=CAF) == {maurepas["reference"]}
    assert references(world, qpv="QN03504M", funder_id=VILLE) == set()
    # A holder's list is narrowed the same way, within what it sees.
    assert references(world, HOLDER, priority="youth") == {blosne["reference"]}


def test_a_malformed_filter_is_a_422(world: World) -> None:
    for params in ({"qpv": "QN0"}, {"priority": "Not A Code"}, {"track": "other"}, {"year": "1990"}):
        answer = world.as_("funding", DESK).get(DOSSIERS, params=params)
        assert answer.status_code == 422 and problem(answer)["code"] == "validation_failed", params


def test_a_summary_page_leaves_the_snapshots_out(world: World) -> None:
    submitted = world.submit(world.create_dossier(plan=[{"funder_id": VILLE, "amount_cents": 1_000_000}]))
    world.create_dossier(plan=[{"funder_id": CAF, "amount_cents": 500_000}])
    desk = world.as_("funding", DESK)
    full = ok(desk.get(DOSSIERS, params={"limit": 1}))
    summary = ok(desk.get(DOSSIERS, params={"limit": 1, "view": "summary"}))
    assert full["items"][0]["id"] == summary["items"][0]["id"] == submitted["id"]
    snapshots = {"project_snapshot", "budget_snapshot", "association_budget_snapshot", "organisation_snapshot",
                 "documents_snapshot", "cpo_targets"}
    assert full["items"][0]["project_snapshot"]["qpv_codes"] == ["QN03505M"]
    assert not snapshots & set(summary["items"][0])
    assert {k: v for k, v in full["items"][0].items() if k not in snapshots} == summary["items"][0]
    # The cursor is the same: a summary walk pages like the full one, narrowed like it.
    second = ok(desk.get(DOSSIERS, params={"limit": 1, "view": "summary", "cursor": summary["next_cursor"]}))
    assert second["items"][0]["state"] == "draft" and second["next_cursor"] is None
    assert ok(desk.get(DOSSIERS, params={"view": "summary", "funder_id": CAF}))["items"][0]["id"] != submitted["id"]
    wrong = desk.get(DOSSIERS, params={"view": "brief"})
    assert wrong.status_code == 422 and problem(wrong)["code"] == "validation_failed"
