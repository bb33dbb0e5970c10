"""Committee sessions: planning, conflicts of interest, quorum, each funder's decision committing money, deferral,
closing with outcomes and minutes; who may see and act on a session."""

from typing import Any

import pytest

from services.funding.tests.committee_helpers import (
    CAF_MANAGER,
    CITY_MEMBER,
    REGION_MEMBER,
    SESSIONS,
    TWO_FUNDERS,
    create_session,
    decide,
    decision_url,
    envelope_of,
    item_of,
    ok,
    ok_list,
    open_session,
    plan_session,
    put_with_etag,
    ready,
    session_url,
)
from services.funding.tests.helpers import (
    CAF,
    PREFECTURE,
    PROGRAMME_ID,
    VILLE,
    create_programme,
    programme_body,
    url_of,
)
from tests.support.documents import assert_inert
from tests.support.stack import problem
from tests.support.world import (
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    OTHER_HOLDER,
    World,
    org_id,
)

BOTH = [VILLE, PREFECTURE]


def state_of(world: World, dossier: dict[str, Any]) -> dict[str, Any]:
    return ok(world.as_("funding", DESK).get(url_of(dossier)))


def current(world: World, session: dict[str, Any]) -> dict[str, Any]:
    return ok(world.as_("funding", DESK).get(session_url(session)))


def close(world: World, session: dict[str, Any]):  # noqa: ANN201
    return world.as_("funding", DESK).post(f"{session_url(session)}/close", json={})


class TestASessionFromPlanningToMinutes:
    def test_decisions_commit_money_and_closing_gives_each_outcome_and_the_minutes(self, world: World) -> None:
        full, partial, refused = ready(world), ready(world), ready(world, email=OTHER_HOLDER)
        city_before = envelope_of(world, CITY_MEMBER)["committed_cents"]
        session = plan_session(world, [full, partial, refused], BOTH)
        assert [item["position"] for item in session["items"]] == [1, 2, 3]
        assert item_of(session, full)["asked"] == [
            {"funder_id": VILLE, "amount_cents": 1_500_000}, {"funder_id": PREFECTURE, "amount_cents": 1_000_000}
        ]
        session = ok(open_session(world, session, BOTH))
        assert session["state"] == "open"
        assert {f["funder_id"]: f["present"] for f in session["funders"]} == {VILLE: True, PREFECTURE: True}

        ok(decide(world, session, full, VILLE, 1_500_000, conditions="Bilan à mi-parcours."), 201)
        ok(decide(world, session, full, PREFECTURE, 1_000_000), 201)
        ok(decide(world, session, partial, VILLE, 1_000_000), 201)
        ok(decide(world, session, partial, PREFECTURE, 0, refusal_reason="Crédits épuisés sur cette priorité."), 201)
        ok(decide(world, session, refused, VILLE, 0), 201)
        undecided = close(world, session)
        assert undecided.status_code == 409
        assert problem(undecided)["code"] == "items_undecided"
        assert problem(undecided)["items"] == [{
            "item_id": item_of(session, refused)["id"], "reference": refused["reference"],
            "missing_funder_ids": [PREFECTURE],
        }]
        ok(decide(world, session, refused, PREFECTURE, 0), 201)

        closed = ok(close(world, session))
        assert closed["state"] == "closed" and closed["closed_at"]
        outcomes = {item["dossier_id"]: (item["state"], item["outcome"]) for item in closed["items"]}
        assert outcomes == {
            full["id"]: ("decided", "accepted"), partial["id"]: ("decided", "partially_accepted"),
            refused["id"]: ("decided", "refused"),
        }
        for dossier, outcome in ((full, "accepted"), (partial, "partially_accepted"), (refused, "refused")):
            read = state_of(world, dossier)
            assert (read["state"], read["outcome"]) == ("decided", outcome)
            assert read["decided_at"] == closed["closed_at"]
        assert envelope_of(world, CITY_MEMBER)["committed_cents"] == city_before + 2_500_000

        minutes = ok(world.as_("funding", COMMITTEE_MEMBER).get(f"{session_url(session)}/minutes"))
        assert [item["reference"] for item in minutes["items"]] == [full["reference"], partial["reference"],
                                                                    refused["reference"]]
        assert minutes["items"][1]["decisions"][1] == {
            "funder_id": PREFECTURE, "funder_name": "Préfecture d'Ille-et-Vilaine", "asked_cents": 1_000_000,
            "granted_cents": 0, "conditions": None, "refusal_reason": "Crédits épuisés sur cette priorité.",
            "decided_by": minutes["items"][1]["decisions"][1]["decided_by"],
        }
        assert minutes["items"][2]["organisation_name"] == "Maurepas Solidaire"
        assert {t["name"]: (t["asked_cents"], t["granted_cents"], t["dossiers_granted"]) for t in minutes["totals"]} \
            == {"Ville de Rennes": (4_500_000, 2_500_000, 2), "Préfecture d'Ille-et-Vilaine": (3_000_000, 1_000_000, 1)}
        assert minutes["granted_cents"] == 3_500_000
        assert {a["name"]: a["present"] for a in minutes["attendance"]} == {
            "Ville de Rennes": True, "Préfecture d'Ille-et-Vilaine": True,
        }
        html = world.as_("funding", DESK).get(f"{session_url(session)}/minutes", headers={"Accept": "text/html"})
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert full["reference"] in html.text and "Accordé partiellement" in html.text

    def test_closed_session_is_frozen(self, world: World) -> None:
        dossier = ready(world)
        session = ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))
        ok(decide(world, session, dossier, VILLE, 1_500_000), 201)
        ok(decide(world, session, dossier, PREFECTURE, 1_000_000), 201)
        ok(close(world, session))
        late = decide(world, session, dossier, VILLE, 1_000_000)
        assert late.status_code == 409 and problem(late)["code"] == "session_not_open"
        assert problem(close(world, session))["code"] == "session_not_open"
        replan = put_with_etag(world, f"{session_url(session)}/agenda", {"items": []})
        assert replan.status_code == 409 and problem(replan)["code"] == "session_not_planned"
        assert problem(replan)["allowed_actions"] == []

    def test_minutes_wait_for_the_closing(self, world: World) -> None:
        session = create_session(world)
        answer = world.as_("funding", DESK).get(f"{session_url(session)}/minutes")
        assert answer.status_code == 409 and problem(answer)["code"] == "minutes_not_ready"


class TestDecisions:
    def test_a_recused_member_cannot_decide_and_the_minutes_say_so(self, world: World) -> None:
        dossier = ready(world)
        session = plan_session(world, [dossier], BOTH)
        declared = world.as_("funding", CITY_MEMBER).post(
            f"{session_url(session)}/conflicts",
            json={"item_id": item_of(session, dossier)["id"], "reason": "Je siège au bureau de l'association."},
        )
        assert declared.status_code == 201, declared.text
        again = world.as_("funding", CITY_MEMBER).post(
            f"{session_url(session)}/conflicts",
            json={"item_id": item_of(session, dossier)["id"], "reason": "Encore."},
        )
        assert again.status_code == 409 and problem(again)["code"] == "conflict_already_declared"
        session = ok(open_session(world, session, BOTH))
        too_late = world.as_("funding", COMMITTEE_MEMBER).post(
            f"{session_url(session)}/conflicts", json={"item_id": item_of(session, dossier)["id"], "reason": "x"}
        )
        assert too_late.status_code == 409 and problem(too_late)["code"] == "session_not_planned"

        refused = decide(world, session, dossier, VILLE, 1_500_000)
        assert refused.status_code == 409 and problem(refused)["code"] == "recused"
        # Another of the city's people speaks for it instead.
        ok(decide(world, session, dossier, VILLE, 1_500_000, email=CITY_MANAGER), 201)
        ok(decide(world, session, dossier, PREFECTURE, 1_000_000), 201)
        ok(close(world, session))
        minutes = ok(world.as_("funding", DESK).get(f"{session_url(session)}/minutes"))
        [recusal] = minutes["items"][0]["recusals"]
        assert recusal["organisation_name"] == "Ville de Rennes"
        assert recusal["reason"] == "Je siège au bureau de l'association."
        assert minutes["items"][0]["decisions"][0]["decided_by"] != recusal["member"]

    def test_a_funder_grants_at_most_what_it_is_asked_unless_the_desk_raises_it(self, world: World) -> None:
        dossier = ready(world)
        session = ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))
        above = decide(world, session, dossier, VILLE, 1_500_001)
        assert above.status_code == 422 and problem(above)["code"] == "above_amount_asked"
        assert problem(above)["asked_cents"] == 1_500_000
        desk = world.as_("funding", DESK)
        raise_url = f"{session_url(session)}/items/{item_of(session, dossier)['id']}/raise-plan"
        lower = desk.post(raise_url, json={"funder_id": VILLE, "amount_cents": 1_000_000})
        assert lower.status_code == 422 and problem(lower)["code"] == "not_a_raise"
        stranger = desk.post(raise_url, json={"funder_id": CAF, "amount_cents": 2_000_000})
        assert stranger.status_code == 422 and problem(stranger)["code"] == "funder_not_in_plan"
        raised = ok(desk.post(raise_url, json={"funder_id": VILLE, "amount_cents": 1_800_000}))
        assert item_of(raised, dossier)["asked"][0] == {"funder_id": VILLE, "amount_cents": 1_800_000}
        assert state_of(world, dossier)["requested_total_cents"] == 2_800_000
        ok(decide(world, raised, dossier, VILLE, 1_800_000), 201)
        ok(decide(world, raised, dossier, PREFECTURE, 1_000_000), 201)
        assert item_of(ok(close(world, raised)), dossier)["outcome"] == "accepted"

    def test_changing_a_decision_moves_the_money_and_needs_the_etag(self, world: World) -> None:
        dossier = ready(world)
        session = ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))
        before = envelope_of(world, CITY_MEMBER)["committed_cents"]
        first = decide(world, session, dossier, VILLE, 1_500_000)
        assert first.status_code == 201 and first.headers["etag"] == '"1"'
        assert envelope_of(world, CITY_MEMBER)["committed_cents"] == before + 1_500_000
        url = decision_url(session, item_of(session, dossier))
        api = world.as_("funding", CITY_MEMBER)
        blind = api.put(url, json={"granted_amount_cents": 900_000})
        assert blind.status_code == 428
        stale = api.put(url, json={"granted_amount_cents": 900_000}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        assert envelope_of(world, CITY_MEMBER)["committed_cents"] == before + 1_500_000
        lowered = api.put(url, json={"granted_amount_cents": 900_000}, headers={"If-Match": '"1"'})
        assert lowered.status_code == 200 and lowered.headers["etag"] == '"2"'
        assert envelope_of(world, CITY_MEMBER)["committed_cents"] == before + 900_000
        same = api.put(url, json={"granted_amount_cents": 900_000}, headers={"If-Match": '"2"'})
        assert same.status_code == 200 and same.headers["etag"] == '"2"'
        ledger = ok(api.get(f"/api/v1/envelopes/{envelope_of(world, CITY_MEMBER)['id']}/ledger"))["items"]
        assert [(m["kind"], m["amount_cents"]) for m in ledger[-2:]] == [("committed", 1_500_000),
                                                                        ("released", -600_000)]

    def test_only_a_present_funder_asked_by_the_plan_decides(self, world: World) -> None:
        dossier = ready(world)
        session = plan_session(world, [dossier], [VILLE, PREFECTURE, CAF])
        session = ok(open_session(world, session, BOTH))
        absent = decide(world, session, dossier, CAF, 100)
        assert absent.status_code == 409 and problem(absent)["code"] == "funder_not_present"
        instructor = world.as_("funding", CITY_INSTRUCTOR).put(
            decision_url(session, item_of(session, dossier)), json={"granted_amount_cents": 100}
        )
        assert instructor.status_code == 403

    def test_a_refusal_without_reason_is_refused(self, world: World) -> None:
        dossier = ready(world)
        session = ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))
        answer = world.as_("funding", CITY_MEMBER).put(
            decision_url(session, item_of(session, dossier)), json={"granted_amount_cents": 0}
        )
        assert answer.status_code == 422

    def test_an_envelope_that_cannot_cover_the_grant_refuses_it(self, world: World) -> None:
        big = [{"funder_id": VILLE, "amount_cents": 25_000_000}, {"funder_id": PREFECTURE, "amount_cents": 100}]
        dossier = ready(world, plan=big)
        session = ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))
        before = envelope_of(world, CITY_MEMBER)
        answer = decide(world, session, dossier, VILLE, 25_000_000)
        assert answer.status_code == 409 and problem(answer)["code"] == "envelope_exceeded"
        assert envelope_of(world, CITY_MEMBER)["version"] == before["version"]
        assert item_of(current(world, session), dossier)["decisions"] == []


class TestDeferral:
    def test_a_deferred_item_releases_its_money_and_a_later_session_decides_it(self, world: World) -> None:
        dossier, other = ready(world), ready(world)
        session = ok(open_session(world, plan_session(world, [dossier, other], BOTH), BOTH))
        before = envelope_of(world, CITY_MEMBER)["committed_cents"]
        ok(decide(world, session, dossier, VILLE, 1_000_000), 201)
        desk = world.as_("funding", DESK)
        defer_url = f"{session_url(session)}/items/{item_of(session, dossier)['id']}/defer"
        deferred = ok(desk.post(defer_url, json={"reason": "Attente du budget rectifié."}))
        assert item_of(deferred, dossier)["state"] == "deferred"
        assert item_of(deferred, dossier)["decisions"] == []
        assert envelope_of(world, CITY_MEMBER)["committed_cents"] == before
        assert state_of(world, dossier)["state"] == "deferred"
        again = desk.post(defer_url, json={"reason": "Encore."})
        assert again.status_code == 409 and problem(again)["code"] == "item_not_pending"
        ok(decide(world, session, other, VILLE, 1_500_000), 201)
        ok(decide(world, session, other, PREFECTURE, 1_000_000), 201)
        closed = ok(close(world, session))
        assert item_of(closed, dossier)["outcome"] is None

        second = plan_session(world, [dossier], BOTH)
        assert state_of(world, dossier)["state"] == "ready_for_committee"
        second = ok(open_session(world, second, BOTH))
        ok(decide(world, second, dossier, VILLE, 1_500_000), 201)
        ok(decide(world, second, dossier, PREFECTURE, 500_000), 201)
        ok(close(world, second))
        assert state_of(world, dossier)["outcome"] == "partially_accepted"
        minutes = ok(desk.get(f"{session_url(session)}/minutes"))
        assert minutes["items"][0]["state"] == "deferred"
        assert minutes["items"][0]["deferral_reason"] == "Attente du budget rectifié."

    def test_a_dossier_deferred_then_withdrawn_gets_no_notification(self, world: World) -> None:
        dossier, other = ready(world), ready(world)
        session = ok(open_session(world, plan_session(world, [dossier, other], BOTH), BOTH))
        desk = world.as_("funding", DESK)
        ok(desk.post(f"{session_url(session)}/items/{item_of(session, dossier)['id']}/defer", json={"reason": "x"}))
        ok(world.as_("funding", HOLDER).post(f"{url_of(dossier)}/withdraw", json={}))
        ok(decide(world, session, other, VILLE, 1_500_000), 201)
        ok(decide(world, session, other, PREFECTURE, 1_000_000), 201)
        ok(close(world, session))
        notified = ok(world.as_("funding", HOLDER).get("/api/v1/notifications"))["items"]
        assert [n["dossier_id"] for n in notified] == [other["id"]]

    def test_withdrawing_during_the_session_releases_the_money(self, world: World) -> None:
        dossier, other = ready(world), ready(world)
        session = ok(open_session(world, plan_session(world, [dossier, other], BOTH), BOTH))
        before = envelope_of(world, CITY_MEMBER)["committed_cents"]
        ok(decide(world, session, dossier, VILLE, 1_500_000), 201)
        withdrawn = world.as_("funding", HOLDER).post(f"{url_of(dossier)}/withdraw", json={"reason": "Projet annulé."})
        assert withdrawn.status_code == 200, withdrawn.text
        assert envelope_of(world, CITY_MEMBER)["committed_cents"] == before
        assert item_of(current(world, session), dossier)["state"] == "withdrawn"
        ok(decide(world, session, other, VILLE, 1_500_000), 201)
        ok(decide(world, session, other, PREFECTURE, 1_000_000), 201)
        closed = ok(close(world, session))
        assert item_of(closed, dossier)["state"] == "withdrawn"
        assert state_of(world, dossier)["state"] == "withdrawn"


class TestPlanning:
    def test_the_agenda_takes_only_ready_dossiers_of_the_session_programmes_once(self, world: World) -> None:
        dossier = ready(world)
        session = create_session(world)
        not_ready = world.submit(world.create_dossier(plan=TWO_FUNDERS))
        answer = put_with_etag(world, f"{session_url(session)}/agenda", {"items": [{"dossier_id": not_ready["id"]}]})
        assert answer.status_code == 409 and problem(answer)["code"] == "dossier_not_placeable"
        assert problem(answer)["dossiers"][0]["reason"] == "not_ready"
        unknown = put_with_etag(world, f"{session_url(session)}/agenda",
                                {"items": [{"dossier_id": "00000000-0000-4000-8000-000000000000"}]})
        assert unknown.status_code == 422
        ok(put_with_etag(world, f"{session_url(session)}/agenda", {"items": [{"dossier_id": dossier["id"]}]}))
        other = create_session(world)
        taken = put_with_etag(world, f"{session_url(other)}/agenda", {"items": [{"dossier_id": dossier["id"]}]})
        assert taken.status_code == 409 and problem(taken)["dossiers"][0]["reason"] == "on_another_agenda"
        # Taken off the first agenda, the dossier may go on the other.
        ok(put_with_etag(world, f"{session_url(session)}/agenda", {"items": []}))
        ok(put_with_etag(world, f"{session_url(other)}/agenda", {"items": [{"dossier_id": dossier["id"]}]}))

    def test_a_dossier_on_an_agenda_cannot_be_declined(self, world: World) -> None:
        dossier = ready(world)
        plan_session(world, [dossier], BOTH)
        declined = world.as_("funding", CITY_INSTRUCTOR).post(
            f"{url_of(dossier)}/decline-routing", json={"reason": "Hors champ."}
        )
        assert declined.status_code == 409 and problem(declined)["code"] == "illegal_transition"
        assert "decline_routing" not in problem(declined)["allowed_actions"]

    def test_the_agenda_and_invitations_need_the_current_etag(self, world: World) -> None:
        session = create_session(world)
        desk = world.as_("funding", DESK)
        assert desk.put(f"{session_url(session)}/agenda", json={"items": []}).status_code == 428
        stale = desk.put(f"{session_url(session)}/funders", json={"funder_ids": BOTH}, headers={"If-Match": '"9"'})
        assert stale.status_code == 412

    def test_the_desk_changes_a_planned_session_under_its_etag(self, world: World) -> None:
        session = create_session(world)
        desk = world.as_("funding", DESK)
        url = session_url(session)
        assert desk.patch(url, json={"place": "Mairie de Rennes"}).status_code == 428
        moved = desk.patch(url, json={"place": "Mairie de Rennes", "held_on": "2099-06-01"},
                           headers={"If-Match": '"1"'})
        assert moved.status_code == 200 and moved.headers["etag"] == '"2"'
        assert (moved.json()["place"], moved.json()["held_on"]) == ("Mairie de Rennes", "2099-06-01")
        same = desk.patch(url, json={"place": "Mairie de Rennes"}, headers={"If-Match": '"2"'})
        assert same.headers["etag"] == '"2"'
        past = desk.patch(url, json={"held_on": "2020-01-01"}, headers={"If-Match": '"2"'})
        assert past.status_code == 422
        assert ok(desk.get(url))["held_on"] == "2099-06-01"
        listed = ok(desk.get(SESSIONS, params={"state": "planned"}))["items"]
        assert [s["id"] for s in listed] == [session["id"]]
        assert ok(desk.get(SESSIONS, params={"state": "open"}))["items"] == []

    def test_only_funders_of_the_session_programmes_are_invited(self, world: World) -> None:
        session = create_session(world)
        answer = put_with_etag(world, f"{session_url(session)}/funders", {"funder_ids": [VILLE, org_id("region")]})
        assert answer.status_code == 422 and problem(answer)["code"] == "funder_not_in_programme"

    def test_a_session_in_the_past_or_of_an_unknown_programme_is_refused(self, world: World) -> None:
        desk = world.as_("funding", DESK)
        body = {"title": "Comité", "held_on": "2020-01-01", "place": "Rennes", "programme_ids": [PROGRAMME_ID]}
        assert desk.post(SESSIONS, json=body).status_code == 422


class TestQuorum:
    def test_two_funders_with_the_state_by_default(self, world: World) -> None:
        dossier = ready(world)
        session = plan_session(world, [dossier], [VILLE, PREFECTURE, CAF])
        without_state = open_session(world, session, [VILLE, CAF])
        assert without_state.status_code == 409 and problem(without_state)["code"] == "quorum_not_met"
        [gap] = problem(without_state)["programmes"]
        assert gap["rule"] == "two_funders_with_the_state" and gap["state_present"] is False
        alone = open_session(world, session, [PREFECTURE])
        assert problem(alone)["programmes"][0]["present_count"] == 1
        assert current(world, session)["state"] == "planned"
        ok(open_session(world, session, [VILLE, PREFECTURE]))

    def test_a_programme_may_name_the_funders_that_must_sit(self, world: World) -> None:
        programme = create_programme(world, track="annual", funder_ids=[VILLE, PREFECTURE, CAF],
                                     quorum_funder_ids=[VILLE, CAF])
        assert programme["quorum_funder_ids"] == [VILLE, CAF]
        session = create_session(world, programme_ids=[programme["id"]])
        ok(put_with_etag(world, f"{session_url(session)}/funders", {"funder_ids": [VILLE, PREFECTURE, CAF]}))
        answer = open_session(world, session, [VILLE, PREFECTURE])
        assert answer.status_code == 409
        assert problem(answer)["programmes"] == [
            {"programme_id": programme["id"], "rule": "named_funders", "missing_funder_ids": [CAF]}
        ]
        empty = open_session(world, session, [VILLE, CAF])
        assert empty.status_code == 409 and problem(empty)["code"] == "agenda_empty"

    def test_a_quorum_outside_the_programme_is_refused(self, world: World) -> None:
        body = programme_body(funder_ids=[VILLE], quorum_funder_ids=[CAF])
        assert world.as_("funding", DESK).post("/api/v1/programmes", json=body).status_code == 422


class TestCallingOff:
    def test_a_planned_session_is_called_off_and_its_dossiers_wait_for_another(self, world: World) -> None:
        dossier = ready(world)
        session = plan_session(world, [dossier], BOTH)
        desk = world.as_("funding", DESK)
        assert desk.delete(session_url(session)).status_code == 428
        assert desk.delete(session_url(session), headers={"If-Match": f'"{session["version"]}"'}).status_code == 204
        assert desk.get(session_url(session)).status_code == 404
        assert state_of(world, dossier)["agenda_session_id"] is None
        ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))

    def test_an_open_session_is_not_called_off(self, world: World) -> None:
        dossier = ready(world)
        session = ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))
        answer = world.as_("funding", DESK).delete(session_url(session),
                                                   headers={"If-Match": f'"{session["version"]}"'})
        assert answer.status_code == 409 and problem(answer)["code"] == "session_not_planned"
        assert problem(answer)["allowed_actions"] == ["decide", "defer", "raise_plan", "close"]

    def test_a_funder_no_longer_invited_takes_its_members_conflicts_away(self, world: World) -> None:
        dossier = ready(world)
        session = plan_session(world, [dossier], BOTH)
        ok(world.as_("funding", CITY_MEMBER).post(
            f"{session_url(session)}/conflicts", json={"item_id": item_of(session, dossier)["id"], "reason": "x"}
        ), 201)
        session = ok(put_with_etag(world, f"{session_url(session)}/funders", {"funder_ids": [PREFECTURE]}))
        assert item_of(session, dossier)["recusals"] == []


class TestWhoSeesASession:
    def test_a_funder_outside_a_dossiers_plan_sees_nothing_of_it_in_session(self, world: World) -> None:
        state_and_city = ready(world)
        city_and_caf = ready(world, plan=[{"funder_id": VILLE, "amount_cents": 1_000_000},
                                          {"funder_id": CAF, "amount_cents": 500_000}])
        session = plan_session(world, [state_and_city, city_and_caf], [VILLE, PREFECTURE, CAF])
        caf = world.as_("funding", CAF_MANAGER)
        assert [i["dossier_id"] for i in ok(caf.get(session_url(session)))["items"]] == [city_and_caf["id"]]
        assert [i["dossier_id"] for i in ok(world.as_("funding", COMMITTEE_MEMBER).get(session_url(session)))[
            "items"]] == [state_and_city["id"]]
        hidden = item_of(session, state_and_city)
        conflict = caf.post(f"{session_url(session)}/conflicts", json={"item_id": hidden["id"], "reason": "x"})
        assert conflict.status_code == 422 and problem(conflict)["code"] == "unknown_item"
        ok(world.as_("funding", CITY_MEMBER).post(
            f"{session_url(session)}/conflicts", json={"item_id": hidden["id"], "reason": "Je connais le porteur."}
        ), 201)
        assert ok(caf.get(f"{session_url(session)}/conflicts")) == []
        session = ok(open_session(world, session, [VILLE, PREFECTURE, CAF]))
        assert caf.put(decision_url(session, hidden), json={"granted_amount_cents": 100}).status_code == 404
        ok(decide(world, session, state_and_city, VILLE, 1_500_000, email=CITY_MANAGER), 201)
        ok(decide(world, session, state_and_city, PREFECTURE, 1_000_000), 201)
        ok(decide(world, session, city_and_caf, VILLE, 1_000_000), 201)
        ok(decide(world, session, city_and_caf, CAF, 500_000), 201)
        ok(close(world, session))
        minutes = ok(caf.get(f"{session_url(session)}/minutes"))
        assert [i["dossier_id"] for i in minutes["items"]] == [city_and_caf["id"]]
        assert len(ok(world.as_("funding", DESK).get(f"{session_url(session)}/minutes"))["items"]) == 2
        document = caf.get(f"{session_url(session)}/minutes", params={"format": "html"})
        assert state_and_city["reference"] not in document.text
        assert_inert(document)
        # Asked by Accept rather than by format=html: the same headers.
        assert_inert(caf.get(f"{session_url(session)}/minutes", headers={"Accept": "text/html"}))

    def test_the_holder_learns_nothing_of_the_decisions_before_the_closing(self, world: World) -> None:
        dossier = ready(world)
        session = ok(open_session(world, plan_session(world, [dossier], BOTH), BOTH))
        ok(decide(world, session, dossier, VILLE, 1_500_000), 201)
        trail = ok_list(world.as_("funding", HOLDER).get(f"{url_of(dossier)}/history"))
        assert [entry["action"] for entry in trail][-1] == "placed_on_agenda"
        assert world.as_("funding", HOLDER).get("/api/v1/notifications").json()["items"] == []

    def test_the_desk_and_invited_funders_see_it_nobody_else(self, world: World) -> None:
        dossier = ready(world)
        session = plan_session(world, [dossier], BOTH)
        for email in (DESK, CITY_MEMBER, COMMITTEE_MEMBER, CITY_INSTRUCTOR):
            assert world.as_("funding", email).get(session_url(session)).status_code == 200, email
        assert world.as_("funding", REGION_MEMBER).get(session_url(session)).status_code == 404
        assert world.as_("funding", HOLDER).get(session_url(session)).status_code == 403
        listed = ok(world.as_("funding", REGION_MEMBER).get(SESSIONS))
        assert listed["items"] == []
        assert [s["id"] for s in ok(world.as_("funding", CITY_MEMBER).get(SESSIONS))["items"]] == [session["id"]]

    def test_a_member_of_another_territory_cannot_act_on_the_session(self, world: World) -> None:
        dossier = ready(world)
        session = plan_session(world, [dossier], BOTH)
        item = item_of(session, dossier)
        conflict = world.as_("funding", REGION_MEMBER).post(
            f"{session_url(session)}/conflicts", json={"item_id": item["id"], "reason": "x"}
        )
        assert conflict.status_code == 404
        session = ok(open_session(world, session, BOTH))
        answer = world.as_("funding", REGION_MEMBER).put(decision_url(session, item),
                                                         json={"granted_amount_cents": 100})
        assert answer.status_code == 404

    @pytest.mark.parametrize("email", [HOLDER, CITY_MEMBER])
    def test_only_the_desk_plans(self, world: World, email: str) -> None:
        body = {"title": "Comité", "held_on": "2099-01-01", "place": "Rennes", "programme_ids": [PROGRAMME_ID]}
        assert world.as_("funding", email).post(SESSIONS, json=body).status_code == 403
