"""The money of one territory, as the desk's API would have moved it: each share granted becomes a grant with its
agreement (a convention from 23,000 euros a year from one funder to one association, a decision letter below) and
its instalments (services/funding/grants/instalments.py), paid once due; each grant owes its funder a financial report a
year; every envelope's committed and paid amounts are the sums of its grants and paid instalments, written as its
ledger.

Payments the webhook worker would have announced as due, and reports it would have announced as overdue, carry
their announcement, so that starting the desk on a seeded country does not announce a country's history at once.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from scripts.country import MARKER
from scripts.country.bulk import Batch, Table
from scripts.country.calendar import Calendar
from scripts.country.clock import DAY, HOUR, MINUTE, date_of, day, day_from, day_of, instant_of_day
from scripts.country.dossiers import Dossier
from scripts.country.draws import draw
from scripts.country.followup import FollowUp, follow
from scripts.country.ids import new_id
from scripts.country.snapshots import dumps, totals
from scripts.country.territories import Funder, Territory
from services.funding.financial_reports.service import due_on
from services.funding.grants.instalments import payment_terms, schedule
from services.funding.models.programme import Programme as ProgrammeRow
from services.funding.programmes.payment_schedule import proportional_split
from services.funding.programmes.track_rules import TrackRules, add_months, rules_of

GRANTS = Table("funding", "grants", (
    "id", "dossier_id", "funder_id", "organisation_id", "programme_id", "session_id", "year", "amount_cents",
    "conditions", "decided_at", "created_at", "updated_at"))
# A seeded grant commits each of its years on its programme's year's envelope, as the desk did before each CPO
# year waited for its own (migration 00a2b0f89ddd): the seeded envelopes are the programmes' years'.
GRANT_YEARS = Table("funding", "grant_years", (
    "id", "grant_id", "dossier_id", "funder_id", "programme_id", "year", "amount_cents", "state", "committed_cents",
    "envelope_year", "committed_at", "committed_by", "version", "created_at", "updated_at"))
AGREEMENTS = Table("funding", "agreements", (
    "id", "number", "kind", "grant_id", "dossier_id", "funder_id", "organisation_id", "state", "object",
    "amount_cents", "terms", "sent_at", "sent_by", "funder_signed_at", "funder_signed_by", "holder_signed_at",
    "holder_signed_by", "activated_at", "ended_at", "version", "created_at", "updated_at"))
PAYMENTS = Table("funding", "payments", (
    "id", "grant_id", "agreement_id", "dossier_id", "funder_id", "organisation_id", "programme_id", "year",
    "sequence", "amount_cents", "condition", "due_on", "pay_by", "due_announced_at", "released_at", "state",
    "requested_at", "requested_by", "paid_at", "paid_by", "version", "created_at", "updated_at"))
REPORTS = Table("funding", "financial_reports", (
    "id", "grant_id", "dossier_id", "funder_id", "organisation_id", "kind", "year", "due_on", "state", "lines",
    "comment", "people_reached", "submitted_at", "submitted_by", "overdue_announced_at", "reviewed_at",
    "reviewed_by", "review_comment", "version", "created_at", "updated_at"))
ENVELOPES = Table("funding", "envelopes", (
    "id", "funder_id", "programme_id", "year", "total_cents", "committed_cents", "paid_cents", "created_by",
    "version", "created_at", "updated_at"))
OPEN_DATA = Table("funding", "open_data_rows", (
    "id", "grant_id", "agreement_id", "funder_id", "organisation_id", "year", "notified_on", "reference_decision",
    "object", "amount_cents", "nature", "notification_ue", "scheme", "scheduled_conditions", "scheduled_period",
    "created_at"))
MOVEMENTS = Table("funding", "envelope_movements", (
    "id", "envelope_id", "sequence", "kind", "amount_cents", "total_cents", "committed_cents", "paid_cents",
    "dossier_id", "actor", "created_at"))

CHANGES_ASKED = "Merci de détailler l'écart sur les charges de personnel."


@dataclass(slots=True)
class Dates:
    """An agreement's steps as they would come (compared with `as_of` when written)."""

    sent: int
    activated: int
    signed_funder: int | None = None
    signed_holder: int | None = None


@dataclass(slots=True)
class Paid:
    """What a grant's payments came to: all paid, the first and last payment's instants."""

    last: int
    first: int | None = None
    every: bool = True


def agreement_number(d: Dossier, position: int, convention: bool) -> str:
    return f"{'CONV' if convention else 'DEC'}-{d.reference.removeprefix('GU-')}-{position}"


def between(rng: random.Random, start: int, end: int) -> int:
    return start + int((end - start) * rng.random()) if end > start else start


class Money:
    def __init__(self, territory: Territory, calendar: Calendar, as_of: int, desk: tuple[str, bytes],
                 rng: random.Random, batch: Batch):
        self.territory, self.calendar, self.as_of, self.desk, self.rng, self.batch = (
            territory, calendar, as_of, desk, rng, batch)
        # Partial rows: rules_of reads only the track and the rules (an SQLModel table does not validate).
        self.rules = {
            p.id: rules_of(ProgrammeRow(  # type: ignore[call-arg]
                track=p.track, rules={"lead_funder_id": p.lead.text} if p.lead else {}))
            for p in calendar.programmes.values()}
        self.ledger: dict[tuple[bytes, bytes], list[tuple]] = {}
        self.given: dict[tuple[bytes, bytes, int], int] = {}  # what a funder gives an association in a year
        self.last_asked: dict[tuple[bytes, bytes], int] = {}  # an association's last submission naming a funder
        self.lines_cache: dict[tuple[bytes, bool], str] = {}

    def run(self, dossiers: list[Dossier]) -> None:
        for d in dossiers:
            if d.submitted_at is not None:
                for funder, _, _ in d.lines:
                    key = (d.association.id, funder.id)
                    self.last_asked[key] = max(self.last_asked.get(key, 0), d.submitted_at)
        decided = [d for d in dossiers if d.state == "decided"]
        follow_ups = {d.id: follow(d, self.as_of, self.desk, self.batch, self.rng) for d in decided}
        awards = sorted(((d.decided_at or 0, d.reference, position, d, funder, yearly)
                         for d in decided for position, (funder, _, yearly) in enumerate(d.lines, start=1)
                         if d.granted.get(funder)), key=lambda award: award[:3])
        for _, _, position, d, funder, yearly in awards:
            self.grant(d, position, funder, yearly, follow_ups[d.id])
        self.envelopes()

    def grant(self, d: Dossier, position: int, funder: Funder, yearly_asked: list[int], follow_up: FollowUp) -> None:
        """The grant of one funder's share, committed on its envelope, with its agreement, payments and reports."""
        rng, a, programme = self.rng, d.association, d.programme
        rules = self.rules[programme.id]
        granted, decided = d.granted[funder], d.decided_at or 0
        years = list(range(programme.year, programme.year + (d.cpo_years or 1)))
        yearly = dict(zip(years, proportional_split(granted, yearly_asked) if yearly_asked else [granted],
                          strict=True))
        grant_id, agreement_id = new_id(rng), new_id(rng)
        self.batch.rows_of(GRANTS).append((grant_id, d.id, funder.id, a.id, programme.id,
                                           d.decided_in.id if d.decided_in else None, programme.year, granted, None,
                                           decided, decided, decided))
        self.batch.rows_of(GRANT_YEARS).extend(
            (new_id(rng), grant_id, d.id, funder.id, programme.id, year, amount, "committed", amount, programme.year,
             decided, None, 1, decided, decided) for year, amount in yearly.items())
        # A convention from the legal threshold, counting what this funder already gives this association that year.
        convention = any(self.given.get((funder.id, a.id, y), 0) + amount >= rules.convention_threshold_cents
                         for y, amount in yearly.items())
        instalments = schedule(rules, yearly, date_of(day_of(decided)))
        for instalment in instalments:
            key = (funder.id, a.id, instalment.year)
            self.given[key] = self.given.get(key, 0) + instalment.amount_cents
        self.ledger.setdefault((funder.id, programme.id), []).append(
            (decided, "committed", granted, d.id, funder.subjects[1 if rules.delegated else 2]))
        dates = self.agreement_dates(decided, convention, rules.delegated)
        paid = self.payments(d, funder, grant_id, agreement_id, instalments, dates, follow_up)
        ended = None
        if paid.every and dates.activated <= self.as_of:
            if programme.track == "cpo":
                ended = follow_up.evaluated_at  # the final evaluation ends its agreements
            elif rng.random() < 0.6:
                ended = paid.last + draw(rng, 20, 200) * DAY
                ended = ended if ended <= self.as_of else None
        terms = dumps({"years": [{"year": y, "amount_cents": amount} for y, amount in yearly.items()],
                       "payments": payment_terms(instalments),
                       "financial_report_months": rules.financial_report_months, "conditions": None})
        self.agreement(d, position, funder, grant_id, agreement_id, convention, dates, ended, terms)
        self.open_data(d, position, funder, grant_id, agreement_id, convention, dates, yearly, instalments)
        for year in yearly:
            self.report(d, funder, grant_id, year, rules, follow_up, money_in=paid.first)

    def agreement_dates(self, decided: int, convention: bool, delegated: bool) -> Dates:
        """A delegated decision's letter is in force at once; a committee's letter once sent; a convention once
        both sides signed and the funder activated it."""
        rng = self.rng
        if delegated and not convention:
            return Dates(sent=decided, activated=decided)
        sent = decided + draw(rng, 2, 25) * DAY + draw(rng, 0, 8) * HOUR
        if not convention:
            return Dates(sent=sent, activated=sent)
        signed_funder, signed_holder = sent + draw(rng, 1, 20) * DAY, sent + draw(rng, 1, 25) * DAY
        return Dates(sent=sent, signed_funder=signed_funder, signed_holder=signed_holder,
                     activated=max(signed_funder, signed_holder) + draw(rng, 0, 10) * DAY + HOUR)

    def payments(self, d: Dossier, funder: Funder, grant_id: bytes, agreement_id: bytes, instalments: list,
                 dates: Dates, follow_up: FollowUp) -> Paid:
        """Each instalment paid some days after it falls due: the agreement in force, its date come, the review it
        waits for accepted (seed fund: the learning review; CPO: that year's review)."""
        rng, as_of, a, programme = self.rng, self.as_of, d.association, d.programme
        manager, rows, paid = funder.subjects[1], self.batch.rows_of(PAYMENTS), Paid(last=d.decided_at or 0)
        active = dates.activated <= as_of
        for sequence, instalment in enumerate(instalments, start=1):
            if instalment.amount_cents <= 0:  # as services/funding/grants/instalments.py: a part of no cent is none
                continue
            released = None
            if instalment.condition == "after_review":
                released = (follow_up.seed_review_accepted if programme.track == "seed"
                            else follow_up.cpo_reviews.get(instalment.year))
            due_day = day_from(instalment.due_on) if instalment.due_on else None
            available = None
            if active and (instalment.condition != "after_review" or released is not None):
                available = max(dates.activated, released or 0, instant_of_day(due_day, 6) if due_day else 0)
            state, requested, paid_at, announced = "scheduled", None, None, None
            if available is not None and available <= as_of:
                announced = available + draw(rng, 1, 60) * MINUTE
                pay_at = available + draw(rng, 3, 45) * DAY + draw(rng, 0, 8) * HOUR
                if pay_at <= as_of:
                    state, paid_at = "paid", pay_at
                    requested = between(rng, available, pay_at) if rng.random() < 0.3 else None
                    self.ledger[(funder.id, programme.id)].append((pay_at, "paid", instalment.amount_cents, d.id,
                                                                    manager))
                    paid.last, paid.first = max(paid.last, pay_at), min(paid.first or pay_at, pay_at)
                elif rng.random() < 0.25:
                    state, requested = "requested", between(rng, available, as_of)
                announced = min(announced, requested or announced, paid_at or announced, as_of)
            paid.every = paid.every and state == "paid"
            changes = [at for at in (released, requested, paid_at) if at is not None]
            rows.append((
                new_id(rng), grant_id, agreement_id, d.id, funder.id, a.id, programme.id, instalment.year, sequence,
                instalment.amount_cents, instalment.condition, due_day,
                day_from(instalment.pay_by) if instalment.pay_by else None, announced, released, state, requested,
                a.holder if requested else None, paid_at, manager if paid_at else None, 1 + len(changes),
                d.decided_at, max(changes, default=d.decided_at)))
        return paid

    def agreement(self, d: Dossier, position: int, funder: Funder, grant_id: bytes, agreement_id: bytes,
                  convention: bool, dates: Dates, ended: int | None, terms: str) -> None:
        as_of, manager, holder = self.as_of, funder.subjects[1], d.association.holder
        sent, signed_funder, signed_holder, activated = (
            at if at is not None and at <= as_of else None
            for at in (dates.sent, dates.signed_funder, dates.signed_holder, dates.activated))
        moves = [at for at in (sent, signed_funder, signed_holder) if at is not None]
        moves += [at for at in (activated if convention else None, ended) if at is not None]
        state = ("ended" if ended else "active" if activated else "signed" if signed_funder and signed_holder
                 else "sent" if sent else "drafted")
        number = agreement_number(d, position, convention)
        self.batch.rows_of(AGREEMENTS).append((
            agreement_id, number, "convention" if convention else "decision_letter", grant_id, d.id, funder.id,
            d.association.id, state, d.project.title[:500], d.granted[funder], terms, sent, manager if sent else None,
            signed_funder, manager if signed_funder else None, signed_holder, holder if signed_holder else None,
            activated, ended, 1 + len(moves), d.decided_at, max(moves, default=d.decided_at)))

    def open_data(self, d: Dossier, position: int, funder: Funder, grant_id: bytes, agreement_id: bytes,
                  convention: bool, dates: Dates, yearly: dict[int, int], instalments: list) -> None:
        """The grant's open-data rows, one per year, once notified by `as_of` (a letter sent, a convention signed by
        both sides), as the desk writes them at the notification (exports/publication): the names and identifiers
        are left to identity's live answer, as for the rows a migration wrote back."""
        notified: int | None = dates.sent
        if convention:
            both = dates.signed_funder is not None and dates.signed_holder is not None
            notified = max(dates.signed_funder or 0, dates.signed_holder or 0) if both else None
        if notified is None or notified > self.as_of:
            return
        notified_day = date_of(day_of(notified))
        rows = self.batch.rows_of(OPEN_DATA)
        for year, amount in yearly.items():
            if amount <= 0:
                continue
            days = sorted(
                instalment.due_on or instalment.pay_by or (
                    max(notified_day, date(year, 1, 1)) if instalment.condition == "on_activation"
                    else date(year, 12, 31))
                for instalment in instalments if instalment.year == year and instalment.amount_cents > 0)
            conditions, period = ("unique", (days[0] if days else notified_day).isoformat()) if len(days) <= 1 else (
                "échelonné", f"{days[0].isoformat()}/{days[-1].isoformat()}")
            rows.append((
                new_id(self.rng), grant_id, agreement_id, funder.id, d.association.id, year, day_of(notified),
                agreement_number(d, position, convention), d.project.title[:500], amount, "aide en numéraire", False,
                str(uuid.UUID(bytes=d.programme.id)), conditions, period, notified))

    def report(self, d: Dossier, funder: Funder, grant_id: bytes, year: int, rules: TrackRules,
               follow_up: FollowUp, money_in: int | None) -> None:
        """The report the grant owes for one of its years: in hand before the CPO review that needs it, late now
        and then (never when the association has since filed a dossier naming that funder: it would have been
        refused; never the demo's associations, whose submissions the benchmarks make), accepted for most past
        years."""
        rng, as_of, a = self.rng, self.as_of, d.association
        light_months = rules.light_report_months
        light = light_months is not None
        if light_months is not None:
            due_day = day_from(add_months(date_of(d.project.end), light_months))
            work_done = instant_of_day(d.project.end, 18)
        else:
            due_day = day_from(due_on(year, rules.financial_report_months))
            work_done = instant_of_day(day(year + 1, 1, 1))
        due = instant_of_day(due_day, 23)
        needed_by = follow_up.cpo_reviews.get(year + 1) or (follow_up.evaluated_at if follow_up.cpo_reviews and
                                                            year == max(follow_up.cpo_reviews) else None)
        state, submitted, reviewed, announced = "expected", None, None, None
        if needed_by is not None:  # a CPO review read it: in hand by then
            submitted = between(rng, min(work_done + 15 * DAY, needed_by - DAY), needed_by - DAY)
            reviewed = submitted + draw(rng, 3, 20) * DAY
            state = "accepted" if reviewed <= as_of else "submitted"
        elif money_in is None or work_done > as_of:
            state = "draft" if money_in is not None and rng.random() < 0.3 else "expected"
        elif due > as_of:  # not due yet: some come early
            if rng.random() < 0.35:
                submitted = between(rng, work_done + 10 * DAY, as_of)
                reviewed = submitted + draw(rng, 5, 40) * DAY
                state = "submitted" if reviewed > as_of else "changes_requested" if rng.random() < 0.1 else "accepted"
            else:
                state = "draft" if rng.random() < 0.3 else "expected"
        elif rng.random() < 0.08 and not a.demo and self.last_asked.get((a.id, funder.id), 0) <= due:
            state = "draft" if rng.random() < 0.5 else "expected"  # overdue
            announced = min(instant_of_day(due_day + 1, 6), as_of)
        else:  # late now and then, unless a later dossier naming the funder would have been refused meanwhile
            late = rng.random() < 0.1 and not a.demo and self.last_asked.get((a.id, funder.id), 0) <= due
            submitted = (due + draw(rng, 1, 40) * DAY if late
                         else between(rng, min(work_done + 5 * DAY, due - DAY), due - DAY))
            submitted = min(submitted, as_of - HOUR)
            reviewed = submitted + draw(rng, 5, 45) * DAY
            state = "accepted" if reviewed <= as_of else "submitted"
        filled = state != "expected"
        reviewed = reviewed if state in ("accepted", "changes_requested") else None
        version = {"expected": 1, "draft": 2, "submitted": 3, "accepted": 4, "changes_requested": 4}[state]
        self.batch.rows_of(REPORTS).append((
            new_id(rng), grant_id, d.id, funder.id, a.id, "light" if light else "financial", year, due_day, state,
            self.report_lines(d, filled), None, draw(rng, 10, 300) if light and submitted else None,
            submitted if state != "draft" else None, a.holder if submitted and state != "draft" else None,
            announced, reviewed, funder.subjects[0] if reviewed else None,
            CHANGES_ASKED if state == "changes_requested" else None, version, d.decided_at,
            reviewed or submitted or d.decided_at))

    def report_lines(self, d: Dossier, filled: bool) -> str:
        """The report's lines, as owed (no actual amounts) or as filled in (the same figures for each funder and
        year of the dossier): each line of the project's budget, or for a small project's light report what was
        spent in all."""
        key = (d.id, filled)
        if key not in self.lines_cache:
            rng = self.rng
            owed: list[dict[str, Any]]
            if d.programme.track == "small":
                planned = totals(d.project.lines)["charges_cents"]
                owed = [{"side": "charge", "account_group": "total", "label": "Dépenses du projet",
                         "planned_cents": planned, "actual_cents": None, "explanation": None}]
            else:
                owed = [{"side": side, "account_group": group, "label": label, "planned_cents": amount,
                         "actual_cents": None, "explanation": None}
                        for side, group, label, amount, _ in d.project.lines]
            if filled:
                owed = [{**line, "actual_cents": line["planned_cents"] * draw(rng, 90, 110) // 10_000 * 100}
                        for line in owed]
            self.lines_cache[key] = dumps(owed)
        return self.lines_cache[key]

    def envelopes(self) -> None:
        """One envelope per funder, programme and year, its total a little above what was committed on it."""
        rng, envelopes, movements = self.rng, self.batch.rows_of(ENVELOPES), self.batch.rows_of(MOVEMENTS)
        for programme in self.calendar.programmes.values():
            for funder in programme.funders:
                events = sorted(self.ledger.get((funder.id, programme.id), []), key=lambda event: event[0])
                committed = sum(amount for _, kind, amount, _, _ in events if kind == "committed")
                total = (-(-committed * 100 // draw(rng, 75, 98) // 1_000_000) * 1_000_000 if committed
                         else draw(rng, 1, 6) * 1_000_000)
                envelope_id = new_id(rng)
                opened = instant_of_day(programme.opens - draw(rng, 5, 30), draw(rng, 8, 17))
                movements.append((new_id(rng), envelope_id, 1, "opened", total, total, 0, 0, None, funder.subjects[1],
                                  opened))
                balance = {"committed": 0, "paid": 0}
                for sequence, (at, kind, amount, dossier_id, actor) in enumerate(events, start=2):
                    balance[kind] += amount
                    movements.append((new_id(rng), envelope_id, sequence, kind, amount, total, balance["committed"],
                                      balance["paid"], dossier_id, actor, at))
                envelopes.append((envelope_id, funder.id, programme.id, programme.year, total, balance["committed"],
                                  balance["paid"], MARKER, 1 + len(events), opened,
                                  events[-1][0] if events else opened))
