"""Submitting a dossier checks what projects and identity hold: the CERFA budget balances, its account 74 lines
agree with the co-funding plan, the association's yearly budget and profile are there; all of it is frozen."""

import dataclasses
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import col

from common.problems import Conflict
from services.funding.dossiers import readiness
from services.funding.tests.helpers import PREFECTURE, VILLE, at_once, history_count, url_of
from services.identity.models import OrganisationProfile
from services.projects.models import Budget
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import CITIZEN, CITY_INSTRUCTOR, DESK, HOLDER, OTHER_HOLDER, World, org_id

PLAN: list[dict[str, Any]] = [
    {"funder_id": VILLE, "amount_cents": 1_500_000},
    {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
    {"funder_id": None, "amount_cents": 500_000},
]


def budget_url(project_id: str) -> str:
    return f"http://projects.test/api/v1/projects/{project_id}/budget"


def put_budget(world: World, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    api = world.as_("projects", HOLDER)
    etag = api.get(budget_url(project_id)).headers["etag"]
    response = api.put(budget_url(project_id), json=body, headers={"If-Match": etag})
    assert response.status_code == 200, response.text
    return response.json()


def budget_with_grants(grants: list[dict[str, Any]], total: int = 4_800_000) -> dict[str, Any]:
    asked = sum(line["amount_cents"] for line in grants)
    return {
        "charges": [{"account_group": "64", "label": "Animation", "amount_cents": total}],
        "income": [{"account_group": "74", "label": "Subvention", **line} for line in grants]
        + [{"account_group": "75", "label": "Fonds propres", "amount_cents": total - asked}],
    }


def submit(world: World, dossier: dict[str, Any], **kwargs: Any):  # noqa: ANN201
    return world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit", **kwargs)


def refused(world: World, dossier: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Submits, expects the 409 `dossier_not_ready`, checks that nothing moved, and gives the problem."""
    response = submit(world, dossier, **kwargs)
    assert response.status_code == 409, response.text
    details = problem(response)
    assert details["code"] == "dossier_not_ready"
    read = world.as_("funding", HOLDER).get(url_of(dossier)).json()
    assert (read["state"], read["version"], read["budget_snapshot"]) == ("draft", dossier["version"], None)
    assert history_count(world, dossier["id"], "submitted") == 0
    return details


def remove(world: World, service: str, statement: Any) -> None:
    """Arrange a state the API cannot undo (the demo association's seeded records), straight in the database."""

    async def run() -> None:
        async with world.stack.apps[service].state.db.writer() as session:
            await session.execute(statement)
            await session.commit()

    world.stack.run(run)


class TestWhatTheDossierIsJudgedOn:
    def test_a_ready_dossier_freezes_its_budget_the_yearly_budget_and_the_profile(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        project_budget = world.as_("projects", HOLDER).get(budget_url(dossier["project_id"])).json()
        yearly = world.as_("projects", HOLDER).get(
            f"http://projects.test/api/v1/association-budgets/{org_id('blosne-avenir')}/{TODAY.year}"
        ).json()
        profile = world.as_("identity", HOLDER).get(
            f"/api/v1/organisations/{org_id('blosne-avenir')}/profile"
        ).json()
        response = submit(world, dossier)
        assert response.status_code == 200, response.text
        submitted = response.json()
        assert submitted["budget_snapshot"] == project_budget
        assert submitted["association_budget_snapshot"] == yearly and yearly["version"] >= 1
        assert submitted["organisation_snapshot"] == profile

    def test_a_budget_changed_after_submission_leaves_the_snapshot_alone(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        submitted = world.submit(dossier)
        later = put_budget(world, dossier["project_id"], budget_with_grants([], total=100))
        assert later["version"] == submitted["budget_snapshot"]["version"] + 1
        read = world.as_("funding", HOLDER).get(url_of(dossier)).json()
        assert read["budget_snapshot"] == submitted["budget_snapshot"]
        assert read["budget_snapshot"]["totals"]["grants_cents"] == 3_000_000

    def test_a_grant_line_of_a_funder_outside_the_desk_is_not_part_of_the_plan(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        grants: list[dict[str, Any]] = [
            {"funder_id": VILLE, "amount_cents": 1_500_000},
            {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
            {"to_be_allocated": True, "amount_cents": 500_000},
            {"amount_cents": 400_000, "label": "Fonds social européen", "funder_type": "fonds_europeens"},
        ]
        put_budget(world, dossier["project_id"], budget_with_grants(grants))
        assert submit(world, dossier).status_code == 200

    def test_a_budget_that_states_its_deficit_and_indirect_charges_can_be_filed(self, world: World) -> None:
        """A truthful budget: the association cannot cover the whole cost and says so on the deficit line."""
        dossier = world.create_dossier(plan=PLAN)
        budget = budget_with_grants([
            {"funder_id": VILLE, "amount_cents": 1_500_000},
            {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
            {"to_be_allocated": True, "amount_cents": 500_000},
        ])
        budget["charges"] = [{"account_group": "64", "label": "Animation", "amount_cents": 4_300_000},
                             {"account_group": "indirect_fixed", "label": "Loyer (quote-part)",
                              "amount_cents": 500_000}]
        budget["income"][-1] = {"account_group": "own_resources", "label": "Fonds associatifs",
                                "amount_cents": 1_500_000}
        budget["income"].append({"account_group": "deficit", "label": "Insuffisance", "amount_cents": 300_000})
        stored = put_budget(world, dossier["project_id"], budget)
        assert stored["issues"] == []
        response = submit(world, dossier)
        assert response.status_code == 200, response.text
        assert response.json()["budget_snapshot"]["totals"]["deficit_cents"] == 300_000


class TestWhatStopsASubmission:
    def test_an_empty_budget(self, world: World) -> None:
        project = world.create_project()
        response = world.as_("funding", HOLDER).post("/api/v1/dossiers", json={
            "programme_id": world.create_dossier()["programme_id"], "project_id": project["id"], "funding_plan": PLAN,
        })
        assert response.status_code == 201
        details = refused(world, response.json())
        assert details["failed_rules"] == ["project_budget_empty"]
        assert details["errors"] == [{"field": "project_budget", "message": "Le budget est vide."}]

    def test_an_unbalanced_budget_in_the_callers_language(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        body = budget_with_grants([{"funder_id": VILLE, "amount_cents": 1_500_000},
                                   {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
                                   {"to_be_allocated": True, "amount_cents": 500_000}])
        body["income"][-1]["amount_cents"] -= 100  # one euro short
        put_budget(world, dossier["project_id"], body)
        details = refused(world, dossier, headers={"Accept-Language": "en"})
        assert details["failed_rules"] == ["project_budget_unbalanced"]
        assert details["errors"] == [{
            "field": "project_budget",
            "message": "Charges (€48,000.00) and income (€47,999.00) do not balance.",
        }]

    def test_in_kind_used_differs_from_in_kind_received(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        body = budget_with_grants([{"funder_id": VILLE, "amount_cents": 1_500_000},
                                   {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
                                   {"to_be_allocated": True, "amount_cents": 500_000}])
        body["charges"].append({"account_group": "86", "label": "Bénévolat", "amount_cents": 720_000})
        body["income"].append({"account_group": "87", "label": "Bénévolat", "amount_cents": 700_000})
        put_budget(world, dossier["project_id"], body)
        assert refused(world, dossier)["failed_rules"] == ["project_budget_in_kind_mismatch"]

    @pytest.mark.parametrize(
        ("grants", "fields"),
        [
            ([{"funder_id": VILLE, "amount_cents": 1_400_000}, {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
              {"to_be_allocated": True, "amount_cents": 500_000}], [f"funding_plan.{VILLE}"]),
            ([{"funder_id": VILLE, "amount_cents": 1_500_000}, {"to_be_allocated": True, "amount_cents": 1_500_000}],
             [f"funding_plan.{PREFECTURE}", "funding_plan.to_be_allocated"]),
            ([{"funder_id": VILLE, "amount_cents": 1_500_000}, {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
              {"funder_id": org_id("caf"), "amount_cents": 500_000}],
             [f"funding_plan.{org_id('caf')}", "funding_plan.to_be_allocated"]),
        ],
        ids=["another-amount", "funder-missing-from-the-budget", "funder-missing-from-the-plan"],
    )
    def test_account_74_lines_that_disagree_with_the_plan(
        self, world: World, grants: list[dict[str, Any]], fields: list[str]
    ) -> None:
        dossier = world.create_dossier(plan=PLAN)
        put_budget(world, dossier["project_id"], budget_with_grants(grants))
        details = refused(world, dossier)
        assert details["failed_rules"] == ["budget_plan_mismatch"]
        assert sorted(error["field"] for error in details["errors"]) == sorted(fields)

    def test_the_mismatch_names_both_amounts(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        put_budget(world, dossier["project_id"], budget_with_grants([
            {"funder_id": VILLE, "amount_cents": 1_400_000}, {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
            {"to_be_allocated": True, "amount_cents": 500_000},
        ]))
        [error] = refused(world, dossier)["errors"]
        assert error["message"] == (
            f"Pour le financeur {VILLE}, le budget (compte 74) demande 14\u202f000,00 € "
            "et le plan de financement 15\u202f000,00 €."
        )

    def test_a_missing_yearly_budget_and_profile_are_listed_with_the_rest_at_once(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        put_budget(world, dossier["project_id"], {"charges": [], "income": []})
        remove(world, "projects", delete(Budget).where(col(Budget.year).is_not(None)))
        remove(world, "identity", delete(OrganisationProfile))
        details = refused(world, dossier)
        assert details["failed_rules"] == [
            "association_budget_missing", "organisation_profile_missing", "project_budget_empty",
        ]
        assert {error["field"] for error in details["errors"]} == {
            "project_budget", "association_budget", "organisation_profile",
        }

    def test_once_fixed_the_same_dossier_goes_through(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        project_id = dossier["project_id"]
        put_budget(world, project_id, budget_with_grants([{"funder_id": VILLE, "amount_cents": 1}]))
        refused(world, dossier)
        world.budget_matching(world.as_("projects", HOLDER).get(f"http://projects.test/api/v1/projects/{project_id}")
                              .json(), PLAN)
        assert submit(world, dossier).status_code == 200


class TestABudgetEditedWhileTheDossierIsSubmitted:
    @pytest.mark.parametrize("attempt", range(4))
    def test_the_snapshot_is_one_whole_version_and_the_one_checked(self, world: World, attempt: int) -> None:
        dossier = world.create_dossier(plan=PLAN)
        api = world.as_("funding", HOLDER)
        before = world.as_("projects", HOLDER).get(budget_url(dossier["project_id"])).json()
        # Balanced, but it no longer asks the State and the desk what the plan asks them.
        disagreeing = budget_with_grants([{"funder_id": VILLE, "amount_cents": 1_500_000}], total=2_000_000)
        put, post = at_once(api, [
            ("PUT", budget_url(dossier["project_id"]), {"json": disagreeing, "headers": {"If-Match": '"1"'}}),
            ("POST", f"http://funding.test{url_of(dossier)}/submit", {}),
        ])
        assert put.status_code == 200, put.text
        after = put.json()
        read = api.get(url_of(dossier)).json()
        if post.status_code == 200:  # read the budget before the edit: the balanced version, whole
            assert read["state"] == "submitted"
            assert read["budget_snapshot"] == before
        else:  # the edit came first: refused on the new version, which the dossier did not keep
            assert post.status_code == 409 and problem(post)["code"] == "dossier_not_ready"
            assert read["state"] == "draft" and read["budget_snapshot"] is None
            assert after["version"] == 2


class TestDocumentsAttachedToADossier:
    def attach(self, world: World, dossier: dict[str, Any], version_ids: list[str]) -> dict[str, Any]:
        api = world.as_("funding", HOLDER)
        etag = api.get(url_of(dossier)).headers["etag"]
        response = api.patch(url_of(dossier), json={"document_version_ids": version_ids}, headers={"If-Match": etag})
        assert response.status_code == 200, response.text
        return response.json()

    def test_attaching_keeps_the_plan_and_the_same_list_keeps_the_version(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        version = world.create_document()["versions"][0]["id"]
        attached = self.attach(world, dossier, [version])
        assert attached["document_version_ids"] == [version]
        assert attached["funding_plan"] == dossier["funding_plan"]
        assert attached["version"] == dossier["version"] + 1
        assert self.attach(world, dossier, [version])["version"] == attached["version"]
        assert history_count(world, dossier["id"], "documents_updated") == 1

    def test_a_document_attached_twice_is_422_and_nothing_changes(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        version = world.create_document()["versions"][0]["id"]
        response = world.as_("funding", HOLDER).patch(
            url_of(dossier), json={"document_version_ids": [version, version]}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 422
        assert world.as_("funding", HOLDER).get(url_of(dossier)).json()["document_version_ids"] == []

    def test_submission_pins_the_versions_which_can_no_longer_be_deleted(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        document = world.create_document(kind="insurance_certificate")
        version = document["versions"][0]
        self.attach(world, dossier, [version["id"]])
        submitted = submit(world, dossier)
        assert submitted.status_code == 200, submitted.text
        [pinned] = submitted.json()["documents_snapshot"]
        assert (pinned["id"], pinned["sha256"], pinned["kind"]) == (
            version["id"], version["sha256"], "insurance_certificate"
        )
        vault = world.as_("projects", HOLDER)
        etag = vault.get(f"/api/v1/documents/{document['id']}").headers["etag"]
        version_url = f"/api/v1/documents/{document['id']}/versions/{version['id']}"
        deleted = vault.delete(version_url, headers={"If-Match": etag})
        assert deleted.status_code == 409, deleted.text
        assert problem(deleted)["code"] == "document_version_pinned"
        assert submitted.json()["id"] in problem(deleted)["dossier_ids"]

    @pytest.mark.parametrize("whose", ["unknown", "another-association"])
    def test_a_version_not_in_the_associations_vault_stops_the_submission(self, world: World, whose: str) -> None:
        dossier = world.create_dossier(plan=PLAN)
        if whose == "unknown":
            version = "00000000-0000-4000-8000-000000000000"
        else:
            version = world.create_document(OTHER_HOLDER)["versions"][0]["id"]
        dossier = self.attach(world, dossier, [version])
        details = refused(world, dossier)
        assert details["failed_rules"] == ["unknown_document_version"]
        assert version in details["errors"][0]["message"]

    def test_a_refused_submission_pins_nothing(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        document = world.create_document()
        dossier = self.attach(world, dossier, [document["versions"][0]["id"]])
        put_budget(world, dossier["project_id"], {"charges": [], "income": []})
        refused(world, dossier)
        vault = world.as_("projects", HOLDER)
        etag = vault.get(f"/api/v1/documents/{document['id']}").headers["etag"]
        deleted = vault.delete(
            f"/api/v1/documents/{document['id']}/versions/{document['versions'][0]['id']}", headers={"If-Match": etag}
        )
        assert deleted.status_code == 204, deleted.text


class TestRequiredDocuments:
    def test_the_annual_call_lists_its_six_kinds_and_what_the_vault_holds(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        statutes = world.create_document(kind="statutes")
        response = world.as_("funding", HOLDER).get(f"{url_of(dossier)}/required-documents")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["track"], body["complete"], body["on"]) == ("annual", False, TODAY.isoformat())
        by_kind = {item["kind"]: item for item in body["items"]}
        assert set(by_kind) == {
            "statutes", "board_members", "bank_details", "approved_accounts", "activity_report",
            "insurance_certificate",
        }
        assert by_kind["statutes"]["satisfied"] and by_kind["statutes"]["document_id"] == statutes["id"]
        assert not by_kind["insurance_certificate"]["satisfied"]
        assert by_kind["insurance_certificate"]["reason"] == "missing"

    def test_an_expired_certificate_does_not_count(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        world.create_document(kind="insurance_certificate", valid_until="2020-12-31")
        items = world.as_("funding", HOLDER).get(f"{url_of(dossier)}/required-documents").json()["items"]
        [insurance] = [item for item in items if item["kind"] == "insurance_certificate"]
        assert (insurance["satisfied"], insurance["reason"]) == (False, "expired")

    def test_who_sees_the_dossier_sees_its_required_documents_others_get_404(self, world: World) -> None:
        dossier = world.create_dossier(plan=PLAN)
        assert world.as_("funding", DESK).get(f"{url_of(dossier)}/required-documents").status_code == 200
        assert world.as_("funding", OTHER_HOLDER).get(f"{url_of(dossier)}/required-documents").status_code == 404
        # a funder named in the plan sees it once the dossier is routed to it, not before
        world.submit(dossier)
        assert world.as_("funding", CITY_INSTRUCTOR).get(f"{url_of(dossier)}/required-documents").status_code == 404
        world.route(dossier)
        assert world.as_("funding", CITY_INSTRUCTOR).get(f"{url_of(dossier)}/required-documents").status_code == 200
        assert world.as_("funding", CITIZEN).get(f"{url_of(dossier)}/required-documents").status_code == 403


class TestOneMoment:
    def test_the_budget_kept_was_checked_against_the_project_kept(self, world: World) -> None:
        submitted = world.submit(world.create_dossier(plan=PLAN))
        assert submitted["budget_snapshot"]["project_version"] == submitted["project_snapshot"]["version"]

    def test_a_project_changed_between_its_two_reads_is_a_409_to_retry(self) -> None:
        facts = readiness.Facts(
            project={"version": 3}, budget={"project_version": 2}, association_budget={}, profile={}, budget_year=2026
        )
        with pytest.raises(Conflict) as caught:
            readiness.check_one_moment(facts)
        assert caught.value.code == "concurrent_change"
        readiness.check_one_moment(dataclasses.replace(facts, budget={"project_version": 3}))
