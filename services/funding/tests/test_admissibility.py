"""The desk's first look at a submitted dossier: the admissibility rules, the decision, supplements and the
way back, the allocation of the share left to the desk, the holder's withdrawal, and the trail of it all."""

from datetime import timedelta
from typing import Any

import pytest

from services.funding.tests.helpers import (
    CAF,
    DEPARTEMENT,
    PREFECTURE,
    VILLE,
    create_programme,
    history_count,
    url_of,
)
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import CITY_INSTRUCTOR, DESK, HOLDER, OTHER_HOLDER, World, org_id

PLAN: list[dict[str, Any]] = [
    {"funder_id": VILLE, "amount_cents": 1_500_000},
    {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
    {"funder_id": None, "amount_cents": 500_000},
]
# A due date well after today, whenever the tests run (a run may cross midnight).
DUE_ON = (TODAY + timedelta(days=30)).isoformat()


def every_required_document(world: World, track: str = "annual", email: str = HOLDER) -> None:
    world.provide_required_documents(email, track)


def submitted(world: World, plan: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return world.submit(world.create_dossier(plan=plan or PLAN))


def post(world: World, email: str, dossier: dict[str, Any], action: str, body: dict[str, Any] | None = None,
         **kwargs: Any):  # noqa: ANN201
    return world.as_("funding", email).post(f"{url_of(dossier)}/{action}", json=body or {}, **kwargs)


def read(world: World, dossier: dict[str, Any]) -> dict[str, Any]:
    return world.as_("funding", DESK).get(url_of(dossier)).json()


class TestTheRules:
    def test_each_rule_says_what_fails(self, world: World) -> None:
        dossier = submitted(world)
        world.create_document(kind="statutes")
        response = world.as_("funding", DESK).get(f"{url_of(dossier)}/admissibility", headers={"Accept-Language": "en"})
        assert response.status_code == 200, response.text
        body = response.json()
        rules = {rule["rule"]: rule for rule in body["rules"]}
        assert list(rules) == [
            "required_documents", "territory_eligible", "plan_coherent_with_budget", "no_overdue_financial_report",
            "republican_contract_signed",
        ]
        assert rules["republican_contract_signed"] == {
            "rule": "republican_contract_signed", "satisfied": True,
            "detail": "Republican commitment contract signed on 2023-03-14 by Awa Diallo.",
        }
        assert body["admissible"] is False and body["state"] == "submitted"
        assert rules["required_documents"]["satisfied"] is False
        assert "insurance_certificate (missing)" in rules["required_documents"]["detail"]
        assert "statutes" not in rules["required_documents"]["detail"]
        assert rules["territory_eligible"] == {
            "rule": "territory_eligible", "satisfied": True, "detail": "QPVs of the territory: QN03505M.",
        }
        assert rules["plan_coherent_with_budget"]["satisfied"] is True

    def test_without_the_republican_contract_the_dossier_is_not_admissible(self, world: World) -> None:
        """Loi 2021-1109: the association's profile, as frozen at submission, carries the signed contract."""
        profile_url = f"/api/v1/organisations/{org_id('blosne-avenir')}/profile"
        holder = world.as_("identity", HOLDER)
        current = holder.get(profile_url)
        unsigned = {name: current.json()[name] for name in (
            "legal_representative", "contact", "address", "approvals", "networks", "public_aid")}
        unsigned["people"] = {key: value for key, value in current.json()["people"].items()}
        unsigned["public_aid"] = [{key: value for key, value in line.items() if key != "source"}
                                  for line in unsigned["public_aid"]]
        changed = holder.put(profile_url, json=unsigned, headers={"If-Match": current.headers["etag"]})
        assert changed.status_code == 200, changed.text
        dossier = submitted(world)
        every_required_document(world)
        check = world.as_("funding", DESK).get(f"{url_of(dossier)}/admissibility").json()
        rule = next(rule for rule in check["rules"] if rule["rule"] == "republican_contract_signed")
        assert rule["satisfied"] is False and "contrat d'engagement républicain" in rule["detail"]
        assert check["admissible"] is False
        refused = post(world, DESK, dossier, "admissibility", {"decision": "admissible"})
        assert refused.status_code == 409
        assert problem(refused)["failed_rules"] == ["republican_contract_signed"]
        assert read(world, dossier)["state"] == "submitted"

    def test_with_every_document_the_dossier_can_be_admitted(self, world: World) -> None:
        dossier = submitted(world)
        every_required_document(world)
        assert world.as_("funding", DESK).get(f"{url_of(dossier)}/admissibility").json()["admissible"] is True

    def test_a_project_outside_the_programmes_territory_is_not_eligible(self, world: World) -> None:
        programme = create_programme(world, track="annual", qpv_codes=["QN03504M"], funder_ids=[VILLE])
        project = world.create_project()
        created = world.as_("funding", HOLDER).post("/api/v1/dossiers", json={
            "programme_id": programme["id"], "project_id": project["id"],
            "funding_plan": [{"funder_id": VILLE, "amount_cents": 1_500_000}],
        })
        assert created.status_code == 201, created.text
        world.budget_matching(project, [{"funder_id": VILLE, "amount_cents": 1_500_000}])
        dossier = world.submit(created.json())
        rules = world.as_("funding", DESK).get(f"{url_of(dossier)}/admissibility").json()["rules"]
        territory = next(rule for rule in rules if rule["rule"] == "territory_eligible")
        assert territory["satisfied"] is False

    def test_the_holder_reads_them_others_do_not(self, world: World) -> None:
        dossier = submitted(world)
        assert world.as_("funding", HOLDER).get(f"{url_of(dossier)}/admissibility").status_code == 200
        assert world.as_("funding", OTHER_HOLDER).get(f"{url_of(dossier)}/admissibility").status_code == 404
        assert world.as_("funding", CITY_INSTRUCTOR).get(f"{url_of(dossier)}/admissibility").status_code == 403


class TestTheDecision:
    def test_admissible_when_every_rule_holds(self, world: World) -> None:
        dossier = submitted(world)
        every_required_document(world)
        response = post(world, DESK, dossier, "admissibility", {"decision": "admissible"})
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "admissible"
        assert response.headers["etag"] == f'"{dossier["version"] + 1}"'
        assert history_count(world, dossier["id"], "declared_admissible") == 1

    def test_not_admissible_while_a_rule_fails_409_listing_them(self, world: World) -> None:
        dossier = submitted(world)
        response = post(world, DESK, dossier, "admissibility", {"decision": "admissible"})
        assert response.status_code == 409
        details = problem(response)
        assert (details["code"], details["failed_rules"]) == ("admissibility_rules_failed", ["required_documents"])
        assert read(world, dossier)["state"] == "submitted"

    def test_inadmissible_needs_a_reason_and_is_final(self, world: World) -> None:
        dossier = submitted(world)
        missing = post(world, DESK, dossier, "admissibility", {"decision": "inadmissible"})
        assert missing.status_code == 422
        assert read(world, dossier)["state"] == "submitted"
        response = post(world, DESK, dossier, "admissibility", {"decision": "inadmissible", "reason": "Hors champ."})
        assert response.status_code == 200
        assert (response.json()["state"], response.json()["closing_reason"]) == ("inadmissible", "Hors champ.")
        again = post(world, HOLDER, dossier, "withdraw")
        assert again.status_code == 409 and problem(again)["allowed_actions"] == []

    @pytest.mark.parametrize("email", [HOLDER, CITY_INSTRUCTOR])
    def test_only_the_desk_decides(self, world: World, email: str) -> None:
        dossier = submitted(world)
        assert post(world, email, dossier, "admissibility", {"decision": "inadmissible", "reason": "x"}).status_code \
            == 403
        assert read(world, dossier)["state"] == "submitted"

    def test_a_draft_cannot_be_decided(self, world: World) -> None:
        draft = world.create_dossier(plan=PLAN)
        response = post(world, DESK, draft, "admissibility", {"decision": "inadmissible", "reason": "x"})
        assert response.status_code == 409
        assert problem(response)["allowed_actions"] == ["update", "submit", "withdraw"]

    def test_a_replayed_decision_is_the_first_answer(self, world: World) -> None:
        dossier = submitted(world)
        body = {"decision": "inadmissible", "reason": "Hors champ."}
        first = post(world, DESK, dossier, "admissibility", body, headers={"Idempotency-Key": "decide-1"})
        again = post(world, DESK, dossier, "admissibility", body, headers={"Idempotency-Key": "decide-1"})
        assert again.status_code == 200 and again.json() == first.json()
        assert history_count(world, dossier["id"], "declared_inadmissible") == 1

    def test_a_stale_if_match_is_412(self, world: World) -> None:
        dossier = submitted(world)
        response = post(world, DESK, dossier, "admissibility", {"decision": "inadmissible", "reason": "x"},
                        headers={"If-Match": '"1"'})
        assert response.status_code == 412
        assert read(world, dossier)["state"] == "submitted"


class TestSupplements:
    def test_the_round_trip(self, world: World) -> None:
        dossier = submitted(world)
        asked = post(world, DESK, dossier, "request-supplements",
                     {"message": "Merci de joindre l'attestation d'assurance.", "due_on": DUE_ON})
        assert asked.status_code == 200, asked.text
        assert (asked.json()["state"], asked.json()["supplements_due_on"]) == ("supplements_requested", DUE_ON)
        holder = world.as_("funding", HOLDER)
        seen = holder.get(url_of(dossier)).json()
        assert seen["supplements_message"] == "Merci de joindre l'attestation d'assurance."
        # the desk waits: nothing else to do meanwhile
        waiting = post(world, DESK, dossier, "admissibility", {"decision": "inadmissible", "reason": "x"})
        assert waiting.status_code == 409
        assert problem(waiting)["allowed_actions"] == ["update", "submit", "withdraw"]
        certificate = world.create_document(kind="insurance_certificate")["versions"][0]["id"]
        attached = holder.patch(url_of(dossier), json={"document_version_ids": [certificate]},
                                headers={"If-Match": asked.headers["etag"]})
        assert attached.status_code == 200, attached.text
        back = holder.post(f"{url_of(dossier)}/submit")
        assert back.status_code == 200, back.text
        body = back.json()
        assert (body["state"], body["supplements_message"], body["supplements_due_on"]) == ("submitted", None, None)
        assert [version["id"] for version in body["documents_snapshot"]] == [certificate]
        assert history_count(world, dossier["id"], "supplements_provided") == 1
        history = holder.get(f"{url_of(dossier)}/history").json()
        assert [entry["action"] for entry in history] == [
            "created", "submitted", "supplements_requested", "documents_updated", "supplements_provided",
        ]
        assert history[2]["comment"] == "Merci de joindre l'attestation d'assurance."

    @pytest.mark.parametrize(
        "body",
        [{"message": "x", "due_on": TODAY.isoformat()}, {"message": "", "due_on": DUE_ON},
         {"message": "x"}, {"message": "x", "due_on": DUE_ON, "extra": 1}],
        ids=["due-today", "empty-message", "no-date", "unknown-field"],
    )
    def test_bad_requests_are_422_and_nothing_moves(self, world: World, body: dict[str, Any]) -> None:
        dossier = submitted(world)
        assert post(world, DESK, dossier, "request-supplements", body).status_code == 422
        assert read(world, dossier)["state"] == "submitted"


class TestAllocation:
    def test_the_desk_shares_out_its_line_to_the_cent(self, world: World) -> None:
        dossier = submitted(world)
        response = post(world, DESK, dossier, "allocate", {"lines": [
            {"funder_id": DEPARTEMENT, "amount_cents": 300_000}, {"funder_id": VILLE, "amount_cents": 200_000},
        ]})
        assert response.status_code == 200, response.text
        plan = {line["funder_id"]: line["amount_cents"] for line in response.json()["funding_plan"]}
        assert plan == {VILLE: 1_700_000, PREFECTURE: 1_000_000, DEPARTEMENT: 300_000}
        assert response.json()["requested_total_cents"] == dossier["requested_total_cents"]
        again = post(world, DESK, dossier, "allocate", {"lines": [{"funder_id": CAF, "amount_cents": 1}]})
        assert again.status_code == 409 and problem(again)["code"] == "nothing_to_allocate"

    @pytest.mark.parametrize(
        ("lines", "code"),
        [
            ([{"funder_id": DEPARTEMENT, "amount_cents": 499_999}], "allocation_total_mismatch"),
            ([{"funder_id": "6a1f9a0e-2b8c-4d47-9e0e-3c2f1b0a9d88", "amount_cents": 500_000}],
             "funder_not_in_programme"),
            ([{"funder_id": None, "amount_cents": 500_000}], "validation_failed"),
            ([{"funder_id": CAF, "amount_cents": 1}, {"funder_id": CAF, "amount_cents": 499_999}],
             "validation_failed"),
        ],
        ids=["short-by-a-cent", "stranger", "no-funder", "funder-twice"],
    )
    def test_bad_shares_are_422_and_the_plan_stays(self, world: World, lines: list, code: str) -> None:
        dossier = submitted(world)
        response = post(world, DESK, dossier, "allocate", {"lines": lines})
        assert response.status_code == 422 and problem(response)["code"] == code
        assert read(world, dossier)["funding_plan"] == dossier["funding_plan"]


class TestWithdrawal:
    @pytest.mark.parametrize("stage", ["draft", "submitted", "supplements_requested"])
    def test_the_holder_withdraws_before_any_decision(self, world: World, stage: str) -> None:
        dossier = world.create_dossier(plan=PLAN)
        if stage != "draft":
            dossier = world.submit(dossier)
        if stage == "supplements_requested":
            post(world, DESK, dossier, "request-supplements", {"message": "x", "due_on": DUE_ON})
        response = post(world, HOLDER, dossier, "withdraw", {"reason": "Projet reporté."})
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["closing_reason"]) == ("withdrawn", "Projet reporté.")
        assert post(world, HOLDER, dossier, "withdraw").status_code == 409

    def test_nobody_else_withdraws_it(self, world: World) -> None:
        dossier = submitted(world)
        assert post(world, OTHER_HOLDER, dossier, "withdraw").status_code == 404
        assert post(world, DESK, dossier, "withdraw").status_code == 403
        assert read(world, dossier)["state"] == "submitted"
