"""A grant's instalments: cut from its amount for each of its years along the track's rules, stated in its
agreement, stored as its payments."""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.funding.models.agreement import Agreement, Grant, Payment, PaymentCondition
from services.funding.programmes.payment_schedule import BASIS_POINTS, split_amount
from services.funding.programmes.track_rules import TrackRules


@dataclass(frozen=True)
class Instalment:
    year: int
    amount_cents: int
    condition: str
    due_on: date | None = None
    pay_by: date | None = None


def schedule(rules: TrackRules, yearly: dict[int, int], decided_on: date) -> list[Instalment]:
    """The grant's instalments. One year: cut along the track's shares. A CPO: each year an advance due from
    1 January (the first year: at once) to be paid by the end of March, and the balance after that year's review."""
    if not rules.multi_year:
        (year, amount), = yearly.items()
        return [Instalment(year, part, condition) for part, condition in
                zip(split_amount(amount, list(rules.payment_shares_bp)), rules.payment_conditions, strict=True)]
    first = min(yearly)
    return [instalment for year, amount in sorted(yearly.items())
            for instalment in cpo_year(rules, year, amount, first=year == first, decided_on=decided_on)]


def cpo_year(rules: TrackRules, year: int, amount_cents: int, *, first: bool, decided_on: date) -> list[Instalment]:
    """A CPO year's advance (due from 1 January, the first year's at once; to be paid by the end of March when
    that is still ahead) and its balance, after the year's review."""
    advance, balance = split_amount(amount_cents, [rules.advance_bp, BASIS_POINTS - rules.advance_bp])
    month = rules.advance_deadline_month
    pay_by = date(year, month, calendar.monthrange(year, month)[1])
    return [
        Instalment(year, advance, PaymentCondition.on_activation, None if first else date(year, 1, 1),
                   pay_by if pay_by >= decided_on else None),
        Instalment(year, balance, PaymentCondition.after_review),
    ]


def payment_terms(instalments: Sequence[Instalment | Payment]) -> list[dict[str, Any]]:
    """The schedule as the agreement states it: the instalments to come, or the payments as they now stand."""
    return [{"sequence": i.sequence if isinstance(i, Payment) else n, "year": i.year, "amount_cents": i.amount_cents,
             "condition": i.condition, "due_on": i.due_on.isoformat() if i.due_on else None,
             "pay_by": i.pay_by.isoformat() if i.pay_by else None}
            for n, i in enumerate(instalments, start=1)]


def payments_of(grant: Grant, agreement: Agreement, instalments: list[Instalment], first: int = 1, *,
                awaiting: frozenset[int] = frozenset()) -> list[Payment]:
    """The instalments as payments (an instalment of no cent — a tiny grant split in shares — is none); those of
    the `awaiting` years wait for their year's budget."""
    return [
        Payment(grant_id=grant.id, agreement_id=agreement.id, dossier_id=grant.dossier_id, funder_id=grant.funder_id,
                organisation_id=grant.organisation_id, programme_id=grant.programme_id, year=i.year, sequence=n,
                amount_cents=i.amount_cents, condition=i.condition, due_on=i.due_on, pay_by=i.pay_by,
                budget_pending=i.year in awaiting)
        for n, i in enumerate(instalments, start=first) if i.amount_cents > 0
    ]
