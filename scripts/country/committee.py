"""The comité des financeurs of each territory: its sessions with the funders invited (and present), their agendas,
each funder's decision on each item, the seed fund's scores, and the minutes frozen at closing."""

import random
import uuid
from types import SimpleNamespace
from typing import Any, cast

from scripts.country import MARKER
from scripts.country.bulk import Batch, Table
from scripts.country.calendar import Calendar, Session
from scripts.country.clock import MINUTE, date_of, iso, iso_day
from scripts.country.dossiers import DEFERRED, REFUSED, Dossier
from scripts.country.draws import draw
from scripts.country.ids import id_text, new_id
from scripts.country.snapshots import dumps
from scripts.country.territories import Territory
from services.funding.committee.scores import summary
from services.funding.models.committee import Score

SESSIONS = Table("funding", "committee_sessions", (
    "id", "title", "held_on", "place", "state", "opened_at", "opened_by", "closed_at", "closed_by", "minutes",
    "created_by", "version", "created_at", "updated_at"))
SESSION_PROGRAMMES = Table("funding", "committee_session_programmes", ("session_id", "programme_id"))
SESSION_FUNDERS = Table("funding", "committee_session_funders", (
    "session_id", "funder_id", "name", "category", "present", "invited_by", "invited_at"))
ITEMS = Table("funding", "committee_agenda_items", (
    "id", "session_id", "dossier_id", "position", "note", "state", "outcome", "deferral_reason"))
DECISIONS = Table("funding", "committee_decisions", (
    "id", "item_id", "dossier_id", "funder_id", "granted_cents", "conditions", "refusal_reason", "decided_by",
    "version", "created_at", "updated_at"))
SCORES = Table("funding", "committee_scores", (
    "id", "session_id", "item_id", "member", "organisation_id", "innovation", "collective", "residents_involvement",
    "feasibility", "comment", "version", "created_at", "updated_at"))
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
          "décembre")


def session_rows(territory: Territory, calendar: Calendar, dossiers: list[Dossier], as_of: int, desk: str,
                 batch: Batch, rng: random.Random) -> None:
    for d in dossiers:
        for session, placed, state in d.agenda:
            session.items.append((placed, d, state))
    for year_sessions in calendar.sessions.values():
        for session in year_sessions:
            if session.created_at <= as_of:
                _session(territory, session, as_of, desk, batch, rng)
            session.items.clear()  # the dossiers refer to their sessions: no cycle left once written
    _delegated(dossiers, as_of, batch)


def _delegated(dossiers: list[Dossier], as_of: int, batch: Batch) -> None:
    """A small project's decision, as services/funding/committee/delegated.py keeps it: no item, its lead
    funder's manager's, at the dossier's decision. Its id comes from the dossier's and the funder's, not from the
    generator, so that the rest of the country stays as it was seeded before."""
    decisions = batch.rows_of(DECISIONS)
    for d in dossiers:
        if d.programme.track != "small" or d.decided_in is not None or d.decided_at is None or d.decided_at > as_of:
            continue
        for funder, _, _ in d.lines:
            granted = d.granted[funder]
            decision_id = uuid.uuid5(uuid.NAMESPACE_OID, (d.id + funder.id).hex()).bytes
            decisions.append((decision_id, None, d.id, funder.id, granted, None, None if granted else REFUSED,
                              funder.subjects[1], 1, d.decided_at, d.decided_at))


def _session(territory: Territory, session: Session, as_of: int, desk: str, batch: Batch, rng: random.Random) -> None:
    state = "closed" if session.closed_at <= as_of else "open" if session.opened_at <= as_of else "planned"
    held = date_of(session.held_on)
    title = f"Comité des financeurs du {held.day} {MONTHS[held.month - 1]} {held.year} — {territory.epci}"[:200]
    place = f"Salle du conseil, {territory.communes[0][0]}"
    invited = {territory.state.id: territory.state, territory.city.id: territory.city}
    for _, d, _ in session.items:
        invited.update((funder.id, funder) for funder, _, _ in d.lines)
    present = True if state != "planned" else None
    batch.rows_of(SESSION_PROGRAMMES).extend((session.id, p.id) for p in session.programmes)
    batch.rows_of(SESSION_FUNDERS).extend(
        (session.id, f.id, f.name, f.category, present, desk, session.created_at + MINUTE) for f in invited.values())
    items, decisions, scores = batch.rows_of(ITEMS), batch.rows_of(DECISIONS), batch.rows_of(SCORES)
    minutes_items: list[dict[str, Any]] = []
    totals: dict[bytes, dict[str, Any]] = {}
    for position, (_, d, item_state) in enumerate(sorted(session.items, key=lambda item: item[0]), start=1):
        item_id = new_id(rng)
        decided = item_state == "decided"
        items.append((item_id, session.id, d.id, position, None, item_state, d.outcome if decided else None,
                      DEFERRED if item_state == "deferred" else None))
        shares = []
        for funder, asked, _ in d.lines if decided else ():
            granted = d.granted[funder]
            at = session.opened_at + draw(rng, 5, 170) * MINUTE
            decisions.append((new_id(rng), item_id, d.id, funder.id, granted, None, None if granted else REFUSED,
                              funder.subjects[2], 1, at, at))
            shares.append({"funder_id": funder.text, "funder_name": funder.name, "asked_cents": asked,
                           "granted_cents": granted, "conditions": None,
                           "refusal_reason": None if granted else REFUSED, "decided_by": funder.subjects[2]})
            total = totals.setdefault(funder.id, {"funder_id": funder.text, "name": funder.name, "asked_cents": 0,
                                                  "granted_cents": 0, "dossiers_granted": 0})
            total["asked_cents"] += asked
            total["granted_cents"] += granted
            total["dossiers_granted"] += 1 if granted else 0
        grades = None
        if d.programme.track == "seed" and item_state in ("decided", "deferred"):
            marks = []
            for funder, _, _ in d.lines:
                at = session.opened_at + draw(rng, 5, 60) * MINUTE
                mark = [draw(rng, 2, 5) for _ in range(4)]
                scores.append((new_id(rng), session.id, item_id, funder.subjects[2], funder.id, *mark, None, 1, at, at))
                marks.append(SimpleNamespace(innovation=mark[0], collective=mark[1], residents_involvement=mark[2],
                                             feasibility=mark[3]))
            # summary() reads only the four criteria of each score: these namespaces stand for the Score rows.
            grades = summary(cast(list[Score], marks)).model_dump()
        if state == "closed":
            minutes_items.append({
                "position": position, "item_id": id_text(item_id), "dossier_id": d.text, "reference": d.reference,
                "organisation_id": d.association.text, "organisation_name": d.association.name,
                "project_title": d.project.title, "note": None, "state": item_state,
                "outcome": d.outcome if decided else None,
                "deferral_reason": DEFERRED if item_state == "deferred" else None,
                "asked_cents": sum(amount for _, amount, _ in d.lines),
                "granted_cents": sum(share["granted_cents"] for share in shares), "decisions": shares,
                "recusals": [], "scores": grades})
    minutes = None
    if state == "closed":
        minutes = dumps({
            "session_id": id_text(session.id), "title": title, "held_on": iso_day(session.held_on), "place": place,
            "programmes": [{"id": p.text, "title": p.title, "year": p.year} for p in session.programmes],
            "opened_at": iso(session.opened_at), "closed_at": iso(session.closed_at), "closed_by": desk,
            "attendance": [{"funder_id": f.text, "name": f.name, "category": f.category, "present": True}
                           for f in invited.values()],
            "items": minutes_items, "totals": sorted(totals.values(), key=lambda total: total["name"]),
            "granted_cents": sum(item["granted_cents"] for item in minutes_items)})
    last_placed = max((placed for placed, _, _ in session.items), default=session.created_at)
    opened = session.opened_at if state != "planned" else None
    closed = session.closed_at if state == "closed" else None
    batch.rows_of(SESSIONS).append((
        session.id, title, session.held_on, place, state, opened, desk if opened else None, closed,
        desk if closed else None, minutes, MARKER, {"planned": 3, "open": 4, "closed": 5}[state], session.created_at,
        closed or opened or last_placed))
