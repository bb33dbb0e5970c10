"""After the committee: one grant per share granted, with its agreement (a convention from 23,000 €, a decision
letter below) and its payments; the agreement's life; payments asked for, paid (the envelope's `paid` moves) or
cancelled (its money goes back); who sees what."""

import uuid
from typing import Any

from services.funding.grants.agreements import agreement_number
from services.funding.models.agreement import AgreementKind
from services.funding.models.dossier import Dossier
from services.funding.tests.committee_helpers import (
    decide,
    envelope_of,
    ok,
    open_session,
    plan_session,
    ready,
    session_url,
)
from services.funding.tests.helpers import CAF, PREFECTURE, VILLE
from tests.support.clock import TODAY
from tests.support.documents import assert_inert
from tests.support.stack import problem
from tests.support.world import (
    CITY_MANAGER,
    DESK,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    World,
)

STATE_MANAGER = "direction@prefecture35.example"
CAF_MANAGER = "direction@caf35.example"
AGREEMENTS = "/api/v1/agreements"
PAYMENTS = "/api/v1/payments"
# 25,000 € from the city: a convention; 10,000 € from the State: a decision letter; the CAF grants nothing.
PLAN = [{"funder_id": VILLE, "amount_cents": 2_500_000}, {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
        {"funder_id": CAF, "amount_cents": 500_000}]


def decided(world: World) -> dict[str, Any]:
    """A dossier through a closed session: the city and the State grant in full, the CAF nothing."""
    dossier = ready(world, plan=PLAN)
    present = [VILLE, PREFECTURE, CAF]
    session = ok(open_session(world, plan_session(world, [dossier], present), present))
    ok(decide(world, session, dossier, VILLE, 2_500_000, conditions="Bilan à mi-parcours."), 201)
    ok(decide(world, session, dossier, PREFECTURE, 1_000_000), 201)
    ok(decide(world, session, dossier, CAF, 0), 201)
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    return dossier


def agreements_of(world: World, dossier: dict[str, Any], email: str = HOLDER) -> dict[str, dict[str, Any]]:
    listed = ok(world.as_("funding", email).get(AGREEMENTS, params={"dossier_id": dossier["id"]}))["items"]
    return {agreement["funder_id"]: agreement for agreement in listed}


def payments_of(world: World, agreement: dict[str, Any], email: str = HOLDER) -> list[dict[str, Any]]:
    return ok(world.as_("funding", email).get(PAYMENTS, params={"agreement_id": agreement["id"]}))["items"]


def move(world: World, email: str, agreement: dict[str, Any], action: str):  # noqa: ANN201
    return world.as_("funding", email).post(f"{AGREEMENTS}/{agreement['id']}/{action}", json={})


class TestWhatTheClosingMakes:
    def test_one_agreement_per_share_granted_a_convention_from_23000_euros(self, world: World) -> None:
        dossier = decided(world)
        agreements = agreements_of(world, dossier)
        assert set(agreements) == {VILLE, PREFECTURE}
        city, state = agreements[VILLE], agreements[PREFECTURE]
        number = dossier["reference"].removeprefix("GU-")
        assert (city["kind"], city["number"], city["amount_cents"]) == ("convention", f"CONV-{number}-1", 2_500_000)
        assert (state["kind"], state["number"], state["amount_cents"]) == ("decision_letter", f"DEC-{number}-2",
                                                                            1_000_000)
        assert city["state"] == state["state"] == "drafted"
        assert city["terms"]["conditions"] == "Bilan à mi-parcours."
        assert city["terms"]["financial_report_months"] == 6
        assert city["reference"] == dossier["reference"]
        [payment] = payments_of(world, city)
        assert (payment["amount_cents"], payment["state"], payment["condition"]) == (
            2_500_000, "scheduled", "on_activation")
        assert city["allowed_actions"] == []  # the holder has nothing to do before the funder sends it
        assert ok(world.as_("funding", CITY_MANAGER).get(f"{AGREEMENTS}/{city['id']}"))["allowed_actions"] == [
            "send"]


class TestADecisionLetter:
    def test_in_force_once_notified_then_asked_for_and_paid(self, world: World) -> None:
        dossier = decided(world)
        letter = agreements_of(world, dossier)[PREFECTURE]
        before = envelope_of(world, STATE_MANAGER)
        sent = ok(move(world, STATE_MANAGER, letter, "send"))
        assert sent["state"] == "active" and sent["sent_at"] and sent["activated_at"]
        [payment] = payments_of(world, letter)
        assert payment["state"] == "due"
        due = ok(world.as_("funding", HOLDER).get(PAYMENTS, params={"state": "due"}))["items"]
        assert [p["id"] for p in due] == [payment["id"]]
        asked = ok(world.as_("funding", HOLDER_MEMBER).post(f"{PAYMENTS}/{payment['id']}/request", json={}))
        assert asked["state"] == "requested" and asked["requested_at"]
        again = world.as_("funding", HOLDER).post(f"{PAYMENTS}/{payment['id']}/request", json={})
        assert again.status_code == 409 and problem(again)["code"] == "illegal_transition"
        paid = ok(world.as_("funding", STATE_MANAGER).post(f"{PAYMENTS}/{payment['id']}/pay", json={}))
        assert paid["state"] == "paid" and paid["paid_at"]
        after = envelope_of(world, STATE_MANAGER)
        assert after["paid_cents"] == before["paid_cents"] + 1_000_000
        assert after["committed_cents"] == before["committed_cents"]
        ledger = ok(world.as_("funding", STATE_MANAGER).get(f"/api/v1/envelopes/{after['id']}/ledger",
                                                           params={"limit": 200}))["items"]
        assert (ledger[-1]["kind"], ledger[-1]["amount_cents"], ledger[-1]["dossier_id"]) == (
            "paid", 1_000_000, dossier["id"])
        twice = world.as_("funding", STATE_MANAGER).post(f"{PAYMENTS}/{payment['id']}/pay", json={})
        assert twice.status_code == 409
        ended = ok(move(world, STATE_MANAGER, letter, "end"))
        assert ended["state"] == "ended" and ended["ended_at"]


class TestAConvention:
    def test_signed_by_both_sides_then_in_force_then_paid(self, world: World) -> None:
        dossier = decided(world)
        convention = agreements_of(world, dossier)[VILLE]
        early = move(world, HOLDER, convention, "sign")
        assert early.status_code == 409 and problem(early)["allowed_actions"] == []
        assert ok(move(world, CITY_MANAGER, convention, "send"))["state"] == "sent"
        assert move(world, HOLDER_MEMBER, convention, "sign").status_code == 403
        holder_signed = ok(move(world, HOLDER, convention, "sign"))
        assert holder_signed["state"] == "sent" and holder_signed["holder_signed_at"]
        assert move(world, HOLDER, convention, "sign").status_code == 409
        [payment] = payments_of(world, convention)
        not_yet = world.as_("funding", CITY_MANAGER).post(f"{PAYMENTS}/{payment['id']}/pay", json={})
        assert not_yet.status_code == 409 and problem(not_yet)["code"] == "agreement_not_active"
        signed = ok(move(world, CITY_MANAGER, convention, "sign"))
        assert signed["state"] == "signed" and signed["funder_signed_at"]
        assert ok(move(world, CITY_MANAGER, convention, "activate"))["state"] == "active"
        outstanding = move(world, CITY_MANAGER, convention, "end")
        assert outstanding.status_code == 409 and problem(outstanding)["code"] == "payments_outstanding"
        assert ok(world.as_("funding", CITY_MANAGER).post(f"{PAYMENTS}/{payment['id']}/pay", json={}))["state"] \
            == "paid"
        assert ok(move(world, CITY_MANAGER, convention, "end"))["state"] == "ended"

    def test_its_document_names_the_parties_and_the_schedule(self, world: World) -> None:
        dossier = decided(world)
        convention = agreements_of(world, dossier)[VILLE]
        document = world.as_("funding", HOLDER).get(f"{AGREEMENTS}/{convention['id']}/document")
        assert_inert(document)
        for text in ("Ville de Rennes", "Association Blosne Avenir", convention["number"], "Aide aux devoirs"):
            assert text in document.text, text


class TestPayments:
    def test_a_cancelled_payment_gives_its_money_back_to_the_envelope(self, world: World) -> None:
        dossier = decided(world)
        letter = agreements_of(world, dossier)[PREFECTURE]
        ok(move(world, STATE_MANAGER, letter, "send"))
        [payment] = payments_of(world, letter)
        before = envelope_of(world, STATE_MANAGER)
        url = f"{PAYMENTS}/{payment['id']}/cancel"
        assert world.as_("funding", STATE_MANAGER).post(url, json={}).status_code == 422
        cancelled = ok(world.as_("funding", STATE_MANAGER).post(url, json={"reason": "Projet abandonné."}))
        assert cancelled["state"] == "cancelled" and cancelled["cancel_reason"] == "Projet abandonné."
        assert envelope_of(world, STATE_MANAGER)["committed_cents"] == before["committed_cents"] - 1_000_000
        assert world.as_("funding", STATE_MANAGER).post(url, json={"reason": "Encore."}).status_code == 409
        assert ok(move(world, STATE_MANAGER, letter, "end"))["state"] == "ended"

    def test_no_payment_without_valid_bank_details_in_the_vault(self, world: World) -> None:
        dossier = decided(world)
        letter = agreements_of(world, dossier)[PREFECTURE]
        ok(move(world, STATE_MANAGER, letter, "send"))
        [payment] = payments_of(world, letter)
        vault = world.as_("projects", HOLDER)
        for document in ok(vault.get("/api/v1/documents", params={"kind": "bank_details"}))["items"]:
            version = document["current_version"]["id"]
            etag = vault.get(f"/api/v1/documents/{document['id']}").headers["etag"]
            removed = vault.delete(f"/api/v1/documents/{document['id']}/versions/{version}",
                                   headers={"If-Match": etag})
            assert removed.status_code == 204, removed.text
        refused = world.as_("funding", STATE_MANAGER).post(f"{PAYMENTS}/{payment['id']}/pay", json={})
        assert refused.status_code == 409 and problem(refused)["code"] == "bank_details_missing"
        assert problem(refused)["missing"] == ["bank_details"]
        asked = world.as_("funding", HOLDER).post(f"{PAYMENTS}/{payment['id']}/request", json={})
        assert asked.status_code == 409 and problem(asked)["code"] == "bank_details_missing"
        assert payments_of(world, letter)[0]["state"] == "due"


class TestWhoSees:
    def test_the_parties_and_the_desk_nobody_else(self, world: World) -> None:
        dossier = decided(world)
        convention = agreements_of(world, dossier)[VILLE]
        url = f"{AGREEMENTS}/{convention['id']}"
        for email in (HOLDER, HOLDER_MEMBER, CITY_MANAGER, DESK):
            assert world.as_("funding", email).get(url).status_code == 200, email
        for email in (OTHER_HOLDER, STATE_MANAGER, CAF_MANAGER):
            assert world.as_("funding", email).get(url).status_code == 404, email
        assert set(agreements_of(world, dossier, CITY_MANAGER)) == {VILLE}
        assert agreements_of(world, dossier, OTHER_HOLDER) == {}
        assert len(agreements_of(world, dossier, DESK)) == 2
        [payment] = payments_of(world, convention)
        assert world.as_("funding", CAF_MANAGER).get(f"{PAYMENTS}/{payment['id']}").status_code == 404
        assert world.as_("funding", OTHER_HOLDER).post(f"{PAYMENTS}/{payment['id']}/request",
                                                       json={}).status_code == 404
        assert move(world, STATE_MANAGER, convention, "send").status_code == 404


class TestGrants:
    def test_each_share_granted_is_a_grant_and_the_year_adds_them_up(self, world: World) -> None:
        dossier = decided(world)
        year = TODAY.year
        listed = ok(world.as_("funding", HOLDER).get("/api/v1/grants", params={"dossier_id": dossier["id"]}))
        assert sorted((g["funder_id"], g["amount_cents"], g["year"]) for g in listed["items"]) == sorted([
            (VILLE, 2_500_000, year), (PREFECTURE, 1_000_000, year)])
        assert [g["funder_id"] for g in ok(world.as_("funding", CITY_MANAGER).get("/api/v1/grants"))["items"]] \
            == [VILLE]
        assert ok(world.as_("funding", OTHER_HOLDER).get("/api/v1/grants"))["items"] == []
        totals = ok(world.as_("funding", HOLDER).get("/api/v1/grants/totals", params={"year": year}))
        assert (totals["granted_cents"], totals["certified_accounts_required"]) == (3_500_000, False)
        assert world.as_("funding", CITY_MANAGER).get("/api/v1/grants/totals", params={"year": year}).status_code \
            == 403
        theirs = world.as_("funding", OTHER_HOLDER).get(
            "/api/v1/grants/totals", params={"year": year, "organisation_id": dossier["organisation_id"]})
        assert theirs.status_code == 403 and problem(theirs)["code"] == "not_your_association"
        desk = world.as_("funding", DESK)
        assert desk.get("/api/v1/grants/totals", params={"year": year}).status_code == 422
        named = ok(desk.get("/api/v1/grants/totals", params={"year": year, "organisation_id": dossier[
            "organisation_id"]}))
        assert named["granted_cents"] == 3_500_000
        # What a funder cancels was never given.
        letter = agreements_of(world, dossier)[PREFECTURE]
        ok(move(world, STATE_MANAGER, letter, "send"))
        [payment] = payments_of(world, letter)
        ok(world.as_("funding", STATE_MANAGER).post(f"{PAYMENTS}/{payment['id']}/cancel", json={"reason": "x"}))
        totals = ok(world.as_("funding", HOLDER).get("/api/v1/grants/totals", params={"year": year}))
        assert totals["granted_cents"] == 2_500_000

    def test_above_153000_euros_a_year_certified_accounts_are_flagged(self, world: World) -> None:
        large = [{"funder_id": VILLE, "amount_cents": 15_300_100}]
        dossier = ready(world, plan=large)
        both = [VILLE, PREFECTURE]
        session = ok(open_session(world, plan_session(world, [dossier], both), both))
        ok(decide(world, session, dossier, VILLE, 15_300_100), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
        totals = ok(world.as_("funding", HOLDER).get("/api/v1/grants/totals", params={"year": TODAY.year}))
        assert (totals["granted_cents"], totals["threshold_cents"]) == (15_300_100, 15_300_000)
        assert totals["certified_accounts_required"] is True


def test_a_renewals_agreement_number_starts_from_its_thread_and_stays_unique() -> None:
    def dossier(reference: str, thread: str) -> Dossier:
        return Dossier(reference=reference, thread_reference=thread, programme_id=uuid.uuid4(),
                       project_id=uuid.uuid4(), organisation_id=uuid.uuid4(), created_by="test")

    first, renewal = dossier("GU-2027-000123", "GU-2027-000123"), dossier("GU-2030-000456", "GU-2027-000123")
    numbers = [agreement_number(kind, d, position) for d in (first, renewal)
               for kind in AgreementKind for position in (1, 2, None)]
    assert numbers[:3] == ["CONV-2027-000123-1", "CONV-2027-000123-2", "CONV-2027-000123"]
    assert agreement_number(AgreementKind.decision_letter, renewal, 1) == "DEC-2027-000123-2030-000456-1"
    assert len(set(numbers)) == len(numbers)
