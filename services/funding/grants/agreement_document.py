"""A grant's agreement (a convention, or a decision letter below the legal threshold) as a standalone, printable
HTML document (French or English)."""

from common.problems import Text
from services.funding.grants.schemas import AgreementPublic, PaymentPublic
from services.funding.html_documents import language_of, render
from services.funding.models.agreement import AgreementKind

LABELS: dict[str, Text] = {
    "number": Text("n°", "no."),
    "reference": Text("Dossier", "Dossier"),
    # A renewal's (a graduation's): the thread's reference, which the association quotes, and the dossier's own.
    "thread_reference": Text("Référence", "Reference"),
    "parties": Text("Parties", "Parties"),
    "between": Text("Entre {funder} et {holder}.", "Between {funder} and {holder}."),
    "awards": Text(
        "{funder} attribue à {holder} une subvention de {amount} au titre de l'année {year}.",
        "{funder} awards {holder} a grant of {amount} for the year {year}.",
    ),
    "grant": Text("Subvention", "Grant"),
    "object": Text("Objet", "Purpose"),
    "project": Text("Projet", "Project"),
    "amount": Text("Montant", "Amount"),
    "year": Text("Année", "Year"),
    "payment_terms": Text("Modalités de versement", "Payment terms"),
    "payment": Text("Versement", "Payment"),
    "condition": Text("Condition", "Condition"),
    "due_on": Text("Échéance", "Due date"),
    "pay_by": Text("À verser avant le", "To be paid by"),
    "no_payments": Text("Aucun versement prévu.", "No payment scheduled."),
    "reporting": Text("Obligations de compte rendu", "Reporting duties"),
    "financial_report": Text(
        "Compte rendu financier (CERFA 15059) dans les {months} mois suivant la fin de l'exercice",
        "Financial report (CERFA 15059) within {months} months after the end of the financial year",
    ),
    "conditions_prefix": Text("Conditions : ", "Conditions: "),
    "status": Text("Situation", "Status"),
    "state": Text("État", "State"),
    "sent_at": Text("Envoyée le", "Sent on"),
    "activated_at": Text("En vigueur le", "In force on"),
    "ended_at": Text("Terminée le", "Ended on"),
    "signatures": Text("Signatures", "Signatures"),
    "for_funder": Text("Pour le financeur", "For the funder"),
    "for_holder": Text("Pour l'association", "For the association"),
    "signed_on": Text("Signé le {date}", "Signed on {date}"),
    "awaiting_signature": Text("En attente de signature", "Awaiting signature"),
    "notification": Text("Notification", "Notification"),
    "notified_on": Text("Notifiée le {date}", "Notified on {date}"),
    "not_notified": Text("Non encore notifiée", "Not yet notified"),
    "law": Text(
        "Loi n° 2000-321 du 12 avril 2000, article 10 ; décret n° 2001-495 du 6 juin 2001.",
        "French law 2000-321 of 12 April 2000, article 10; decree 2001-495 of 6 June 2001.",
    ),
}
TITLES: dict[str, Text] = {
    AgreementKind.convention: Text("Convention d'attribution de subvention", "Grant agreement"),
    AgreementKind.decision_letter: Text("Décision d'attribution de subvention", "Grant award decision"),
}
STATES: dict[str, Text] = {
    "drafted": Text("En préparation", "Draft"),
    "sent": Text("Envoyée", "Sent"),
    "signed": Text("Signée", "Signed"),
    "active": Text("En vigueur", "In force"),
    "ended": Text("Terminée", "Ended"),
}
CONDITIONS: dict[str, Text] = {
    "on_activation": Text("à la prise d'effet", "once in force"),
    "after_review": Text("après validation du bilan intermédiaire", "after the mid-term review is accepted"),
}


def agreement_html(
    agreement: AgreementPublic,
    *,
    funder_name: str,
    holder_name: str,
    project_title: str,
    payments: list[PaymentPublic],
    language: str,
) -> str:
    """The whole HTML5 document of the agreement, payments in sequence order: English when language == "en",
    French otherwise."""
    lang = language_of(language)
    months = agreement.terms.get("financial_report_months")
    return render(
        "agreement.html.j2", lang, {"t": LABELS, "states": STATES, "conditions_in_words": CONDITIONS},
        a=agreement,
        convention=agreement.kind == AgreementKind.convention,
        title=TITLES[agreement.kind].pick(lang),
        funder_name=funder_name,
        holder_name=holder_name,
        project_title=project_title,
        payments=sorted(payments, key=lambda payment: payment.sequence),
        financial_report=LABELS["financial_report"].format(months=months).pick(lang) if months else None,
        conditions=agreement.terms.get("conditions"),
        years=agreement.terms.get("years") or [],
    )
