"""The minutes as a printable HTML document: every value escaped, both languages, amounts, deferrals, recusals."""

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import pytest

from services.funding.committee.minutes import minutes_html
from services.funding.committee.schemas import (
    Minutes,
    MinutesAttendance,
    MinutesDecision,
    MinutesFunderTotal,
    MinutesItem,
    MinutesProgramme,
    MinutesRecusal,
)
from services.funding.models.committee import ItemState, Outcome

HOSTILE = "<script>alert(1)</script> & co"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
VILLE = uuid.uuid4()
CAF = uuid.uuid4()
NNBSP = "\u202f"


def decision(funder_id: uuid.UUID, name: str, asked: int, granted: int, **extra: str | None) -> MinutesDecision:
    return MinutesDecision(funder_id=funder_id, funder_name=name, asked_cents=asked, granted_cents=granted,
                           conditions=extra.get("conditions"), refusal_reason=extra.get("refusal_reason"),
                           decided_by="desk@ville.example")


def item(position: int, **fields: Any) -> MinutesItem:
    values: dict[str, Any] = {
        "position": position, "item_id": uuid.uuid4(), "dossier_id": uuid.uuid4(),
        "reference": f"GU-2027-00000{position}", "organisation_id": uuid.uuid4(),
        "organisation_name": f"Association {position}", "project_title": f"Projet {position}", "note": None,
        "state": ItemState.decided, "outcome": None, "deferral_reason": None, "asked_cents": 0, "granted_cents": 0,
        "decisions": [], "recusals": [],
    }
    return MinutesItem(**(values | fields))


def minutes(items: list[MinutesItem], **fields: Any) -> Minutes:
    values: dict[str, Any] = {
        "session_id": uuid.uuid4(), "title": "Comité des financeurs — printemps 2027", "held_on": date(2027, 3, 18),
        "place": "Hôtel de ville, salle du conseil",
        "programmes": [MinutesProgramme(id=uuid.uuid4(), title="Appel à projets contrat de ville", year=2027)],
        "opened_at": datetime(2027, 3, 18, 9, 5, tzinfo=UTC),
        "closed_at": datetime(2027, 3, 18, 11, 40, tzinfo=UTC),
        "closed_by": "coordination@ville.example",
        "attendance": [
            MinutesAttendance(funder_id=VILLE, name="Ville de Rennes", category="commune", present=True),
            MinutesAttendance(funder_id=CAF, name="CAF d'Ille-et-Vilaine", category="caf", present=False),
        ],
        "items": items,
        "totals": [
            MinutesFunderTotal(funder_id=VILLE, name="Ville de Rennes", asked_cents=1_500_000,
                               granted_cents=1_200_000, dossiers_granted=1),
            MinutesFunderTotal(funder_id=CAF, name="CAF d'Ille-et-Vilaine", asked_cents=800_000,
                               granted_cents=0, dossiers_granted=0),
        ],
        "granted_cents": 1_200_000,
    }
    return Minutes(**(values | fields))


def session() -> Minutes:
    """One partially accepted item (with a recusal) and one deferred, listed out of order."""
    decided = item(
        1, state=ItemState.decided, outcome=Outcome.partially_accepted, asked_cents=2_300_000,
        granted_cents=1_200_000, note="Dossier prioritaire",
        decisions=[
            decision(VILLE, "Ville de Rennes", 1_500_000, 1_200_000, conditions="Bilan à mi-parcours"),
            decision(CAF, "CAF d'Ille-et-Vilaine", 800_000, 0, refusal_reason="Hors critères"),
        ],
        recusals=[MinutesRecusal(member="4b1e-sub", member_name="Claire Martin", organisation_id=CAF,
                                 organisation_name="CAF d'Ille-et-Vilaine", reason="Administratrice du porteur")],
    )
    deferred = item(2, state=ItemState.deferred, deferral_reason="Attente du budget rectifié",
                    asked_cents=500_000)
    return minutes([deferred, decided])


class Tags(HTMLParser):
    """Checks that the main elements open and close in a proper nesting."""

    CHECKED = {"html", "head", "title", "style", "body", "header", "section", "h1", "h2", "h3", "dl", "dt", "dd",
               "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "ul", "li", "p", "strong"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        if tag in self.CHECKED:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.CHECKED:
            assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
            self.open.pop()


def section_of(document: str, reference: str) -> str:
    start = document.index(f"— {reference}</h3>")
    return document[start:document.index("</section>", start)]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_document_is_standalone_balanced_html(language: str) -> None:
    document = minutes_html(session(), language)

    assert document.startswith("<!doctype html>\n")
    assert document.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in document
    assert "<title>" in document
    parser = Tags()
    parser.feed(document)
    parser.close()
    assert parser.open == []
    assert parser.scripts == 0
    assert "http://" not in document and "https://" not in document and "<link" not in document


def test_every_value_is_escaped() -> None:
    hostile = minutes(
        [item(1, note=HOSTILE, reference=HOSTILE, organisation_name=HOSTILE, project_title=HOSTILE,
              state=ItemState.decided, outcome=Outcome.refused, asked_cents=100,
              decisions=[decision(VILLE, HOSTILE, 100, 0, conditions=HOSTILE, refusal_reason=HOSTILE)],
              recusals=[MinutesRecusal(member=HOSTILE, member_name=None, organisation_id=None,
                                       organisation_name=HOSTILE, reason=HOSTILE)]),
         item(2, state=ItemState.deferred, deferral_reason=HOSTILE)],
        title=HOSTILE, place=HOSTILE, closed_by=HOSTILE,
        programmes=[MinutesProgramme(id=uuid.uuid4(), title=HOSTILE, year=2027)],
        attendance=[MinutesAttendance(funder_id=VILLE, name=HOSTILE, category=None, present=True)],
        totals=[MinutesFunderTotal(funder_id=VILLE, name=HOSTILE, asked_cents=100, granted_cents=0,
                                   dossiers_granted=0)],
    )
    for language in ("fr", "en"):
        document = minutes_html(hostile, language)

        assert "<script" not in document
        assert "& co" not in document
        # title ×2 (<title> and <h1>), place, closed by, programme, attendance, note, reference ×2, association,
        # project, funder, conditions, refusal reason, recusal member ×2 (table and sentence), organisation, reason,
        # deferral reason, funder in the totals
        assert document.count(ESCAPED) == 20


def test_french_by_default() -> None:
    for language in ("fr", "de", ""):
        document = minutes_html(session(), language)

        assert '<html lang="fr">' in document
        assert "<title>Procès-verbal — Comité des financeurs — printemps 2027</title>" in document
        assert "Présences" in document and "Ordre du jour" in document and "Totaux par financeur" in document
        assert "Minutes" not in document and "Attendance" not in document


def test_english_labels_and_lang() -> None:
    document = minutes_html(session(), "en")

    assert '<html lang="en">' in document
    assert "<title>Minutes — Comité des financeurs — printemps 2027</title>" in document
    for label in ("Programmes covered", "Attendance", "Agenda", "Funders&#39; decisions", "Totals per funder",
                  "Total granted by the session:", "Closed by", "Desk&#39;s note"):
        assert label in document
    assert "Présences" not in document and "Ordre du jour" not in document


def test_amounts_follow_the_language() -> None:
    french = minutes_html(session(), "fr")
    english = minutes_html(session(), "en")

    assert f"12{NNBSP}000,00 €" in french
    assert f"23{NNBSP}000,00 €" in french
    assert f"Total accordé par la séance : 12{NNBSP}000,00 €" in french
    assert "€12,000.00" in english and "€23,000.00" in english
    assert "€" not in french.replace(" €", "")
    assert "12,000.00" not in french and f"12{NNBSP}000,00" not in english


def test_dates_are_iso_and_times_utc() -> None:
    paris = timezone(timedelta(hours=1))
    document = minutes_html(minutes([], opened_at=datetime(2027, 3, 18, 10, 5, tzinfo=paris)), "fr")

    assert "<dd>2027-03-18</dd>" in document
    assert "<dd>2027-03-18 09:05 UTC</dd>" in document
    assert "<dd>2027-03-18 11:40 UTC</dd>" in document
    assert "<dd>coordination@ville.example</dd>" in document


def test_header_attendance_and_order() -> None:
    document = minutes_html(session(), "fr")

    assert "Hôtel de ville, salle du conseil" in document
    assert "<li>Appel à projets contrat de ville (2027)</li>" in document
    assert "<tr><td>Ville de Rennes</td><td>Présent</td></tr>" in document
    assert "<tr><td>CAF d&#39;Ille-et-Vilaine</td><td>Absent</td></tr>" in document
    # Items come in position order, whatever the list order.
    assert document.index("Point 1 — GU-2027-000001") < document.index("Point 2 — GU-2027-000002")
    headings = ["<h1>", "Programmes concernés", "Ouverture", "Présences", "Ordre du jour", "Totaux par financeur"]
    positions = [document.index(heading) for heading in headings]
    assert positions == sorted(positions)


@pytest.mark.parametrize(("outcome", "fr", "en"), [
    (Outcome.accepted, "Accordé", "Accepted"),
    (Outcome.partially_accepted, "Accordé partiellement", "Partially accepted"),
    (Outcome.refused, "Refusé", "Refused"),
])
def test_outcome_in_words(outcome: Outcome, fr: str, en: str) -> None:
    decided = minutes([item(1, state=ItemState.decided, outcome=outcome)])

    assert f'<dd class="outcome">{fr}</dd>' in minutes_html(decided, "fr")
    assert f'<dd class="outcome">{en}</dd>' in minutes_html(decided, "en")


def test_decided_item_shows_its_decisions_and_totals() -> None:
    section = section_of(minutes_html(session(), "fr"), "GU-2027-000001")

    assert "<dd>Association 1</dd>" in section and "<dd>Projet 1</dd>" in section
    assert "<dd>Dossier prioritaire</dd>" in section
    assert "<dd>Décidé</dd>" in section
    assert f'<td>Ville de Rennes</td>\n        <td class="amount">15{NNBSP}000,00 €</td>' in section
    assert "Conditions : Bilan à mi-parcours" in section
    assert "Motif du refus : Hors critères" in section
    assert (f'<td>Total</td><td class="amount">23{NNBSP}000,00 €</td>\n'
            f'        <td class="amount">12{NNBSP}000,00 €</td>') in section


def test_deferred_item_shows_its_reason_and_no_outcome() -> None:
    for language, state, reason in (("fr", "Reporté", "Motif du report"), ("en", "Deferred", "Reason for deferral")):
        section = section_of(minutes_html(session(), language), "GU-2027-000002")

        assert f"<dd>{state}</dd>" in section
        assert f"<dt>{reason}</dt><dd>Attente du budget rectifié</dd>" in section
        assert 'class="outcome"' not in section
        assert "<table" not in section


def test_withdrawn_item() -> None:
    document = minutes_html(minutes([item(1, state=ItemState.withdrawn)]), "en")

    assert "<dd>Withdrawn</dd>" in document
    assert 'class="outcome"' not in document


def test_recusal_appears_with_its_sentence() -> None:
    french = section_of(minutes_html(session(), "fr"), "GU-2027-000001")
    english = section_of(minutes_html(session(), "en"), "GU-2027-000001")

    assert "<td>Claire Martin</td><td>CAF d&#39;Ille-et-Vilaine</td>" in french
    assert "<td>Administratrice du porteur</td>" in french
    assert "Claire Martin n&#39;a pas pris part à la décision sur ce point." in french
    assert "Claire Martin did not take part in the decision on this item." in english
    assert "pas pris part" not in section_of(minutes_html(session(), "fr"), "GU-2027-000002")


def test_recusal_without_a_name_shows_the_member_id() -> None:
    recused = minutes([item(1, recusals=[MinutesRecusal(member="4b1e-sub", member_name=None, organisation_id=None,
                                                          organisation_name=None, reason="Lien familial")])])

    assert "4b1e-sub did not take part in the decision on this item." in minutes_html(recused, "en")


def test_totals_per_funder() -> None:
    french = minutes_html(session(), "fr")
    english = minutes_html(session(), "en")
    totals = french[french.index("Totaux par financeur"):]

    assert (f'<tr><td>Ville de Rennes</td><td class="amount">15{NNBSP}000,00 €</td>\n'
            f'      <td class="amount">12{NNBSP}000,00 €</td><td class="amount">1</td></tr>') in totals
    assert (f'<tr><td>CAF d&#39;Ille-et-Vilaine</td><td class="amount">8{NNBSP}000,00 €</td>\n'
            f'      <td class="amount">0,00 €</td><td class="amount">0</td></tr>') in totals
    assert "Dossiers aidés" in totals
    assert "Total granted by the session: €12,000.00" in english
