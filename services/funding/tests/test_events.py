"""Domain events: each state change writes its event in its own transaction (a refused change writes none); the
feed gives each caller what it may see, in commit order, and resumes from a cursor."""

from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from common.clock import FixedClock
from services.funding.tests.committee_helpers import (
    CAF_MANAGER,
    CITY_MEMBER,
    TWO_FUNDERS,
    decide,
    ok,
    open_session,
    plan_session,
    ready,
    session_url,
)
from services.funding.tests.helpers import BLOSNE_AVENIR, CAF, PREFECTURE, VILLE, url_of
from services.funding.tests.test_agreements import decided
from services.funding.tests.test_financial_reports import STATE_MANAGER
from services.funding.tests.test_opinions import council_of
from services.funding.tests.test_webhooks import worker_pass
from services.funding.webhooks.worker import Worker
from tests.support.clock import TODAY
from tests.support.receiver import Receiver
from tests.support.stack import problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    OTHER_HOLDER,
    World,
)

EVENTS = "/api/v1/events"


def feed(world: World, email: str, **params: Any) -> list[dict[str, Any]]:
    """Every event the caller may see, page after page."""
    items, cursor = [], None
    while True:
        page = ok(world.as_("funding", email).get(EVENTS, params={**params, **({"cursor": cursor} if cursor else {})}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def of_dossier(events: list[dict[str, Any]], dossier: dict[str, Any]) -> list[str]:
    return [event["type"] for event in events if event["dossier_id"] == dossier["id"]]


class TestTheOutbox:
    def test_a_dossier_s_life_in_order_each_seeing_its_share(self, world: World) -> None:
        dossier = ready(world)
        desk = of_dossier(feed(world, DESK), dossier)
        assert desk == ["dossier.created", "dossier.submitted", "dossier.declared_admissible", "dossier.routed",
                        "dossier.opinion_recorded", "dossier.opinion_recorded", "dossier.ready_for_committee"]
        # The association does not see the funders' opinions; a funder sees what came once it was routed to.
        assert of_dossier(feed(world, HOLDER), dossier) == [
            "dossier.created", "dossier.submitted", "dossier.declared_admissible", "dossier.routed",
            "dossier.ready_for_committee"]
        assert of_dossier(feed(world, CITY_INSTRUCTOR), dossier) == desk[3:]
        assert of_dossier(feed(world, CAF_MANAGER), dossier) == []
        assert of_dossier(feed(world, OTHER_HOLDER), dossier) == []

        [submitted] = [e for e in feed(world, HOLDER) if e["type"] == "dossier.submitted"
                       and e["dossier_id"] == dossier["id"]]
        assert (submitted["subject_kind"], submitted["subject_id"], submitted["reference"]) == (
            "dossier", dossier["id"], dossier["reference"])
        assert submitted["organisation_id"] == BLOSNE_AVENIR
        assert submitted["data"]["from_state"] == "draft" and submitted["data"]["to_state"] == "submitted"

    def test_the_numbers_follow_the_commits_and_the_cursor_resumes(self, world: World) -> None:
        ready(world)
        everything = feed(world, DESK)
        numbers = [event["sequence"] for event in everything]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        paged = feed(world, DESK, limit=3)
        assert [event["id"] for event in paged] == [event["id"] for event in everything]
        # Resuming after the last event read gives nothing until something happens, then only that.
        last = ok(world.as_("funding", DESK).get(EVENTS, params={"limit": 200}))["last_cursor"]
        assert ok(world.as_("funding", DESK).get(EVENTS, params={"cursor": last}))["items"] == []
        world.create_dossier()
        after = ok(world.as_("funding", DESK).get(EVENTS, params={"cursor": last}))
        assert [event["type"] for event in after["items"]] == ["dossier.created"]
        assert after["last_cursor"] != last

    def test_a_refused_change_writes_no_event(self, world: World) -> None:
        dossier = world.create_dossier()
        before = feed(world, DESK)
        refused = world.as_("funding", DESK).post(f"{url_of(dossier)}/route", json={})
        assert refused.status_code == 409
        assert feed(world, DESK) == before

    def test_types_and_a_dossier_narrow_the_feed(self, world: World) -> None:
        first, second = world.create_dossier(), world.create_dossier()
        world.submit(second)
        submitted = feed(world, HOLDER, type=["dossier.submitted"])
        assert [event["dossier_id"] for event in submitted] == [second["id"]]
        assert {event["dossier_id"] for event in feed(world, HOLDER, dossier_id=first["id"])} == {first["id"]}

    def test_a_forged_cursor_is_a_400(self, world: World) -> None:
        for cursor in ("not-a-cursor", "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5OQ"):  # the second: 21 digits
            answer = world.as_("funding", DESK).get(EVENTS, params={"cursor": cursor})
            assert answer.status_code == 400 and problem(answer)["code"] == "invalid_cursor"


class TestWhatTheCommitteeAndTheMoneySay:
    def test_decisions_to_their_funder_the_rest_to_whom_it_concerns(self, world: World) -> None:
        dossier = ready(world, plan=TWO_FUNDERS)
        both = [VILLE, PREFECTURE]
        session = ok(open_session(world, plan_session(world, [dossier], both), both))
        ok(decide(world, session, dossier, VILLE, 1_500_000, email=CITY_MEMBER), 201)
        ok(decide(world, session, dossier, PREFECTURE, 1_000_000, email=COMMITTEE_MEMBER), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))

        city = [e for e in feed(world, CITY_MANAGER) if e["type"] == "decision.recorded"]
        assert [(e["data"]["funder_id"], e["data"]["granted_cents"]) for e in city] == [(VILLE, 1_500_000)]
        assert city[0]["organisation_id"] is None  # the association hears it at the closing, not before
        holder = [e["type"] for e in feed(world, HOLDER)]
        assert "decision.recorded" not in holder and "dossier.decided" in holder
        sessions = [e["type"] for e in feed(world, COMMITTEE_MEMBER) if e["subject_kind"] == "session"]
        assert sessions == ["session.opened", "session.closed"]
        assert [e for e in feed(world, CAF_MANAGER) if e["subject_kind"] in ("session", "decision")] == []

        agreements = [e for e in feed(world, HOLDER) if e["subject_kind"] == "agreement"]
        assert sorted(e["type"] for e in agreements) == ["agreement.drafted", "agreement.drafted"]
        [letter] = [e for e in feed(world, CITY_MANAGER) if e["type"] == "agreement.drafted"]
        assert letter["data"]["funder_id"] == VILLE
        agreement_id = letter["subject_id"]
        city_manager = world.as_("funding", CITY_MANAGER)
        ok(city_manager.post(f"/api/v1/agreements/{agreement_id}/send"))
        world.provide_required_documents()
        [payment] = ok(city_manager.get("/api/v1/payments", params={"agreement_id": agreement_id}))["items"]
        ok(city_manager.post(f"/api/v1/payments/{payment['id']}/pay"))
        money = [(e["type"], e["subject_id"]) for e in feed(world, HOLDER, dossier_id=dossier["id"])
                 if e["subject_kind"] in ("agreement", "payment")]
        assert ("agreement.active", agreement_id) in money and ("payment.paid", payment["id"]) in money
        assert money.index(("agreement.active", agreement_id)) < money.index(("payment.paid", payment["id"]))
        assert not [e for e in feed(world, CITY_MANAGER) if e["subject_kind"] == "payment"
                    and e["data"]["funder_id"] != VILLE]
        assert not [e for e in feed(world, CAF_MANAGER) if e["subject_kind"] in ("agreement", "payment")]
        assert CAF  # the CAF was asked nothing here


class TestCitizenCouncils:
    def test_a_council_follows_the_way_of_its_qpvs_dossiers_through_the_feed_and_its_webhook(
        self, world: World, receiver: Receiver
    ) -> None:
        endpoint = ok(world.as_("funding", CITIZEN).post("/api/v1/webhooks", json={"url": receiver.url}), 201)
        blosne = ready(world, plan=TWO_FUNDERS)  # the Blosne's council speaks for its QPV
        elsewhere = world.create_project(qpv_codes=["QN03504M"])
        maurepas = ready(world, plan=TWO_FUNDERS, project=elsewhere, documents=False)
        both = [VILLE, PREFECTURE]
        session = ok(open_session(world, plan_session(world, [blosne, maurepas], both), both))
        for dossier in (blosne, maurepas):
            ok(decide(world, session, dossier, VILLE, 1_500_000, email=CITY_MEMBER), 201)
            ok(decide(world, session, dossier, PREFECTURE, 0, email=COMMITTEE_MEMBER), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))

        council = feed(world, CITIZEN)
        assert [(e["type"], e["dossier_id"]) for e in council] == [
            ("dossier.routed", blosne["id"]), ("dossier.ready_for_committee", blosne["id"]),
            ("dossier.decided", blosne["id"])]
        assert of_dossier(feed(world, CITIZEN, type=["dossier.decided"]), blosne) == ["dossier.decided"]
        worker_pass(world)
        assert sorted((p["type"], p["data"]["dossier_id"]) for p in receiver.payloads()) == sorted(
            (e["type"], e["dossier_id"]) for e in council)
        headers, body = receiver.requests[0]
        assert Webhook(endpoint["secret"]).verify(body, headers)  # signed as for anyone

    def test_a_council_of_no_dossier_s_qpv_sees_none_of_it(self, world: World) -> None:
        dossier = ready(world, plan=TWO_FUNDERS)
        maurepas = council_of(world, ["QN03504M"], "conseil@conseil-maurepas.example")
        answer = maurepas.get(EVENTS)
        assert answer.status_code == 200, answer.text
        assert [e for e in answer.json()["items"] if e["dossier_id"] == dossier["id"]] == []


class TestWhatTimeSays:
    def test_a_payment_falling_due_and_a_report_falling_late_are_each_said_once(
        self, world: World, clock: FixedClock
    ) -> None:
        dossier = decided(world)
        state = world.as_("funding", STATE_MANAGER)
        letter = next(a for a in ok(state.get("/api/v1/agreements", params={"dossier_id": dossier["id"]}))["items"]
                      if a["funder_id"] == PREFECTURE)
        ok(state.post(f"/api/v1/agreements/{letter['id']}/send"))  # in force: its payment is due
        assert worker_pass(world) >= 1
        due = [e for e in feed(world, STATE_MANAGER) if e["type"] == "payment.due"]
        assert [e["data"]["funder_id"] for e in due] == [PREFECTURE]
        assert [e["type"] for e in feed(world, HOLDER) if e["type"] == "payment.due"] == ["payment.due"]
        assert not [e for e in feed(world, CITY_MANAGER) if e["type"] == "payment.due"]  # the city's is not in force
        worker_pass(world)
        assert len([e for e in feed(world, HOLDER) if e["type"] == "payment.due"]) == 1  # said once
        world.provide_required_documents()
        [payment] = ok(state.get("/api/v1/payments", params={"agreement_id": letter["id"]}))["items"]
        ok(state.post(f"/api/v1/payments/{payment['id']}/pay"))
        clock.at = datetime(TODAY.year + 1, 7, 1, 9, tzinfo=UTC)
        worker_pass(world)
        worker_pass(world)
        late = [e for e in feed(world, STATE_MANAGER) if e["type"] == "report.overdue"]
        assert [(e["data"]["funder_id"], e["data"]["due_on"]) for e in late] == [
            (PREFECTURE, f"{TODAY.year + 1}-06-30")]
        assert [e["type"] for e in feed(world, HOLDER) if e["type"] in ("payment.due", "report.overdue")] == [
            "payment.due", "report.overdue"]

    def test_a_running_worker_looks_at_time_once_an_interval(self, world: World) -> None:
        """The look reads every scheduled payment and owed report: a long-running worker makes it once a minute
        (FUNDING_WEBHOOK_ANNOUNCE_SECONDS), not at each of its passes."""
        app = world.stack.apps["funding"]
        settings = app.state.settings.model_copy(update={"webhook_announce_seconds": 3600})
        dossier = decided(world)
        state = world.as_("funding", STATE_MANAGER)
        letter = next(a for a in ok(state.get("/api/v1/agreements", params={"dossier_id": dossier["id"]}))["items"]
                      if a["funder_id"] == PREFECTURE)

        http = httpx.AsyncClient()
        worker = Worker(app.state.db, http, settings, app.state.clock)  # one worker, kept between its passes
        try:
            world.stack.run(worker.tick)  # a new worker looks at once: nothing is due yet
            ok(state.post(f"/api/v1/agreements/{letter['id']}/send"))  # in force: its payment is due
            world.stack.run(worker.tick)
            assert not [e for e in feed(world, STATE_MANAGER) if e["type"] == "payment.due"]
            worker.next_announce = 0.0  # the hour has passed
            world.stack.run(worker.tick)
            assert len([e for e in feed(world, STATE_MANAGER) if e["type"] == "payment.due"]) == 1
        finally:
            world.stack.run(http.aclose)
