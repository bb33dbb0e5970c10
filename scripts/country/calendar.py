"""The seeded years, and each territory's calendar in them: its programmes (one per track and year, with their
windows) and its committee sessions."""

import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scripts.country import MARKER
from scripts.country.bulk import Batch, Table
from scripts.country.clock import DAY, HOUR, day, day_of, instant_of_day
from scripts.country.draws import draw
from scripts.country.ids import id_text, new_id

if TYPE_CHECKING:  # territories imports this module
    from scripts.country.territories import Funder, Territory

PROGRAMMES = Table("funding", "programmes", (
    "id", "title", "track", "year", "opens_on", "closes_on", "qpv_codes", "quorum_funder_ids", "rules", "created_by",
    "version", "created_at", "updated_at"))
PROGRAMME_FUNDERS = Table("funding", "programme_funders", ("programme_id", "funder_id"))

# When a dossier may be filed, by track: the calls close early enough for a session of the same year to decide.
WINDOWS = {"annual": ((1, 5), (10, 15)), "seed": ((2, 1), (9, 30)), "small": ((1, 2), (12, 1)),
           "cpo": ((1, 5), (6, 30))}
TITLES = {
    "annual": "Appel à projets {year} du contrat de ville — {epci}",
    "small": "Petits projets {year} (fil de l'eau) — {epci}",
    "seed": "Fonds d'amorçage {year} — {epci}",
    "cpo": "Conventions pluriannuelles d'objectifs {year} — {epci}",
}
COMMITTEE_TRACKS = ("annual", "seed", "cpo")
# The comité des financeurs meets about every seven weeks.
SESSION_DAYS = ((2, 12), (4, 2), (5, 28), (7, 9), (9, 24), (11, 5), (12, 10))


@dataclass(frozen=True)
class Frame:
    first_year: int
    last_year: int
    # The seeded history stops here: now, or the end of the last year when it is over.
    as_of: int

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)


@dataclass(slots=True, eq=False)
class Programme:
    id: bytes
    text: str
    title: str
    track: str
    year: int
    opens: int  # days
    closes: int
    funders: list  # the territory's Funder objects taking part
    lead: "Funder | None"  # small projects: the funder whose manager decides


@dataclass(slots=True, eq=False)
class Session:
    id: bytes
    year: int
    held_on: int  # day
    created_at: int
    opened_at: int
    closed_at: int
    programmes: list[Programme]
    items: list = field(default_factory=list)  # (placed at, dossier, item state), gathered before written


@dataclass(slots=True, eq=False)
class Calendar:
    programmes: dict[tuple[int, str], Programme]
    sessions: dict[int, list[Session]]  # by year, in date order


def build(territory: "Territory", frame: Frame, rng: random.Random, batch: Batch) -> Calendar:
    """The territory's programmes (and their rows) and sessions (their rows come once their agendas are known)."""
    programmes: dict[tuple[int, str], Programme] = {}
    rows, funder_rows = batch.rows_of(PROGRAMMES), batch.rows_of(PROGRAMME_FUNDERS)
    qpv_codes = json.dumps([q[0] for q in territory.qpvs])
    small_funders = [territory.city, territory.state] + [f for f in territory.funders if f.category == "epci"]
    for year in frame.years:
        for track, ((open_month, open_day), (close_month, close_day)) in WINDOWS.items():
            programme_id = new_id(rng)
            funders = small_funders if track == "small" else territory.funders
            lead = territory.city if track == "small" else None
            title = TITLES[track].format(year=year, epci=territory.epci)[:200]
            programme = Programme(id=programme_id, text=id_text(programme_id), title=title, track=track, year=year,
                                  opens=day(year, open_month, open_day), closes=day(year, close_month, close_day),
                                  funders=funders, lead=lead)
            programmes[(year, track)] = programme
            created = (programme.opens - draw(rng, 20, 50)) * DAY + draw(rng, 8, 17) * HOUR
            rules = json.dumps({"lead_funder_id": lead.text} if lead else {})
            rows.append((programme_id, title, track, year, programme.opens, programme.closes, qpv_codes, "[]", rules,
                         MARKER, 1, created, created))
            funder_rows.extend((programme_id, funder.id) for funder in funders)
    sessions: dict[int, list[Session]] = {}
    for year in frame.years:
        sessions[year] = []
        for month, dom in SESSION_DAYS:
            held = day(year, month, dom) + draw(rng, -4, 4)
            sessions[year].append(Session(
                id=new_id(rng), year=year, held_on=held,
                created_at=instant_of_day(held - draw(rng, 25, 40), draw(rng, 8, 17)),
                opened_at=instant_of_day(held, 13),
                closed_at=instant_of_day(held, 16, draw(rng, 0, 59)),
                programmes=[programmes[(year, track)] for track in COMMITTEE_TRACKS]))
    return Calendar(programmes=programmes, sessions=sessions)


def first_session_from(calendar: Calendar, year: int, earliest: int) -> Session | None:
    """The first session of the year held on or after the day `earliest`."""
    return next((s for s in calendar.sessions[year] if s.held_on >= earliest), None)


def window_instant(programme: Programme, rng: random.Random, until: int) -> int:
    """A working-hours instant within the programme's window, never after `until`."""
    last = min(programme.closes, day_of(until))
    at = instant_of_day(draw(rng, programme.opens, max(programme.opens, last)), draw(rng, 7, 18),
                        draw(rng, 0, 59))
    return min(at, until - HOUR)
