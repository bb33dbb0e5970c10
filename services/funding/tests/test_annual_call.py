"""The annual call has a deadline: a draft made in time but submitted after it is refused, the problem saying the
deadline in the caller's language; a new dossier is refused too."""

from datetime import UTC, datetime, timedelta

from common.clock import FixedClock
from services.funding.tests.committee_helpers import TWO_FUNDERS, ok
from services.funding.tests.helpers import create_programme, url_of
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import HOLDER, World


def test_a_submission_after_the_deadline_is_refused_saying_it(world: World, clock: FixedClock) -> None:
    today = TODAY
    call = create_programme(world, title="Appel à projets 2027", track="annual",
                            closes_on=(today + timedelta(days=10)).isoformat())
    project = world.create_project()
    world.budget_matching(project, TWO_FUNDERS)
    draft = ok(world.as_("funding", HOLDER).post("/api/v1/dossiers", json={
        "programme_id": call["id"], "project_id": project["id"], "funding_plan": TWO_FUNDERS}), 201)

    clock.at = datetime.combine(today + timedelta(days=11), datetime.min.time(), tzinfo=UTC)
    late = world.as_("funding", HOLDER).post(f"{url_of(draft)}/submit")
    assert late.status_code == 409 and problem(late)["code"] == "programme_closed"
    assert problem(late)["closes_on"] == call["closes_on"]
    assert problem(late)["detail"] == f"La date limite de dépôt de ce programme était le {call['closes_on']}."
    english = world.as_("funding", HOLDER).post(f"{url_of(draft)}/submit", headers={"Accept-Language": "en"})
    assert problem(english)["detail"] == f"This programme's deadline for submissions was {call['closes_on']}."
    assert world.as_("funding", HOLDER).get(url_of(draft)).json()["state"] == "draft"
    new = world.as_("funding", HOLDER).post("/api/v1/dossiers", json={
        "programme_id": call["id"], "project_id": project["id"], "funding_plan": TWO_FUNDERS})
    assert new.status_code == 409 and problem(new)["code"] == "programme_closed"
