"""CERFA 12156 budgets: a project's forecast budget and the association's yearly one."""

from typing import Any

import pytest

from services.projects.tests.helpers import at_once
from tests.support.clock import TODAY
from tests.support.stack import SERVICE_SECRET, problem
from tests.support.world import CITIZEN, CITY_INSTRUCTOR, DESK, HOLDER, HOLDER_MEMBER, OTHER_HOLDER, World, org_id

CITY = org_id("ville")
STATE = org_id("prefecture")


def balanced_budget(total_cents: int = 4_800_000) -> dict[str, Any]:
    """A budget whose cash charges equal `total_cents`, with 7,200 € of volunteering on both sides."""
    return {
        "charges": [
            {"account_group": "60", "label": "Fournitures", "amount_cents": 300_000},
            {"account_group": "64", "label": "Animateurs", "amount_cents": total_cents - 300_000},
            {"account_group": "86", "label": "Bénévolat", "amount_cents": 720_000},
        ],
        "income": [
            {"account_group": "70", "label": "Participation des familles", "amount_cents": 300_000},
            {"account_group": "74", "label": "Ville de Rennes", "amount_cents": 1_500_000, "funder_id": CITY},
            {"account_group": "74", "label": "État", "amount_cents": 1_000_000, "funder_id": STATE},
            {"account_group": "74", "label": "À répartir", "amount_cents": total_cents - 2_800_000,
             "to_be_allocated": True},
            {"account_group": "87", "label": "Bénévolat", "amount_cents": 720_000},
        ],
    }


def budget_url(project: dict[str, Any]) -> str:
    return f"/api/v1/projects/{project['id']}/budget"


NEXT_YEAR = TODAY.year + 1  # this year's budget is in the demo data


def association_url(organisation: str = "blosne-avenir", year: int = NEXT_YEAR) -> str:
    return f"/api/v1/association-budgets/{org_id(organisation)}/{year}"


def service_token(world: World) -> str:
    response = world.identity.post(
        "/api/v1/auth/token",
        json={"grant_type": "client_credentials", "client_id": "svc-funding", "client_secret": SERVICE_SECRET},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class TestProjectBudget:
    def test_a_new_project_has_an_empty_budget_at_version_0(self, world: World) -> None:
        project = world.create_project()
        response = world.as_("projects", HOLDER).get(budget_url(project))
        assert response.status_code == 200
        assert response.headers["etag"] == '"0"'
        body = response.json()
        assert (body["version"], body["charges"], body["income"], body["balanced"]) == (0, [], [], False)
        assert [issue["code"] for issue in body["issues"]] == ["empty"]

    def test_the_holder_enters_a_balanced_budget(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        response = api.put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"0"'})
        assert response.status_code == 200, response.text
        body = response.json()
        assert response.headers["etag"] == '"1"' and body["version"] == 1
        assert body["balanced"] is True and body["issues"] == []
        assert (body["project_id"], body["project_version"], body["year"]) == (project["id"], project["version"], None)
        assert body["totals"] == {
            "charges_cents": 5_520_000, "income_cents": 5_520_000,
            "cash_charges_cents": 4_800_000, "cash_income_cents": 4_800_000,
            "in_kind_charges_cents": 720_000, "in_kind_income_cents": 720_000,
            "grants_cents": 4_500_000, "indirect_charges_cents": 0, "own_resources_cents": 0,
            "surplus_cents": 0, "deficit_cents": 0,
        }
        assert [(line["account_group"], line["in_kind"]) for line in body["charges"]] == [
            ("60", False), ("64", False), ("86", True)
        ]
        assert body["charges"][1]["account_label"] == "Charges de personnel"
        grants = [line for line in body["income"] if line["account_group"] == "74"]
        assert [(g["funder_id"], g["to_be_allocated"]) for g in grants] == [(CITY, False), (STATE, False), (None, True)]
        assert api.get(budget_url(project)).json() == body

    def test_the_same_budget_again_keeps_the_version(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        api.put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"0"'})
        again = api.put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"1"'})
        assert again.status_code == 200 and again.headers["etag"] == '"1"'

    def test_a_member_may_change_it_and_the_version_moves(self, world: World) -> None:
        project = world.create_project()
        world.as_("projects", HOLDER).put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"0"'})
        changed = balanced_budget()
        changed["charges"][0]["label"] = "Fournitures et livres"
        response = world.as_("projects", HOLDER_MEMBER).put(
            budget_url(project), json=changed, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 200
        assert response.json()["version"] == 2 and response.json()["charges"][0]["label"] == "Fournitures et livres"

    def test_without_if_match_428_stale_412_and_nothing_changes(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        missing = api.put(budget_url(project), json=balanced_budget())
        assert missing.status_code == 428 and problem(missing)["code"] == "precondition_required"
        api.put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"0"'})
        stale = api.put(budget_url(project), json={"charges": [], "income": []}, headers={"If-Match": '"0"'})
        assert stale.status_code == 412 and problem(stale)["current_etag"] == '"1"'
        assert len(api.get(budget_url(project)).json()["charges"]) == 3

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda b: b["charges"].append({"account_group": "74", "label": "x", "amount_cents": 1}),
             "body.charges.3.account_group"),
            (lambda b: b["income"].append({"account_group": "64", "label": "x", "amount_cents": 1}),
             "body.income.5.account_group"),
            (lambda b: b["charges"].append({"account_group": "59", "label": "x", "amount_cents": 1}),
             "body.charges.3.account_group"),
            (lambda b: b["charges"].append({"account_group": "641", "label": "x", "amount_cents": 1}),
             "body.charges.3.account_group"),
            (lambda b: b["income"].append({"account_group": "741", "label": "x", "amount_cents": 1,
                                           "funder_type": "commune"}), "body.income.5.account_group"),
            (lambda b: b["income"].append({"account_group": "surplus", "label": "x", "amount_cents": 1}),
             "body.income.5.account_group"),
            (lambda b: b["charges"].append({"account_group": "deficit", "label": "x", "amount_cents": 1}),
             "body.charges.3.account_group"),
            (lambda b: b["charges"].append({"account_group": "own_resources", "label": "x", "amount_cents": 1}),
             "body.charges.3.account_group"),
            (lambda b: b["income"].append({"account_group": "indirect_fixed", "label": "x", "amount_cents": 1}),
             "body.income.5.account_group"),
            (lambda b: b["income"][0].update(funder_type="commune"), "body.income.0"),
            (lambda b: b["income"][1].update(funder_type="commune"), "body.income.1"),
            (lambda b: b["income"][3].update(to_be_allocated=False), "body.income.3"),
            (lambda b: b["income"][3].update(to_be_allocated=False, funder_type="fse"), "body.income.3.funder_type"),
            (lambda b: b["charges"].extend([{"account_group": "surplus", "label": "x", "amount_cents": 1}] * 2),
             "body"),
            (lambda b: b["income"].extend([{"account_group": "deficit", "label": "x", "amount_cents": 1}] * 2),
             "body"),
            (lambda b: (b["charges"].append({"account_group": "surplus", "label": "x", "amount_cents": 1}),
                        b["income"].append({"account_group": "deficit", "label": "x", "amount_cents": 1})),
             "body"),
            (lambda b: b["charges"][0].update(amount_cents=0), "body.charges.0.amount_cents"),
            (lambda b: b["charges"][0].update(amount_cents=-5), "body.charges.0.amount_cents"),
            (lambda b: b["charges"][0].update(amount_cents=12.5), "body.charges.0.amount_cents"),
            (lambda b: b["charges"][0].update(amount_cents="300000"), "body.charges.0.amount_cents"),
            (lambda b: b["charges"][0].update(label=""), "body.charges.0.label"),
            (lambda b: b["income"][0].update(funder_id=CITY), "body.income.0"),
            (lambda b: b["income"][0].update(to_be_allocated=True), "body.income.0"),
            (lambda b: b["income"][1].update(to_be_allocated=True), "body.income.1"),
            (lambda b: b["income"][2].update(funder_id=CITY), "body"),
            (lambda b: b["income"][1].update(funder_id=None, to_be_allocated=True), "body"),
            (lambda b: b["charges"].extend([{"account_group": "60", "label": "x", "amount_cents": 1}] * 98),
             "body.charges"),
            (lambda b: b.update(notes="x"), "body.notes"),
        ],
        ids=[
            "74-as-charge", "64-as-income", "unknown-group", "sub-account-not-on-the-form", "74-in-sub-accounts",
            "surplus-as-income", "deficit-as-charge", "own-resources-as-charge", "indirect-as-income",
            "funder-type-outside-74", "funder-and-funder-type", "74-naming-nobody", "unknown-funder-type",
            "two-surpluses", "two-deficits", "surplus-and-deficit", "zero", "negative", "fraction-of-a-cent",
            "string-amount",
            "empty-label", "funder-outside-74", "to-allocate-outside-74", "funder-and-to-allocate",
            "two-lines-one-funder", "two-lines-to-allocate", "too-many-lines", "unknown-field",
        ],
    )
    def test_bad_lines_are_422_naming_the_field_and_nothing_is_written(
        self, world: World, change: Any, field: str
    ) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        body = balanced_budget()
        change(body)
        response = api.put(budget_url(project), json=body, headers={"If-Match": '"0"'})
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        assert api.get(budget_url(project)).json()["version"] == 0

    def test_every_line_of_the_form_is_accepted(self, world: World) -> None:
        """Each group of classes 6 and 7, the sub-accounts of 75, 86 and 87, indirect charges, own resources."""
        project = world.create_project(total_cost_cents=2_400_000)
        charges = [{"account_group": group, "label": f"Compte {group}", "amount_cents": 200_000}
                   for group in ("60", "61", "62", "63", "64", "65", "66", "67", "68", "69")]
        charges += [{"account_group": code, "label": code, "amount_cents": 100_000}
                    for code in ("indirect_fixed", "indirect_financial", "indirect_other")]
        charges.append({"account_group": "64", "label": "Coordination", "amount_cents": 100_000})
        charges += [{"account_group": code, "label": code, "amount_cents": 50_000}
                    for code in ("860", "861", "862", "864")]
        income = [{"account_group": group, "label": f"Compte {group}", "amount_cents": 100_000}
                  for group in ("70", "71", "72", "73", "756", "758", "76", "77", "78", "79")]
        income += [
            {"account_group": "74", "label": "Ville", "amount_cents": 500_000, "funder_id": CITY},
            {"account_group": "74", "label": "FSE+", "amount_cents": 400_000, "funder_type": "fonds_europeens"},
            {"account_group": "74", "label": "ASP (adulte-relais)", "amount_cents": 300_000, "funder_type": "asp"},
            {"account_group": "own_resources", "label": "Fonds associatifs", "amount_cents": 200_000},
        ]
        income += [{"account_group": code, "label": code, "amount_cents": 50_000 + 50_000 * (code == "870")}
                    for code in ("870", "871", "875")]
        response = world.as_("projects", HOLDER).put(
            budget_url(project), json={"charges": charges, "income": income}, headers={"If-Match": '"0"'}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["issues"] == [] and body["balanced"] is True
        totals = body["totals"]
        assert (totals["cash_charges_cents"], totals["cash_income_cents"]) == (2_400_000, 2_400_000)
        assert (totals["indirect_charges_cents"], totals["own_resources_cents"]) == (300_000, 200_000)
        assert (totals["in_kind_charges_cents"], totals["in_kind_income_cents"]) == (200_000, 200_000)
        assert totals["grants_cents"] == 1_200_000
        by_code = {line["account_group"]: line for line in body["charges"] + body["income"]}
        assert (by_code["756"]["account_label"], by_code["756"]["account_parent"]) == ("Cotisations", "75")
        assert (by_code["864"]["in_kind"], by_code["864"]["account_parent"]) == (True, "86")
        assert by_code["69"]["account_parent"] is None and by_code["69"]["in_kind"] is False
        assert by_code["indirect_fixed"]["account_label"].startswith("Charges indirectes")
        grants = [(line["funder_id"], line["funder_type"]) for line in body["income"] if line["account_group"] == "74"]
        assert grants == [(CITY, None), (None, "fonds_europeens"), (None, "asp")]
        assert world.as_("projects", HOLDER).get(budget_url(project)).json() == body

    def test_a_budget_with_a_real_deficit_balances_once_the_deficit_is_stated(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        body = balanced_budget()
        body["income"][0]["amount_cents"] = 100_000  # the families pay 2,000 € less than the project costs
        short = api.put(budget_url(project), json=body, headers={"If-Match": '"0"', "Accept-Language": "en"})
        assert [issue["code"] for issue in short.json()["issues"]] == ["unbalanced"]
        body["income"].append({"account_group": "deficit", "label": "Insuffisance", "amount_cents": 200_000})
        stated = api.put(budget_url(project), json=body, headers={"If-Match": '"1"'})
        assert stated.status_code == 200, stated.text
        assert stated.json()["issues"] == [] and stated.json()["balanced"] is True
        totals = stated.json()["totals"]
        assert (totals["cash_income_cents"], totals["deficit_cents"], totals["income_cents"]) == (
            4_600_000, 200_000, 5_320_000
        )
        body["income"][-1]["amount_cents"] = 100_000  # a deficit that is not the real one still does not balance
        wrong = api.put(budget_url(project), json=body, headers={"If-Match": '"2"', "Accept-Language": "en"})
        assert wrong.json()["issues"] == [{
            "code": "unbalanced", "message": "Charges (€48,000.00) and income (€47,000.00) do not balance."
        }]

    def test_a_surplus_is_no_charge_of_the_project(self, world: World) -> None:
        project = world.create_project()
        body = balanced_budget()
        body["income"][0]["amount_cents"] = 500_000  # 2,000 € more income than charges
        body["charges"].append({"account_group": "surplus", "label": "Excédent", "amount_cents": 200_000})
        response = world.as_("projects", HOLDER).put(budget_url(project), json=body, headers={"If-Match": '"0"'})
        assert response.json()["issues"] == []  # the project's declared cost is its charges, surplus aside
        totals = response.json()["totals"]
        assert (totals["cash_charges_cents"], totals["surplus_cents"], totals["charges_cents"]) == (
            4_800_000, 200_000, 5_520_000
        )

    def test_what_stops_a_submission_is_listed_with_amounts(self, world: World) -> None:
        project = world.create_project(total_cost_cents=5_000_000)
        body = balanced_budget()
        body["income"][0]["amount_cents"] = 200_000  # 1,000 € missing on the income side
        body["income"][-1]["amount_cents"] = 700_000  # 200 € of volunteering received but not used
        response = world.as_("projects", HOLDER).put(
            budget_url(project), json=body, headers={"If-Match": '"0"', "Accept-Language": "en"}
        )
        assert response.status_code == 200
        issues = {issue["code"]: issue["message"] for issue in response.json()["issues"]}
        assert set(issues) == {"unbalanced", "in_kind_mismatch", "total_cost_mismatch"}
        assert issues["unbalanced"] == "Charges (€48,000.00) and income (€47,000.00) do not balance."
        assert "(€50,000.00)" in issues["total_cost_mismatch"]
        assert "(86: €7,200.00)" in issues["in_kind_mismatch"] and "(87: €7,000.00)" in issues["in_kind_mismatch"]
        assert response.json()["balanced"] is False

    def test_issues_are_in_french_by_default(self, world: World) -> None:
        project = world.create_project()
        body = balanced_budget()
        body["charges"].pop()  # in-kind received, not used
        issues = world.as_("projects", HOLDER).put(
            budget_url(project), json=body, headers={"If-Match": '"0"'}
        ).json()["issues"]
        assert issues == [{"code": "in_kind_mismatch", "message": (
            "Les contributions en nature employées (86 : 0,00 €) diffèrent des reçues (87 : 7\u202f200,00 €)."
        )}]

    def test_another_association_gets_404_and_changes_nothing(self, world: World) -> None:
        project = world.create_project()
        other = world.as_("projects", OTHER_HOLDER)
        assert problem(other.get(budget_url(project)))["status"] == 404
        put = other.put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"0"'})
        assert put.status_code == 404
        assert world.as_("projects", HOLDER).get(budget_url(project)).json()["version"] == 0

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, DESK, CITIZEN])
    def test_people_outside_the_holders_get_403(self, world: World, email: str) -> None:
        project = world.create_project()
        api = world.as_("projects", email)
        assert api.get(budget_url(project)).status_code == 403
        assert api.put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"0"'}).status_code == 403

    def test_the_funding_service_reads_it_with_its_service_token(self, world: World) -> None:
        project = world.create_project()
        world.as_("projects", HOLDER).put(budget_url(project), json=balanced_budget(), headers={"If-Match": '"0"'})
        response = world.projects.get(budget_url(project), token=service_token(world))
        assert response.status_code == 200 and response.json()["version"] == 1
        denied = world.projects.put(
            budget_url(project), json=balanced_budget(), headers={"If-Match": '"1"'}, token=service_token(world)
        )
        assert denied.status_code == 403

    def test_two_first_entries_at_once_one_wins_the_other_412(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        small = {"charges": [{"account_group": "60", "label": "a", "amount_cents": 1}], "income": []}
        answers = at_once(api, [
            ("PUT", budget_url(project), {"json": balanced_budget(), "headers": {"If-Match": '"0"'}}),
            ("PUT", budget_url(project), {"json": small, "headers": {"If-Match": '"0"'}}),
        ])
        assert sorted(a.status_code for a in answers) == [200, 412]
        winner = next(a for a in answers if a.status_code == 200).json()
        stored = api.get(budget_url(project)).json()
        assert stored == winner and stored["version"] == 1


class TestAssociationBudget:
    def test_the_demo_association_has_this_years_budget_balanced(self, world: World) -> None:
        body = world.as_("projects", HOLDER).get(association_url(year=TODAY.year)).json()
        assert body["version"] == 1 and body["balanced"] is True and body["issues"] == []
        assert body["totals"]["cash_charges_cents"] == 25_000_000

    def test_kept_once_per_association_and_year(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        assert api.get(association_url()).json()["version"] == 0
        first = api.put(association_url(), json=balanced_budget(30_000_000), headers={"If-Match": '"0"'})
        assert first.status_code == 200, first.text
        assert (first.json()["year"], first.json()["project_id"]) == (NEXT_YEAR, None)
        assert first.json()["issues"] == []  # no project: no total cost to compare with
        second = api.put(association_url(), json=balanced_budget(), headers={"If-Match": '"0"'})
        assert second.status_code == 412
        year_after = api.put(association_url(year=NEXT_YEAR + 1), json=balanced_budget(), headers={"If-Match": '"0"'})
        assert year_after.status_code == 200 and year_after.json()["version"] == 1
        assert api.get(association_url()).json()["totals"]["cash_charges_cents"] == 30_000_000

    @pytest.mark.parametrize("offset", [-2, 3])
    def test_years_outside_the_open_period_are_422(self, world: World, offset: int) -> None:
        year = TODAY.year + offset
        response = world.as_("projects", HOLDER).put(
            association_url(year=year), json=balanced_budget(), headers={"If-Match": '"0"'}
        )
        assert response.status_code == 422
        assert [e["field"] for e in problem(response)["errors"]] == ["path.year"]
        assert world.as_("projects", HOLDER).get(association_url(year=year)).json()["version"] == 0

    @pytest.mark.parametrize("code", ["indirect_fixed", "indirect_financial", "indirect_other", "own_resources"])
    def test_project_only_lines_are_422_on_the_associations_budget(self, world: World, code: str) -> None:
        body = balanced_budget()
        side = "income" if code == "own_resources" else "charges"
        body[side].append({"account_group": code, "label": "x", "amount_cents": 1})
        api = world.as_("projects", HOLDER)
        response = api.put(association_url(), json=body, headers={"If-Match": '"0"'})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in problem(response)["errors"]] == [f"body.{side}.{len(body[side]) - 1}.account_group"]
        assert api.get(association_url()).json()["version"] == 0

    def test_the_associations_budget_takes_a_deficit_and_outside_funders(self, world: World) -> None:
        body = balanced_budget(30_000_000)
        body["income"][3]["amount_cents"] -= 1_000_000  # less left to the desk
        body["income"] += [
            {"account_group": "74", "label": "Fondation", "amount_cents": 400_000, "funder_type": "aides_privees"},
            {"account_group": "deficit", "label": "Insuffisance", "amount_cents": 600_000},
        ]
        response = world.as_("projects", HOLDER).put(association_url(), json=body, headers={"If-Match": '"0"'})
        assert response.status_code == 200, response.text
        assert response.json()["issues"] == [] and response.json()["totals"]["deficit_cents"] == 600_000

    def test_the_desk_and_the_funding_service_read_it_other_associations_do_not(self, world: World) -> None:
        world.as_("projects", HOLDER).put(association_url(), json=balanced_budget(), headers={"If-Match": '"0"'})
        assert world.as_("projects", DESK).get(association_url()).json()["version"] == 1
        assert world.projects.get(association_url(), token=service_token(world)).json()["version"] == 1
        assert world.as_("projects", OTHER_HOLDER).get(association_url()).status_code == 404
        assert world.as_("projects", CITY_INSTRUCTOR).get(association_url()).status_code == 403

    def test_nobody_writes_another_associations_budget(self, world: World) -> None:
        for email, status in ((OTHER_HOLDER, 404), (DESK, 403), (CITY_INSTRUCTOR, 403)):
            response = world.as_("projects", email).put(
                association_url(), json=balanced_budget(), headers={"If-Match": '"0"'}
            )
            assert response.status_code == status, email
        assert world.as_("projects", HOLDER).get(association_url()).json()["version"] == 0

    def test_two_first_entries_at_once_one_wins_the_other_412(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        answers = at_once(api, [
            ("PUT", association_url(), {"json": balanced_budget(), "headers": {"If-Match": '"0"'}}),
            ("PUT", association_url(), {"json": balanced_budget(9_000_000), "headers": {"If-Match": '"0"'}}),
        ])
        assert sorted(a.status_code for a in answers) == [200, 412]
        winner = next(a for a in answers if a.status_code == 200).json()
        assert api.get(association_url()).json() == winner
