"""Open data as a fact of its year: each notified grant's SCDL rows are written when it is notified (a CPO's one per
year, a multi-party convention's one per funder), and a cancelled payment, another year's amendment or a rename
leaves them as they were. Every file is checked by the official validator (validata-core)."""

import importlib.util
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from common.clock import FixedClock
from services.funding.models.open_data import OpenDataRow
from services.funding.tests.committee_helpers import ok
from services.funding.tests.helpers import BLOSNE_AVENIR, CAF, PREFECTURE, VILLE, create_programme
from services.funding.tests.test_agreements import agreements_of as agreements_by_funder
from services.funding.tests.test_agreements import decided, payments_of
from services.funding.tests.test_cpo import (
    MANAGER_OF,
    YEARLY,
    agreements_of,
    at,
    decided_cpo,
    file_activity_report,
    file_financial_reports,
    granted_cpo,
    open_envelopes,
    pay_due,
    review,
)
from services.funding.tests.test_cpo import payments_of as cpo_payments
from services.funding.tests.test_exports import STATE_MANAGER, export, grant_year, identity_says, on
from services.funding.tests.test_small_projects import admitted, simplified, small  # noqa: F401  (fixture)
from services.funding.tests.test_small_projects import decide as decide_alone
from tests.support.clock import TODAY
from tests.support.world import CITY_MANAGER, HOLDER, World


def with_envelopes(world: World, programme: dict[str, Any]) -> dict[str, Any]:
    open_envelopes(world, programme)
    return programme


@pytest.fixture
def cpo_2027(world: World) -> dict[str, Any]:
    """test_cpo's programme: 2027 to 2029, every funder under a convention whatever its amount, and envelopes."""
    return with_envelopes(world, create_programme(world, title="CPO 2027-2029", track="cpo", year=2027,
                                                  funder_ids=[VILLE, CAF, PREFECTURE], convention_threshold_cents=0))


def cancel(world: World, email: str, payment: dict[str, Any]) -> None:
    ok(world.as_("funding", email).post(f"/api/v1/payments/{payment['id']}/cancel",
                                        json={"reason": "Action non réalisée."}))


def by_year(world: World, funder: str, years: list[int]) -> dict[int, list[dict[str, str]]]:
    return {year: export(world, funder, year) for year in years}


class TestACpo:
    def test_each_year_s_amount_in_that_year_s_file(self, world: World, cpo_2027: dict) -> None:
        dossier = granted_cpo(world, cpo_2027)
        number = agreements_of(world, dossier)[VILLE]["number"]
        files = by_year(world, VILLE, [2026, 2027, 2028, 2029, 2030])
        assert files[2026] == files[2030] == []  # the decision's year and after the CPO: nothing
        for year in (2027, 2028, 2029):
            [row] = files[year]
            assert (row["montant"], row["referenceDecision"], row["dateConvention"]) == (
                "60000.00", number, TODAY.isoformat())
            assert row["conditionsVersement"] == "échelonné"
        # Each year's advance by the end of March (from 1 January after the first), the balance after the review:
        # nothing paid yet, so the scheduled period of that year, ending with it.
        assert [files[year][0]["datesPeriodeVersement"] for year in (2027, 2028, 2029)] == [
            "2027-03-31/2027-12-31", "2028-01-01/2028-12-31", "2029-01-01/2029-12-31"]

    def test_an_amendment_shows_in_the_year_it_changes_and_a_cancellation_rewrites_no_other_year(
        self, world: World, cpo_2027: dict, clock: FixedClock
    ) -> None:
        dossier = granted_cpo(world, cpo_2027)
        at(clock, 2027, 2)
        assert pay_due(world, dossier) == 3
        at(clock, 2027, 6)
        assert review(world, dossier, 2027, "continue").status_code == 201
        assert pay_due(world, dossier) == 3
        at(clock, 2028, 2)
        file_financial_reports(world, dossier, 2027)
        file_activity_report(world, dossier, 2027)
        at(clock, 2028, 5)
        amended = review(world, dossier, 2028, "amend", comment="Baisse de la dotation de l'État en 2029.",
                         amendment={"amounts": [{"funder_id": PREFECTURE, "year": 2029, "amount_cents": 1_500_000}]})
        assert amended.status_code == 201, amended.text
        state = by_year(world, PREFECTURE, [2027, 2028, 2029])
        assert [rows[0]["montant"] for rows in state.values()] == ["20000.00", "20000.00", "15000.00"]
        # The year it changed publishes the amendment as its act; the others, the convention.
        number = agreements_of(world, dossier)[PREFECTURE]["number"]
        assert [(rows[0]["referenceDecision"], rows[0]["dateConvention"]) for rows in state.values()] == [
            (number, TODAY.isoformat()), (number, TODAY.isoformat()), (f"{number}-AV1", "2028-05-15")]
        # 2027 was paid: its real dates, the advance on 15 February, the balance on 15 June.
        assert state[2027][0]["datesPeriodeVersement"] == "2027-02-15/2027-06-15"
        # The State cancels its 2029 balance: 2029's period loses it, 2027's and 2028's rows stay as they were.
        [_, balance] = [p for p in cpo_payments(world, dossier, PREFECTURE) if p["year"] == 2029]
        cancel(world, STATE_MANAGER, balance)
        after = by_year(world, PREFECTURE, [2027, 2028, 2029])
        assert after[2027] == state[2027] and after[2028] == state[2028]
        [row_2029] = after[2029]
        assert (row_2029["montant"], row_2029["conditionsVersement"], row_2029["datesPeriodeVersement"]) == (
            "15000.00", "unique", "2029-01-01")


class TestAMultiPartyConvention:
    def test_each_funder_publishes_its_share_once_every_party_signed(
        self, world: World, clock: FixedClock
    ) -> None:
        programme = with_envelopes(world, create_programme(
            world, title="CPO commune", track="cpo", year=2027, funder_ids=[VILLE, CAF, PREFECTURE],
            multi_party_agreement=True))
        dossier = decided_cpo(world, programme)
        [agreement] = agreements_of(world, dossier).values()
        url = f"/api/v1/agreements/{agreement['id']}"
        ok(world.as_("funding", CITY_MANAGER).post(f"{url}/send"))
        ok(world.as_("funding", HOLDER).post(f"{url}/sign"))
        for day, funder in enumerate((VILLE, CAF), start=1):
            on(clock, date(2026, 7, day))
            ok(world.as_("funding", MANAGER_OF[funder]).post(f"{url}/sign"))
        # Two funders of three have signed: the convention is not concluded, nothing is public.
        assert export(world, VILLE, 2027) == [] and export(world, CAF, 2027) == []
        on(clock, date(2026, 7, 9))
        ok(world.as_("funding", STATE_MANAGER).post(f"{url}/sign"))
        for funder, yearly in YEARLY.items():
            for year in (2027, 2028, 2029):
                [row] = export(world, funder, year)
                assert (row["montant"], row["referenceDecision"], row["dateConvention"]) == (
                    f"{yearly // 100}.00", agreement["number"], "2026-07-09"), (funder, year)


class TestALetter:
    def test_a_cancelled_payment_leaves_the_notified_letter_in_its_file(self, world: World, clock: FixedClock
                                                                        ) -> None:
        dossier = decided(world)
        year = grant_year(world, dossier)
        letter = agreements_by_funder(world, dossier)[PREFECTURE]
        on(clock, date(2026, 6, 20))
        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send"))
        [before] = export(world, PREFECTURE, year)
        [payment] = payments_of(world, letter)
        cancel(world, STATE_MANAGER, payment)
        [after] = export(world, PREFECTURE, year)
        # The decision was notified: its row stays, amount and period as scheduled at the notification.
        assert after == before
        assert (after["montant"], after["datesPeriodeVersement"], after["dateConvention"]) == (
            "10000.00", "2026-06-20", "2026-06-20")

    def test_a_small_project_decided_alone_is_published_with_its_decision(
        self, world: World, small: dict[str, Any], clock: FixedClock  # noqa: F811
    ) -> None:
        dossier = admitted(world, simplified(world, small))
        assert export(world, VILLE, small["year"]) == []
        on(clock, date(2026, 6, 18))
        ok(decide_alone(world, dossier, 150_000))
        [row] = export(world, VILLE, small["year"])
        assert (row["montant"], row["dateConvention"], row["conditionsVersement"]) == (
            "1500.00", "2026-06-18", "unique")
        assert row["referenceDecision"] == ok(world.as_("funding", CITY_MANAGER).get(
            "/api/v1/agreements", params={"dossier_id": dossier["id"]}))["items"][0]["number"]


MIGRATION = Path(__file__).parents[3] / "migrations" / "funding" / "versions" / (
    "2026_12_08_0107-c9a22abc4884_open_data_rows_frozen_at_notification.py")


def _backfill_again(world: World) -> None:
    """The rows deleted, then written back by the migration's own backfill, on the test's database."""
    spec = importlib.util.spec_from_file_location("open_data_rows_revision", MIGRATION)
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)

    async def redo() -> None:
        async with world.stack.apps["funding"].state.db.transaction() as session:
            await session.execute(delete(OpenDataRow))
            await session.run_sync(lambda sync: revision._backfill(sync.connection()))

    world.stack.run(redo)


class TestTheMigration:
    def test_grants_notified_before_it_are_written_back_their_names_read_live(
        self, world: World, monkeypatch: Any
    ) -> None:
        dossier = decided(world)
        year = grant_year(world, dossier)
        agreements = agreements_by_funder(world, dossier)
        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{agreements[PREFECTURE]['id']}/send"))
        for email, action in ((CITY_MANAGER, "send"), (CITY_MANAGER, "sign"), (HOLDER, "sign")):
            ok(world.as_("funding", email).post(f"/api/v1/agreements/{agreements[VILLE]['id']}/{action}"))
        before = {funder: export(world, funder, year) for funder in (VILLE, PREFECTURE)}
        assert [len(rows) for rows in before.values()] == [1, 1]
        _backfill_again(world)
        assert {funder: export(world, funder, year) for funder in (VILLE, PREFECTURE)} == before
        # Identity's facts were not kept for these rows: the export reads them from identity, as it says today.
        with identity_says(monkeypatch, BLOSNE_AVENIR, name="Blosne Avenir", siret=None, rna="W2A1002760"):
            answer = world.stack.api("funding").get("/api/v1/exports/scdl", params={"funder": VILLE, "year": year})
            assert answer.text.splitlines()[1:] == [] and answer.headers["X-SCDL-Excluded-Rows"] == "1"
            [excluded] = ok(world.stack.api("funding").get(answer.headers["X-SCDL-Excluded-Report"]))["items"]
            assert (excluded["beneficiary_name"], excluded["reason"]) == (
                "Blosne Avenir", "beneficiary_without_siret_or_rna")
        with identity_says(monkeypatch, BLOSNE_AVENIR, name="Blosne Avenir"):
            [row] = export(world, PREFECTURE, year)
            assert row["nomBeneficiaire"] == "Blosne Avenir"


class TestAPartialGrant:
    def test_what_was_granted_not_what_was_asked_under_a_letter_below_the_threshold(self, world: World) -> None:
        from services.funding.tests.committee_helpers import decide, open_session, plan_session, ready, session_url
        from services.funding.tests.test_agreements import PLAN
        from tests.support.world import DESK

        dossier = ready(world, plan=PLAN)
        present = [VILLE, PREFECTURE, CAF]
        session = ok(open_session(world, plan_session(world, [dossier], present), present))
        ok(decide(world, session, dossier, VILLE, 1_800_000), 201)  # 25,000 € asked, 18,000 € granted
        ok(decide(world, session, dossier, PREFECTURE, 0), 201)
        ok(decide(world, session, dossier, CAF, 0), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
        assert ok(world.as_("funding", DESK).get(f"/api/v1/dossiers/{dossier['id']}"))["outcome"] == \
            "partially_accepted"
        letter = agreements_by_funder(world, dossier)[VILLE]
        assert letter["kind"] == "decision_letter"
        ok(world.as_("funding", CITY_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send"))
        year = grant_year(world, dossier)
        [row] = export(world, VILLE, year)
        assert (row["montant"], row["referenceDecision"]) == ("18000.00", letter["number"])
        # The funders that granted nothing publish nothing.
        assert export(world, PREFECTURE, year) == [] and export(world, CAF, year) == []
