"""What a programme and a decision give the open data: the scheme's stable code (dispositifAide), the nature of the
aid, notificationUE and idRAE on the programme (set at its creation or by the desk's PATCH, each checked), and the
funder's own decision reference (referenceDecision). A grant's row keeps what they were when it was notified."""

from datetime import date
from typing import Any

import pytest

from common.clock import FixedClock
from services.funding.tests.committee_helpers import decide, ok, open_session, plan_session, ready, session_url
from services.funding.tests.helpers import CAF, PREFECTURE, PROGRAMME_ID, PROGRAMMES, VILLE, create_programme
from services.funding.tests.test_agreements import PLAN, agreements_of
from services.funding.tests.test_exports import STATE_MANAGER, export, grant_year, on
from services.funding.tests.test_small_projects import admitted, simplified
from services.funding.tests.test_small_projects import decide as decide_alone
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, DESK, World

OPEN_DATA = {"scheme_code": "PP-RENNES-QPV", "aid_nature": "both", "eu_notified": True, "rae_id": "A1234"}


def small_programme(world: World, **fields: Any) -> dict[str, Any]:
    """A small-projects programme the city decides alone, with its envelope and the documents it asks."""
    programme = create_programme(world, title="Petits projets", track="small", funder_ids=[VILLE, PREFECTURE],
                                 lead_funder_id=VILLE, **fields)
    ok(world.as_("funding", CITY_MANAGER).post("/api/v1/envelopes", json={
        "programme_id": programme["id"], "year": programme["year"], "total_cents": 1_000_000}), 201)
    world.provide_required_documents(track="small")
    return programme


def patch(world: World, programme: dict[str, Any], body: dict[str, Any], email: str = DESK,
          etag: str | None = None) -> Any:
    api = world.as_("funding", email)
    current = etag if etag is not None else api.get(f"{PROGRAMMES}/{programme['id']}").headers["etag"]
    return api.patch(f"{PROGRAMMES}/{programme['id']}", json=body, headers={"If-Match": current} if current else {})


class TestTheProgrammeFields:
    def test_defaults_are_what_the_export_published_until_now(self, world: World) -> None:
        demo = ok(world.as_("funding", DESK).get(f"{PROGRAMMES}/{PROGRAMME_ID}"))
        assert {name: demo[name] for name in OPEN_DATA} == {
            "scheme_code": None, "aid_nature": "cash", "eu_notified": False, "rae_id": None}

    def test_set_at_creation(self, world: World) -> None:
        created = create_programme(world, **OPEN_DATA)
        assert {name: created[name] for name in OPEN_DATA} == OPEN_DATA

    @pytest.mark.parametrize(("field", "value"), [
        ("rae_id", "A12345"), ("rae_id", "A 12"), ("scheme_code", "PP RENNES"), ("scheme_code", ""),
        ("aid_nature", "gift"), ("eu_notified", "oui"), ("scheme_code", "x" * 61),
    ])
    def test_bad_values_are_422_at_creation_and_in_a_patch_and_write_nothing(
        self, world: World, field: str, value: Any
    ) -> None:
        from services.funding.tests.helpers import programme_body

        before = ok(world.as_("funding", DESK).get(PROGRAMMES, params={"limit": 200}))["items"]
        refused = world.as_("funding", DESK).post(PROGRAMMES, json=programme_body(**{field: value}))
        assert refused.status_code == 422 and problem(refused)["errors"][0]["field"] == f"body.{field}"
        assert ok(world.as_("funding", DESK).get(PROGRAMMES, params={"limit": 200}))["items"] == before
        programme = create_programme(world)
        answer = patch(world, programme, {field: value})
        assert answer.status_code == 422, answer.text
        assert ok(world.as_("funding", DESK).get(f"{PROGRAMMES}/{programme['id']}")) == programme

    def test_the_desk_patches_them_under_if_match(self, world: World) -> None:
        programme = create_programme(world)
        assert patch(world, programme, {"rae_id": "B7"}, etag="").status_code == 428
        stale = patch(world, programme, {"rae_id": "B7"}, etag='"999"')
        assert stale.status_code == 412
        for email in (CITY_MANAGER, STATE_MANAGER):
            assert patch(world, programme, {"rae_id": "B7"}, email=email).status_code == 403
        assert patch(world, programme, {"rae_id": None}).status_code == 422  # null is refused: leave it out
        assert patch(world, {"id": "4b1a7e5e-0000-4000-8000-000000000000"}, {"rae_id": "B7"},
                     etag='"1"').status_code == 404
        first_etag = world.as_("funding", DESK).get(f"{PROGRAMMES}/{programme['id']}").headers["etag"]
        changed = patch(world, programme, {"rae_id": "B7", "aid_nature": "in_kind"})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["rae_id"], changed.json()["aid_nature"], changed.json()["scheme_code"]) == (
            "B7", "in_kind", None)
        assert changed.headers["etag"] != first_etag
        again = patch(world, programme, {"rae_id": "B7"})
        assert again.headers["etag"] == changed.headers["etag"]  # the same values keep the version
        # Only the open-data fields change through it.
        assert patch(world, programme, {"title": "Autre titre"}).status_code == 422


class TestWhatTheRowsPublish:
    def test_the_programme_s_fields_and_the_decision_s_reference_frozen_at_the_notification(
        self, world: World, clock: FixedClock
    ) -> None:
        programme = small_programme(world, **OPEN_DATA)
        dossier = admitted(world, simplified(world, programme))
        on(clock, date(2026, 6, 18))
        ok(decide_alone(world, dossier, 150_000, decision_reference="ARR-2026-118"))
        [row] = export(world, VILLE, programme["year"])
        assert (row["dispositifAide"], row["nature"], row["notificationUE"], row["idRAE"],
                row["referenceDecision"]) == ("PP-RENNES-QPV", "aide en numéraire;aide en nature", "oui", "A1234",
                                              "ARR-2026-118")
        # Later changes apply to the grants notified after them; this row stays as published.
        ok(patch(world, programme, {"scheme_code": "PP-2", "aid_nature": "in_kind", "eu_notified": False}))
        assert export(world, VILLE, programme["year"]) == [row]
        second = admitted(world, simplified(world, programme))
        ok(decide_alone(world, second, 100_000))
        rows = export(world, VILLE, programme["year"])
        assert len(rows) == 2 and rows[0] == row
        assert (rows[1]["dispositifAide"], rows[1]["nature"], rows[1]["notificationUE"]) == (
            "PP-2", "aide en nature", "non")
        # Without a reference of its own, the desk's number of the decision letter.
        assert rows[1]["referenceDecision"] == ok(world.as_("funding", CITY_MANAGER).get(
            "/api/v1/agreements", params={"dossier_id": second["id"]}))["items"][0]["number"]

    def test_a_committee_decision_s_reference_and_a_programme_without_code(self, world: World) -> None:
        dossier = ready(world, plan=PLAN)
        present = [VILLE, PREFECTURE, CAF]
        session = ok(open_session(world, plan_session(world, [dossier], present), present))
        decided = ok(decide(world, session, dossier, PREFECTURE, 1_000_000, decision_reference="  AP-35-2026-77 "),
                     201)
        assert decided["decision_reference"] == "AP-35-2026-77"  # trimmed
        blank = decide(world, session, dossier, VILLE, 2_500_000, decision_reference="   ")
        assert blank.status_code == 422
        ok(decide(world, session, dossier, VILLE, 2_500_000), 201)
        ok(decide(world, session, dossier, CAF, 0), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
        letter = agreements_of(world, dossier)[PREFECTURE]
        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send"))
        [row] = export(world, PREFECTURE, grant_year(world, dossier))
        # The demo programme has no code: its identifier, which no new title changes.
        assert (row["referenceDecision"], row["dispositifAide"], row["nature"], row["idRAE"]) == (
            "AP-35-2026-77", PROGRAMME_ID, "aide en numéraire", "")
