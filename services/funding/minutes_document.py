"""The minutes of a closed committee session as a standalone, printable HTML document (French or English)."""

from datetime import UTC, date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from common.money import euros
from common.problems import Text
from services.funding.committee_schemas import Minutes

LABELS: dict[str, Text] = {
    "document": Text("Procès-verbal", "Minutes"),
    "held_on": Text("Date", "Date"),
    "place": Text("Lieu", "Place"),
    "programmes": Text("Programmes concernés", "Programmes covered"),
    "session": Text("Déroulement de la séance", "Session"),
    "opened_at": Text("Ouverture", "Opened"),
    "closed_at": Text("Clôture", "Closed"),
    "closed_by": Text("Clôturée par", "Closed by"),
    "attendance": Text("Présences", "Attendance"),
    "funder": Text("Financeur", "Funder"),
    "presence": Text("Présence", "Attendance"),
    "present": Text("Présent", "Present"),
    "absent": Text("Absent", "Absent"),
    "agenda": Text("Ordre du jour", "Agenda"),
    "item": Text("Point", "Item"),
    "no_items": Text("Aucun point à l'ordre du jour.", "No item on the agenda."),
    "reference": Text("Dossier", "Dossier"),
    "association": Text("Association", "Association"),
    "project": Text("Projet", "Project"),
    "note": Text("Note du guichet", "Desk's note"),
    "state": Text("État", "State"),
    "deferral_reason": Text("Motif du report", "Reason for deferral"),
    "outcome": Text("Résultat", "Outcome"),
    "decisions": Text("Décisions des financeurs", "Funders' decisions"),
    "asked": Text("Demandé", "Asked"),
    "granted": Text("Accordé", "Granted"),
    "conditions": Text("Conditions ou motif", "Conditions or reason"),
    "conditions_prefix": Text("Conditions : ", "Conditions: "),
    "refusal_prefix": Text("Motif du refus : ", "Reason for refusal: "),
    "total": Text("Total", "Total"),
    "recusals": Text("Déports", "Recusals"),
    "member": Text("Membre", "Member"),
    "organisation": Text("Organisme", "Organisation"),
    "reason": Text("Motif", "Reason"),
    "recusal_sentence": Text(
        "{member} n'a pas pris part à la décision sur ce point.",
        "{member} did not take part in the decision on this item.",
    ),
    "totals": Text("Totaux par financeur", "Totals per funder"),
    "dossiers_granted": Text("Dossiers aidés", "Dossiers granted"),
    "granted_total": Text("Total accordé par la séance :", "Total granted by the session:"),
}
STATES: dict[str, Text] = {
    "pending": Text("En attente", "Pending"),
    "decided": Text("Décidé", "Decided"),
    "deferred": Text("Reporté", "Deferred"),
    "withdrawn": Text("Retiré", "Withdrawn"),
}
OUTCOMES: dict[str, Text] = {
    "accepted": Text("Accordé", "Accepted"),
    "partially_accepted": Text("Accordé partiellement", "Partially accepted"),
    "refused": Text("Refusé", "Refused"),
}


def _iso_date(value: date) -> str:
    return value.isoformat()


def _utc(value: datetime) -> str:
    # Stored timestamps are UTC-aware; a naive one is taken as already UTC rather than as local time.
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.strftime("%Y-%m-%d %H:%M UTC")


# Autoescape everywhere: every value comes from people (notes, reasons, names) and must never become markup.
_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_environment.filters["iso_date"] = _iso_date
_environment.filters["utc"] = _utc
_template = _environment.get_template("minutes.html.j2")


def minutes_html(minutes: Minutes, language: str) -> str:
    """The whole HTML5 document of the minutes: English when language == "en", French otherwise."""
    lang = "en" if language == "en" else "fr"
    return _template.render(
        m=minutes,
        lang=lang,
        t={key: text.pick(lang) for key, text in LABELS.items()},
        states={key: text.pick(lang) for key, text in STATES.items()},
        outcomes={key: text.pick(lang) for key, text in OUTCOMES.items()},
        money=lambda cents: euros(cents).pick(lang),
    )
