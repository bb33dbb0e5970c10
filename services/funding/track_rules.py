"""Each track's rules as data: the defaults of the field (../shared/DOMAIN.md, "Money and law" and "The four
ways money flows"), which a programme may override in its `rules`."""

from dataclasses import dataclass, fields, replace

from services.funding.agreement_models import PaymentCondition
from services.funding.models import Programme, Track


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


DEFAULT_RULES: dict[str, TrackRules] = {
    Track.annual: TrackRules(),
    Track.seed: TrackRules(
        ceiling_cents=1_500_000, max_duration_months=18, payment_shares_bp=(7_000, 3_000),
        payment_conditions=(PaymentCondition.on_activation, PaymentCondition.after_review),
    ),
    Track.small: TrackRules(ceiling_cents=500_000),
    Track.cpo: TrackRules(max_duration_months=48),
}
_NAMES = {field.name for field in fields(TrackRules)}


def rules_of(programme: Programme) -> TrackRules:
    """The track's defaults with what the programme sets in their place."""
    overrides = {name: value for name, value in (programme.rules or {}).items() if name in _NAMES}
    for name in ("payment_shares_bp", "payment_conditions"):
        if name in overrides:
            overrides[name] = tuple(overrides[name])
    return replace(DEFAULT_RULES[programme.track], **overrides)
