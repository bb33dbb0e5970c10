"""What a submission freezes on the dossier, in the JSON shape the other services answer: the project (projects'
ProjectPublic), its CERFA budget and the association's yearly budget (BudgetPublic), the association's profile
(identity's ProfilePublic). Also the budget lines themselves, shared with the rows of projects' budgets."""

import json
import random

from scripts.country.clock import day_of, iso, iso_day
from scripts.country.draws import draw
from services.projects.budgets.schemas import CHARGE_GROUPS, IN_KIND_GROUPS, INCOME_GROUPS

# A budget line: (side, account group, label, amount in cents, funder id text or None).
Line = tuple[str, str, str, int, str | None]


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def split(total: int, shares: tuple[int, ...]) -> list[int]:
    """`total` cents cut along percentages, in whole hundreds of euros but the last part, adding up exactly."""
    parts = [total * share // 100 // 10_000 * 10_000 for share in shares[:-1]]
    return [*parts, total - sum(parts)]


def association_budget_lines(charges: int, employees: int, volunteers: int, rng: random.Random) -> tuple[Line, ...]:
    """An association's yearly budget, balanced: staff, purchases, premises and services against grants,
    services sold and members' fees; volunteering valued on both sides (86/87)."""
    staff = draw(rng, 45, 70) if employees else 0
    purchases = draw(rng, 8, 20)
    cost = split(charges, (staff, purchases, 100 - staff - purchases))
    grants = draw(rng, 30, 70)
    sold = draw(rng, 5, 100 - grants - 5)
    income = split(charges, (grants, sold, 100 - grants - sold))
    lines: list[Line] = [
        ("charge", group, label, amount, None)
        for group, label, amount in (("64", "Salaires et charges", cost[0]), ("60", "Achats et fournitures", cost[1]),
                                     ("61", "Locations et services extérieurs", cost[2]))
        if amount > 0
    ]
    lines += [("income", group, label, amount, None)
              for group, label, amount in (("74", "Subventions publiques", income[0]),
                                           ("70", "Prestations et participations", income[1]),
                                           ("75", "Cotisations et dons", income[2])) if amount > 0]
    if volunteers:
        valued = volunteers * draw(rng, 20, 120) * 1_200  # hours at 12 euros
        lines += [("charge", "86", "Bénévolat valorisé", valued, None), ("income", "87", "Bénévolat valorisé", valued,
                                                                           None)]
    return tuple(sorted(lines, key=lambda line: line[0]))


TO_ALLOCATE = "À répartir par le guichet"
# Budgets are the seed's most frequent JSON: written by hand from their fixed shape, strings escaped by the json
# module's own encoder, at a third of json.dumps' cost.
_text = json.encoder.encode_basestring
_ACCOUNTS = {**{("charge", group): _text(label) for group, label in CHARGE_GROUPS.items()},
             **{("income", group): _text(label) for group, label in INCOME_GROUPS.items()}}


def _line(line: Line) -> str:
    side, group, label, amount, funder = line
    in_kind = "true" if group in IN_KIND_GROUPS else "false"
    allocated = "true" if side == "income" and group == "74" and funder is None and label == TO_ALLOCATE else "false"
    return (f'{{"account_group":"{group}","account_label":{_ACCOUNTS[side, group]},"label":{_text(label)},'
            f'"amount_cents":{amount},"in_kind":{in_kind},"funder_id":{_text(funder) if funder else "null"},'
            f'"to_be_allocated":{allocated},"account_parent":null,"funder_type":null}}')


def totals(lines: tuple[Line, ...] | list[Line]) -> dict[str, int]:
    """As projects computes them: charges and income, cash and in kind, and the grants asked (account 74)."""
    sums = {"charges_cents": 0, "income_cents": 0, "cash_charges_cents": 0, "cash_income_cents": 0,
            "in_kind_charges_cents": 0, "in_kind_income_cents": 0, "grants_cents": 0,
            # The seed's lines are two-digit groups only: no indirect share, own resources, surplus nor deficit.
            "indirect_charges_cents": 0, "own_resources_cents": 0, "surplus_cents": 0, "deficit_cents": 0}
    for side, group, _, amount, _ in lines:
        kind = "in_kind" if group in IN_KIND_GROUPS else "cash"
        sums[f"{side}s_cents" if side == "charge" else "income_cents"] += amount
        sums[f"{kind}_{side}s_cents" if side == "charge" else f"{kind}_income_cents"] += amount
        if side == "income" and group == "74":
            sums["grants_cents"] += amount
    return sums


def budget_snapshot(*, organisation: str, lines: tuple[Line, ...] | list[Line], updated_at: int,
                    project: str | None = None, year: int | None = None) -> str:
    """A balanced budget as projects answers it (BudgetPublic): no issue left, as a submission requires."""
    charges = ",".join(_line(line) for line in lines if line[0] == "charge")
    income = ",".join(_line(line) for line in lines if line[0] == "income")
    return (f'{{"organisation_id":"{organisation}","project_id":{_text(project) if project else "null"},'
            f'"project_version":{1 if project else "null"},"year":{year if year else "null"},"version":1,'
            f'"charges":[{charges}],"income":[{income}],"totals":{dumps(totals(lines))},"balanced":true,'
            f'"issues":[],"updated_at":"{iso(updated_at)}"}}')


def project_snapshot(*, project: str, organisation: str, title: str, summary: str, qpv_codes: list[str],
                     priorities: list[str], start: str, end: str, target_public: str, total_cost_cents: int,
                     created_at: int) -> str:
    return dumps({
        "id": project, "organisation_id": organisation, "title": title, "summary": summary,
        "qpv_codes": sorted(qpv_codes), "priorities": sorted(priorities), "start_date": start, "end_date": end,
        "target_public": target_public, "total_cost_cents": total_cost_cents, "version": 1,
        "created_at": iso(created_at), "updated_at": iso(created_at),
    })


def profile_snapshot(organisation: str, profile: dict, at: int, updated_by: str) -> str:
    def person(prefix: str) -> dict | None:
        if profile.get(f"{prefix}_name") is None:
            return None
        return {"name": profile[f"{prefix}_name"], "function": profile[f"{prefix}_function"],
                "email": profile[f"{prefix}_email"], "phone": profile.get(f"{prefix}_phone")}

    return dumps({
        "organisation_id": organisation, "filled_in": True,
        "legal_representative": person("representative"), "contact": person("contact"),
        "address": {"street_lines": profile["street_lines"], "postcode": profile["postcode"],
                    "city": profile["city"], "insee_code": profile.get("insee_code")},
        "people": {"volunteers": profile["volunteers"], "employees": profile["employees"],
                   "fte": f"{profile['fte_hundredths'] // 100}.{profile['fte_hundredths'] % 100:02d}",
                   "members": profile["members"], "paying_members": profile.get("paying_members")},
        # Signed the day the profile was entered (territories.py), or on the demo profile's own date.
        "republican_contract": {
            "signed_on": (profile["republican_contract_signed_on"].isoformat()
                          if profile.get("republican_contract_signed_on") else iso_day(day_of(at))),
            "signatory_name": profile.get("republican_contract_signatory") or profile["representative_name"],
        },
        "approvals": [], "networks": [], "public_aid": [], "public_aid_by_year": [],
        "certified_accounts_required": False, "created_at": iso(at), "updated_at": iso(at), "updated_by": updated_by,
    })
