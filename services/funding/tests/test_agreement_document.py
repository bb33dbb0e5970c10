"""The agreement as a printable HTML document: every value escaped, both languages, both kinds, payments."""

import uuid
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from services.funding.grants.agreement_document import agreement_html
from services.funding.grants.schemas import AgreementPublic, PaymentPublic
from services.funding.models.agreement import AgreementKind, AgreementState, PaymentCondition, PaymentState

HOSTILE = "<script>alert(1)</script> & co"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
NNBSP = "\u202f"
LAW_FR = "Loi n° 2000-321 du 12 avril 2000, article 10 ; décret n° 2001-495 du 6 juin 2001."
LAW_EN = "French law 2000-321 of 12 April 2000, article 10; decree 2001-495 of 6 June 2001."
CREATED = datetime(2027, 4, 1, 8, 0, tzinfo=UTC)


def agreement(**fields: Any) -> AgreementPublic:
    values: dict[str, Any] = {
        "id": uuid.uuid4(), "number": "CONV-2027-000123-1", "kind": AgreementKind.convention,
        "grant_id": uuid.uuid4(), "dossier_id": uuid.uuid4(), "reference": "GU-2027-000123",
        "thread_reference": "GU-2027-000123", "funder_id": uuid.uuid4(), "organisation_id": uuid.uuid4(),
        "state": AgreementState.signed,
        "object": "Ateliers d'écriture au Blosne", "amount_cents": 3_000_000, "year": 2027,
        "terms": {"financial_report_months": 6, "conditions": "Bilan à mi-parcours"},
        "sent_at": datetime(2027, 4, 2, 9, 0, tzinfo=UTC), "funder_signed_at": datetime(2027, 4, 10, 15, 0, tzinfo=UTC),
        "holder_signed_at": None, "activated_at": None, "suspended_at": None, "ended_at": None,
        "allowed_actions": [], "version": 1,
        "created_at": CREATED, "updated_at": CREATED,
    }
    return AgreementPublic(**(values | fields))


def payment(sequence: int, amount: int, condition: PaymentCondition, due_on: date | None) -> PaymentPublic:
    return PaymentPublic(
        id=uuid.uuid4(), grant_id=uuid.uuid4(), agreement_id=uuid.uuid4(), dossier_id=uuid.uuid4(),
        funder_id=uuid.uuid4(), organisation_id=uuid.uuid4(), programme_id=uuid.uuid4(), year=2027,
        sequence=sequence, amount_cents=amount, condition=condition, due_on=due_on, pay_by=None,
        state=PaymentState.scheduled,
        requested_at=None, paid_at=None, cancelled_at=None, cancel_reason=None, version=1, created_at=CREATED,
        updated_at=CREATED,
    )


# Listed out of order: the document sorts them.
PAYMENTS = [
    payment(2, 900_000, PaymentCondition.after_review, None),
    payment(1, 2_100_000, PaymentCondition.on_activation, date(2027, 5, 15)),
]


def render(language: str = "fr", *, payments: list[PaymentPublic] = PAYMENTS, **fields: Any) -> str:
    return agreement_html(agreement(**fields), funder_name="Ville de Rennes", holder_name="Cercle Paul Bert",
                          project_title="Écrire le quartier", payments=payments, language=language)


class Tags(HTMLParser):
    """Checks that the main elements open and close in a proper nesting."""

    CHECKED = {"html", "head", "title", "style", "body", "header", "section", "div", "h1", "h2", "h3", "dl", "dt",
               "dd", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "p"}

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


@pytest.mark.parametrize("kind", list(AgreementKind))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_document_is_standalone_balanced_html(language: str, kind: AgreementKind) -> None:
    document = render(language, kind=kind)

    assert document.startswith("<!doctype html>\n")
    assert document.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in document
    parser = Tags()
    parser.feed(document)
    parser.close()
    assert parser.open == []
    assert parser.scripts == 0
    assert "http://" not in document and "https://" not in document and "<link" not in document


@pytest.mark.parametrize("kind", list(AgreementKind))
def test_every_value_is_escaped(kind: AgreementKind) -> None:
    for language in ("fr", "en"):
        document = agreement_html(
            agreement(kind=kind, number=HOSTILE, reference=HOSTILE, object=HOSTILE,
                      terms={"financial_report_months": 6, "conditions": HOSTILE}),
            funder_name=HOSTILE, holder_name=HOSTILE, project_title=HOSTILE, payments=PAYMENTS, language=language,
        )

        assert "<script" not in document
        assert "& co" not in document
        # number ×2 (<title> and <h1>), reference, both names in the parties sentence, object, project, conditions;
        # a convention names both parties again over their signatures.
        assert document.count(ESCAPED) == (10 if kind == AgreementKind.convention else 8)


def test_french_by_default() -> None:
    for language in ("fr", "de", ""):
        document = render(language)

        assert '<html lang="fr">' in document
        assert "<title>Convention d&#39;attribution de subvention n° CONV-2027-000123-1</title>" in document
        for label in ("Modalités de versement", "Obligations de compte rendu", "Pour le financeur"):
            assert label in document
        assert "Grant agreement" not in document and "Payment terms" not in document


def test_english_labels_and_lang() -> None:
    document = render("en")

    assert '<html lang="en">' in document
    assert "<title>Grant agreement no. CONV-2027-000123-1</title>" in document
    for label in ("Payment terms", "Reporting duties", "For the funder", "For the association",
                  '<dd class="state">Signed</dd>'):
        assert label in document
    assert "Modalités de versement" not in document and "Convention d&#39;attribution" not in document


def test_a_renewal_gives_its_threads_reference_and_its_own_beside() -> None:
    fields: dict[str, Any] = {"number": "CONV-2027-000123-2030-000456-1", "reference": "GU-2030-000456",
                              "thread_reference": "GU-2027-000123"}
    french, english = render("fr", **fields), render("en", **fields)
    assert "<dt>Référence</dt><dd>GU-2027-000123 (dossier GU-2030-000456)</dd>" in french
    assert "<dt>Reference</dt><dd>GU-2027-000123 (dossier GU-2030-000456)</dd>" in english
    assert "<dt>Dossier</dt>" not in french


def test_convention_has_parties_signatures_and_the_law() -> None:
    french = render("fr")
    english = render("en")

    assert "<h1>Convention d&#39;attribution de subvention n° CONV-2027-000123-1</h1>" in french
    assert "<dt>Dossier</dt><dd>GU-2027-000123</dd>" in french
    assert '<p class="parties">Entre Ville de Rennes et Cercle Paul Bert.</p>' in french
    assert '<p class="parties">Between Ville de Rennes and Cercle Paul Bert.</p>' in english
    # The funder has signed, the association not yet.
    funder = french[french.index('class="signature funder"'):french.index('class="signature holder"')]
    holder = french[french.index('class="signature holder"'):]
    assert "Ville de Rennes" in funder and "Signé le 2027-04-10" in funder
    assert "Cercle Paul Bert" in holder and "En attente de signature" in holder
    assert "Signed on 2027-04-10" in english and "Awaiting signature" in english
    assert LAW_FR.replace("'", "&#39;") in french and LAW_EN in english
    assert "<dt>Envoyée le</dt><dd>2027-04-02</dd>" in french
    assert "Notifi" not in french and "notified" not in english.lower()


def test_decision_letter_has_a_notification_and_no_law() -> None:
    letter: dict[str, Any] = {
        "kind": AgreementKind.decision_letter, "number": "DEC-2027-000124-1", "amount_cents": 1_200_000,
    }
    french = render("fr", **letter)
    english = render("en", **letter)
    unsent_fr = render("fr", **letter, sent_at=None, state=AgreementState.drafted)
    unsent_en = render("en", **letter, sent_at=None, state=AgreementState.drafted)

    assert "<h1>Décision d&#39;attribution de subvention n° DEC-2027-000124-1</h1>" in french
    assert "<h1>Grant award decision no. DEC-2027-000124-1</h1>" in english
    assert (f"Ville de Rennes attribue à Cercle Paul Bert une subvention de 12{NNBSP}000,00 € "
            "au titre de l&#39;année 2027.") in french
    assert "Ville de Rennes awards Cercle Paul Bert a grant of €12,000.00 for the year 2027." in english
    assert '<p class="notified">Notifiée le 2027-04-02</p>' in french
    assert '<p class="notified">Notified on 2027-04-02</p>' in english
    assert '<p class="notified">Non encore notifiée</p>' in unsent_fr
    assert '<p class="notified">Not yet notified</p>' in unsent_en
    for document in (french, english, unsent_fr):
        assert "2000-321" not in document
        assert 'class="signature' not in document and "Signé le" not in document and "Signed on" not in document


def test_amounts_follow_the_language() -> None:
    french = render("fr")
    english = render("en")

    assert f'<dd class="amount">30{NNBSP}000,00 €</dd>' in french
    assert '<dd class="amount">€30,000.00</dd>' in english
    assert f"21{NNBSP}000,00 €" in french and "9\u202f000,00 €" in french
    assert "€21,000.00" in english and "€9,000.00" in english
    assert "30,000.00" not in french and f"30{NNBSP}000,00" not in english


def test_payments_in_sequence_order_with_their_condition_in_words() -> None:
    french = render("fr")
    english = render("en")

    first = (f'<tr><td>1</td><td class="amount">21{NNBSP}000,00 €</td>\n'
             "      <td>à la prise d&#39;effet</td>\n      <td>2027-05-15</td>\n      <td>—</td></tr>")
    second = (f'<tr><td>2</td><td class="amount">9{NNBSP}000,00 €</td>\n'
              "      <td>après validation du bilan intermédiaire</td>\n      <td>—</td>\n      <td>—</td></tr>")
    assert first in french and second in french
    assert french.index(first) < french.index(second)
    assert "<td>once in force</td>" in english and "<td>after the mid-term review is accepted</td>" in english
    assert "Aucun versement prévu." in render("fr", payments=[])


def test_a_cpo_states_each_year_and_when_each_advance_is_to_be_paid() -> None:
    terms = {"financial_report_months": 6, "years": [{"year": 2027, "amount_cents": 6_000_000},
                                                     {"year": 2028, "amount_cents": 5_000_000}]}
    advance = payment(3, 2_500_000, PaymentCondition.on_activation, date(2028, 1, 1)).model_copy(
        update={"pay_by": date(2028, 3, 31)})
    french = render("fr", terms=terms, payments=[advance])

    assert f'<tr><td>2027</td><td class="amount">60{NNBSP}000,00 €</td></tr>' in french
    assert f'<tr><td>2028</td><td class="amount">50{NNBSP}000,00 €</td></tr>' in french
    assert "<th>À verser avant le</th>" in french
    assert "<td>2028-01-01</td>\n      <td>2028-03-31</td></tr>" in french
    assert 'class="years"' not in render("fr")  # one year: no table of years


def test_reporting_duties_come_from_the_terms() -> None:
    french = render("fr")
    english = render("en")
    bare = render("fr", terms={"financial_report_months": 3, "conditions": None})

    assert ("<li>Compte rendu financier (CERFA 15059) dans les 6 mois suivant la fin de l&#39;exercice</li>"
            in french)
    assert "<li>Financial report (CERFA 15059) within 6 months after the end of the financial year</li>" in english
    assert '<li class="conditions">Conditions : Bilan à mi-parcours</li>' in french
    assert '<li class="conditions">Conditions: Bilan à mi-parcours</li>' in english
    assert "dans les 3 mois" in bare and 'class="conditions"' not in bare
    assert "Obligations de compte rendu" not in render("fr", terms={})


def test_state_and_dates() -> None:
    document = render("en", state=AgreementState.ended, holder_signed_at=datetime(2027, 4, 12, 10, 0, tzinfo=UTC),
                      activated_at=datetime(2027, 4, 12, 10, 0, tzinfo=UTC),
                      ended_at=datetime(2028, 6, 30, 23, 30, tzinfo=UTC))

    assert '<dd class="state">Ended</dd>' in document
    assert "<dt>In force on</dt><dd>2027-04-12</dd>" in document
    assert "<dt>Ended on</dt><dd>2028-06-30</dd>" in document
    assert "Awaiting signature" not in document
    assert '<dd class="state">En vigueur</dd>' in render("fr", state=AgreementState.active)
