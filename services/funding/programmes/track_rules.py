"""Each track's rules as data: the defaults of the field (../shared/DOMAIN.md, "Money and law" and "The four
ways money flows"), which a programme may override in its `rules`."""

import calendar
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

from services.funding.models.agreement import PaymentCondition
from services.funding.models.programme import Programme, Track


@dataclass(frozen=True)
class TrackRules:
    # From this amount a year from one funder, a written convention is compulsory (loi 2000-321 art. 10).
    convention_threshold_cents: int = 2_300_000
    # The grant's instalments, in basis points of its amount, and what each waits for.
    payment_shares_bp: tuple[int, ...] = (10_000,)
    payment_conditions: tuple[str, ...] = (PaymentCondition.on_activation,)
    # The financial report (CERFA 15059) is due this many months after the end of the grant's year.
    financial_report_months: int = 6
    ceiling_cents: int | None = None
    max_duration_months: int | None = None
    # Small projects: one funder decides alone, within this many days of a complete file (the clock paused while
    # supplements are awaited); a light report is due this many months after the project's end.
    lead_funder_id: str | None = None
    decision_target_days: int | None = None
    light_report_months: int | None = None
    # CPO: how many years (from the programme's year), each year's advance (in basis points of that year's
    # amount) due by the end of this month, and the balance after the yearly review.
    min_years: int | None = None
    max_years: int | None = None
    default_years: int | None = None
    advance_bp: int = 5_000
    advance_deadline_month: int = 3
    # One agreement between the association and every funder of the dossier, instead of one per funder.
    multi_party_agreement: bool = False
    # The financial report (CERFA 15059): a line whose actual amount departs from the planned one by more than
    # this share (basis points of the planned amount: 1,500 = 15 %) is explained.
    explained_gap_bp: int = 1_500

    @property
    def delegated(self) -> bool:
        """Decided by the lead funder's manager alone, without a committee."""
        return self.lead_funder_id is not None

    @property
    def multi_year(self) -> bool:
        """A CPO: amounts per year, a yearly advance and balance, yearly reviews."""
        return self.default_years is not None


DEFAULT_RULES: dict[str, TrackRules] = {
    Track.annual: TrackRules(),
    Track.seed: TrackRules(
        ceiling_cents=1_500_000, max_duration_months=18, payment_shares_bp=(7_000, 3_000),
        payment_conditions=(PaymentCondition.on_activation, PaymentCondition.after_review),
    ),
    Track.small: TrackRules(ceiling_cents=500_000, decision_target_days=21, light_report_months=3),
    Track.cpo: TrackRules(max_duration_months=48, min_years=2, max_years=4, default_years=3),
}
_NAMES = {field.name for field in fields(TrackRules)}


def rules_of(programme: Programme) -> TrackRules:
    """The track's defaults with what the programme sets in their place."""
    overrides = {name: value for name, value in (programme.rules or {}).items() if name in _NAMES}
    for name in ("payment_shares_bp", "payment_conditions"):
        if name in overrides:
            overrides[name] = tuple(overrides[name])
    rules = replace(DEFAULT_RULES[programme.track], **overrides)
    shares, conditions = rules.payment_shares_bp, rules.payment_conditions
    if len(shares) != len(conditions) or sum(shares) != 10_000 or any(share <= 0 for share in shares):
        # A schedule that does not add up is no schedule: the track's own, rather than a closing that fails.
        default = DEFAULT_RULES[programme.track]
        rules = replace(rules, payment_shares_bp=default.payment_shares_bp,
                        payment_conditions=default.payment_conditions)
    return rules


def public_rules(programme: Programme) -> dict[str, Any]:
    """The rules in force, as the API shows them."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(rules_of(programme)).items()}


def add_months(day: date, months: int) -> date:
    """The same day `months` months later, or that month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
