"""The minutes of a closed committee session as a standalone, printable HTML document (French or English)."""

from fastapi import Response

from common.etag import etag_of
from common.problems import Text
from services.funding.committee.schemas import Minutes
from services.funding.html_documents import document_response, language_of, render

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
    "scores": Text("Grille du fonds d'amorçage", "Seed fund grid"),
    "spread": Text("écart", "spread"),
    "members": Text("membres", "members"),
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


def minutes_response(minutes: Minutes, *, version: int, html: bool, language: str) -> Response:
    """The minutes as JSON, or as the HTML document (`html`), carrying the session's ETag."""
    headers = {"ETag": etag_of(version)}
    if html:
        return document_response(minutes_html(minutes, language), headers)
    return Response(minutes.model_dump_json(), media_type="application/json", headers=headers)


def minutes_html(minutes: Minutes, language: str) -> str:
    """The whole HTML5 document of the minutes: English when language == "en", French otherwise."""
    return render(
        "minutes.html.j2", language_of(language), {"t": LABELS, "states": STATES, "outcomes": OUTCOMES}, m=minutes
    )
