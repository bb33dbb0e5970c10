"""The holders' notifications: one consolidated answer per dossier a closed session decided or deferred, stored,
read through /api/v1/notifications in the reader's language, and mailed (a folder of .eml files, SMTP)."""

import base64
import email
import email.policy
import socket
import socketserver
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import anyio
import pytest

from common.mail import FolderMailer, SmtpMailer, mailer_from_settings
from common.settings import VAR_DIR
from services.funding.committee.schemas import Minutes, MinutesDecision, MinutesItem
from services.funding.models.committee import CommitteeSession, ItemState, Outcome
from services.funding.models.notification import Notification
from services.funding.notifications import service as notifications
from services.funding.settings import FundingSettings
from services.funding.tests.helpers import PREFECTURE, VILLE, pages
from tests.support.stack import problem
from tests.support.world import CITY_INSTRUCTOR, DESK, HOLDER, HOLDER_MEMBER, OTHER_HOLDER, World

NOTIFICATIONS = "/api/v1/notifications"
HELD_ON = date(2027, 3, 12)
SESSION_TITLE = "Comité des financeurs — printemps 2027"
BLOSNE_MAILS = ["presidence@blosne-avenir.example", "tresorerie@blosne-avenir.example"]
MAUREPAS_MAILS = ["presidence@maurepas-solidaire.example"]


class RaisingMailer:
    """A mail server that is down."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: EmailMessage) -> None:
        self.calls += 1
        raise ConnectionRefusedError("smtp.example:25 refused the connection")


def _decision(funder_id: str, name: str, asked: int, granted: int, *, conditions: str | None = None,
              refusal_reason: str | None = None) -> MinutesDecision:
    return MinutesDecision(
        funder_id=uuid.UUID(funder_id), funder_name=name, asked_cents=asked, granted_cents=granted,
        conditions=conditions, refusal_reason=refusal_reason, decided_by="comite@prefecture35.example",
    )


def _item(position: int, dossier: dict[str, Any], title: str, *, state: str, outcome: str | None = None,
          decisions: Sequence[MinutesDecision] = (), deferral_reason: str | None = None) -> MinutesItem:
    return MinutesItem(
        position=position, item_id=uuid.uuid4(), dossier_id=uuid.UUID(dossier["id"]), reference=dossier["reference"],
        organisation_id=uuid.UUID(dossier["organisation_id"]), organisation_name="Association", project_title=title,
        note=None, state=ItemState(state), outcome=None if outcome is None else Outcome(outcome),
        deferral_reason=deferral_reason, asked_cents=2_500_000,
        granted_cents=sum(d.granted_cents for d in decisions), decisions=list(decisions), recusals=[],
    )


def _closed_session(world: World) -> uuid.UUID:
    """A session row as the committee's logic leaves it once closed (written here directly)."""

    async def insert() -> uuid.UUID:
        async with world.stack.apps["funding"].state.db.writer() as session:
            row = CommitteeSession(
                title=SESSION_TITLE, held_on=HELD_ON, place="Hôtel de Rennes Métropole", state="closed",
                created_by="coordination@guichet-rennes.example",
            )
            session.add(row)
            await session.commit()
            return row.id

    return world.stack.run(insert)


def _minutes(session_id: uuid.UUID, items: list[MinutesItem]) -> Minutes:
    moment = datetime(2027, 3, 12, 17, 0, tzinfo=UTC)
    return Minutes(
        session_id=session_id, title=SESSION_TITLE, held_on=HELD_ON, place="Hôtel de Rennes Métropole",
        programmes=[], opened_at=moment, closed_at=moment, closed_by=DESK, attendance=[], items=items, totals=[],
        granted_cents=sum(item.granted_cents for item in items),
    )


def _notify(world: World, session_id: uuid.UUID, minutes: Minutes,
            recipients: dict[uuid.UUID, list[str]]) -> list[uuid.UUID]:
    async def run() -> list[uuid.UUID]:
        async with world.stack.apps["funding"].state.db.writer() as session:
            ids = await notifications.notify_holders(
                session, session_id=session_id, minutes=minutes, recipients=recipients
            )
            await session.commit()
            return ids

    return world.stack.run(run)


def _deliver(world: World, mailer: Any, ids: list[uuid.UUID]) -> None:
    app = world.stack.apps["funding"]
    world.stack.run(notifications.deliver, app.state.db, mailer, app.state.settings.mail_from, ids)


def _mails(folder: Path) -> dict[str, EmailMessage]:
    """The .eml files of the folder, by the dossier reference their subject names."""
    found = {}
    for path in folder.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[message["Subject"].split()[1]] = message
    return found


@dataclass
class Closed:
    session_id: uuid.UUID
    ids: list[uuid.UUID]
    accepted: dict[str, Any]
    partial: dict[str, Any]
    refused: dict[str, Any]
    deferred: dict[str, Any]
    withdrawn: dict[str, Any]
    other: dict[str, Any]

    def id_of(self, dossier: dict[str, Any]) -> str:
        """The notification of a dossier: `notify_holders` answers in the minutes' order, withdrawn left out."""
        order = [self.accepted, self.partial, self.refused, self.deferred, self.other]
        return str(self.ids[[each["id"] for each in order].index(dossier["id"])])


@pytest.fixture
def closed(world: World) -> Closed:
    """A closed session over six real dossiers: accepted, partly accepted, refused, deferred, withdrawn (Blosne
    Avenir) and one accepted of another association (Maurepas Solidaire)."""
    accepted, partial, refused, deferred, withdrawn = (world.create_dossier() for _ in range(5))
    other = world.create_dossier(OTHER_HOLDER)
    session_id = _closed_session(world)
    items = [
        _item(1, accepted, "Aide aux devoirs au Blosne", state="decided", outcome="accepted", decisions=[
            _decision(VILLE, "Ville de Rennes", 1_500_000, 1_500_000, conditions="Bilan intermédiaire en juin."),
            _decision(PREFECTURE, "Préfecture d'Ille-et-Vilaine", 1_000_000, 1_000_000),
        ]),
        _item(2, partial, "Jardins partagés", state="decided", outcome="partially_accepted", decisions=[
            _decision(VILLE, "Ville de Rennes", 1_500_000, 800_000, conditions="Cofinancement CAF à obtenir."),
            _decision(PREFECTURE, "Préfecture d'Ille-et-Vilaine", 1_000_000, 0,
                      refusal_reason="Crédits épuisés sur cet axe."),
        ]),
        _item(3, refused, "Fête de quartier", state="decided", outcome="refused", decisions=[
            _decision(VILLE, "Ville de Rennes", 1_500_000, 0, refusal_reason="Hors des priorités 2027."),
            _decision(PREFECTURE, "Préfecture d'Ille-et-Vilaine", 1_000_000, 0,
                      refusal_reason="Public éloigné des QPV."),
        ]),
        _item(4, deferred, "Atelier vélo", state="deferred", deferral_reason="Attente du budget rectifié."),
        _item(5, withdrawn, "Chorale", state="withdrawn"),
        _item(6, other, "Repair café", state="decided", outcome="accepted", decisions=[
            _decision(VILLE, "Ville de Rennes", 1_500_000, 1_500_000),
        ]),
    ]
    recipients = {
        uuid.UUID(accepted["organisation_id"]): BLOSNE_MAILS, uuid.UUID(other["organisation_id"]): MAUREPAS_MAILS,
    }
    ids = _notify(world, session_id, _minutes(session_id, items), recipients)
    return Closed(session_id, ids, accepted, partial, refused, deferred, withdrawn, other)


@pytest.fixture
def use_mailer(world: World) -> Iterator[Callable[[Any], None]]:
    """Swap the funding app's mailer for one test (pytest's monkeypatch cannot restore a Starlette State entry)."""
    state = world.stack.apps["funding"].state
    original = state.mailer
    yield lambda mailer: setattr(state, "mailer", mailer)
    state.mailer = original


def _by_dossier(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["dossier_id"]: item for item in items}


def _all(world: World, email_address: str, **params: Any) -> list[dict[str, Any]]:
    api = world.as_("funding", email_address)
    return [item for page in pages(api, NOTIFICATIONS, **params) for item in page["items"]]


class TestWriting:
    def test_one_notification_per_decided_or_deferred_dossier_none_for_withdrawn(
        self, world: World, closed: Closed
    ) -> None:
        assert len(closed.ids) == 5
        listed = _by_dossier(_all(world, DESK))
        assert set(listed) == {closed.accepted["id"], closed.partial["id"], closed.refused["id"],
                               closed.deferred["id"], closed.other["id"]}
        assert closed.withdrawn["id"] not in listed
        for dossier in (closed.accepted, closed.partial, closed.refused, closed.deferred, closed.other):
            assert listed[dossier["id"]]["id"] == closed.id_of(dossier)
        kinds = {dossier_id: item["kind"] for dossier_id, item in listed.items()}
        assert kinds[closed.deferred["id"]] == "deferral"
        assert [kind for d, kind in kinds.items() if d != closed.deferred["id"]] == ["decision"] * 4
        steps = {dossier_id: item["content"]["next_steps"] for dossier_id, item in listed.items()}
        assert steps[closed.accepted["id"]] == steps[closed.partial["id"]] == "agreements"
        assert steps[closed.refused["id"]] == "none"
        assert steps[closed.deferred["id"]] == "next_session"
        for item in listed.values():
            assert item["session_id"] == str(closed.session_id)
            assert (item["delivery_state"], item["attempts"], item["sent_at"]) == ("pending", 0, None)

    def test_the_content_holds_every_funders_answer_as_data(self, world: World, closed: Closed) -> None:
        partial = _by_dossier(_all(world, HOLDER))[closed.partial["id"]]
        content = partial["content"]
        assert content["outcome"] == "partially_accepted"
        assert (content["asked_cents"], content["granted_cents"]) == (2_500_000, 800_000)
        assert content["session"] == {
            "id": str(closed.session_id), "title": SESSION_TITLE, "held_on": "2027-03-12",
            "place": "Hôtel de Rennes Métropole",
        }
        assert content["funders"] == [
            {"funder_id": VILLE, "name": "Ville de Rennes", "asked_cents": 1_500_000, "granted_cents": 800_000,
             "conditions": "Cofinancement CAF à obtenir.", "refusal_reason": None},
            {"funder_id": PREFECTURE, "name": "Préfecture d'Ille-et-Vilaine", "asked_cents": 1_000_000,
             "granted_cents": 0, "conditions": None, "refusal_reason": "Crédits épuisés sur cet axe."},
        ]
        assert partial["reference"] == closed.partial["reference"]
        assert partial["organisation_id"] == closed.partial["organisation_id"]
        assert partial["recipients"] == BLOSNE_MAILS
        deferred = _by_dossier(_all(world, HOLDER))[closed.deferred["id"]]["content"]
        assert (deferred["outcome"], deferred["funders"]) == (None, [])
        assert deferred["deferral_reason"] == "Attente du budget rectifié."


class TestReading:
    def test_french_by_default_english_on_request(self, world: World, closed: Closed) -> None:
        api = world.as_("funding", HOLDER)
        url = f"{NOTIFICATIONS}/{closed.id_of(closed.partial)}"
        french = api.get(url).json()
        reference = closed.partial["reference"]
        assert french["subject"] == f"Dossier {reference} : réponse du comité des financeurs du 12 mars 2027"
        assert "Votre demande est acceptée en partie." in french["body"]
        assert "- Ville de Rennes : 8\u202f000,00 € accordés (15\u202f000,00 € demandés)." in french["body"]
        assert "Conditions : Cofinancement CAF à obtenir." in french["body"]
        assert "- Préfecture d'Ille-et-Vilaine : pas d'aide (10\u202f000,00 € demandés)." in french["body"]
        assert "Motif : Crédits épuisés sur cet axe." in french["body"]
        assert "Total accordé : 8\u202f000,00 € sur 25\u202f000,00 € demandés." in french["body"]
        assert "(Ville de Rennes) vous adressera sa convention et son échéancier de versement" in french["body"]
        english = api.get(url, headers={"Accept-Language": "en"}).json()
        assert english["subject"] == f"Dossier {reference}: answer of the funders' committee of 12 March 2027"
        assert "Your request is partly accepted." in english["body"]
        assert "- Ville de Rennes: €8,000.00 granted (€15,000.00 asked)." in english["body"]
        assert "- Préfecture d'Ille-et-Vilaine: no grant (€10,000.00 asked)." in english["body"]
        assert "Reason: Crédits épuisés sur cet axe." in english["body"]
        assert "Total granted: €8,000.00 of €25,000.00 asked." in english["body"]
        assert english["content"] == french["content"]
        listed = _by_dossier(api.get(NOTIFICATIONS, headers={"Accept-Language": "en"}).json()["items"])
        assert listed[closed.partial["id"]]["subject"] == english["subject"]

    def test_a_refusal_and_a_deferral_say_what_comes_next(self, world: World, closed: Closed) -> None:
        api = world.as_("funding", HOLDER)
        refused = api.get(f"{NOTIFICATIONS}/{closed.id_of(closed.refused)}").json()["body"]
        assert "n'est pas retenue : aucune aide n'est accordée" in refused
        assert "Motif : Hors des priorités 2027." in refused and "Motif : Public éloigné des QPV." in refused
        assert "contacter le guichet unique" in refused
        assert "convention" not in refused
        url = f"{NOTIFICATIONS}/{closed.id_of(closed.deferred)}"
        deferred = api.get(url).json()
        assert deferred["subject"].endswith("examen reporté par le comité des financeurs du 12 mars 2027")
        assert "Motif du report : Attente du budget rectifié." in deferred["body"]
        assert "prochaine séance du comité" in deferred["body"]
        english = api.get(url, headers={"Accept-Language": "en"}).json()["body"]
        assert "Reason for the deferral: Attente du budget rectifié." in english
        assert "later session of the committee" in english

    def test_the_holder_sees_its_own_the_desk_every_one(self, world: World, closed: Closed) -> None:
        blosne = {closed.id_of(d) for d in (closed.accepted, closed.partial, closed.refused, closed.deferred)}
        other = closed.id_of(closed.other)
        for email_address in (HOLDER, HOLDER_MEMBER):
            assert {item["id"] for item in _all(world, email_address)} == blosne
        assert [item["id"] for item in _all(world, OTHER_HOLDER)] == [other]
        holder = world.as_("funding", HOLDER)
        refused = holder.get(f"{NOTIFICATIONS}/{other}")
        assert refused.status_code == 404 and problem(refused)["code"] == "not_found"
        assert holder.get(f"{NOTIFICATIONS}/{uuid.uuid4()}").status_code == 404
        assert holder.get(NOTIFICATIONS, params={"dossier_id": closed.other["id"]}).json()["items"] == []
        assert world.as_("funding", OTHER_HOLDER).get(f"{NOTIFICATIONS}/{other}").json()["recipients"] == MAUREPAS_MAILS
        desk = world.as_("funding", DESK)
        assert {item["id"] for item in _all(world, DESK)} == blosne | {other}
        assert desk.get(f"{NOTIFICATIONS}/{other}").status_code == 200
        instructor = world.as_("funding", CITY_INSTRUCTOR)
        assert instructor.get(NOTIFICATIONS).status_code == 403
        assert instructor.get(f"{NOTIFICATIONS}/{other}").status_code == 403
        assert instructor.post(f"{NOTIFICATIONS}/{other}/deliver").status_code == 403
        assert holder.post(f"{NOTIFICATIONS}/{closed.id_of(closed.accepted)}/deliver").status_code == 403

    def test_pagination_and_filters(self, world: World, closed: Closed, tmp_path: Path) -> None:
        walked = pages(world.as_("funding", DESK), NOTIFICATIONS, limit=2)
        assert [len(page["items"]) for page in walked] == [2, 2, 1]
        ids = [item["id"] for page in walked for item in page["items"]]
        assert sorted(ids) == sorted(str(i) for i in closed.ids)
        desk = world.as_("funding", DESK)
        one = desk.get(NOTIFICATIONS, params={"dossier_id": closed.refused["id"]}).json()["items"]
        assert [item["id"] for item in one] == [closed.id_of(closed.refused)]
        by_session = desk.get(NOTIFICATIONS, params={"session_id": str(closed.session_id), "limit": 200}).json()
        assert len(by_session["items"]) == 5
        assert desk.get(NOTIFICATIONS, params={"session_id": str(uuid.uuid4())}).json()["items"] == []
        before = datetime.now(UTC)
        _deliver(world, FolderMailer(tmp_path), [closed.ids[2]])
        since = desk.get(NOTIFICATIONS, params={"updated_since": before.isoformat()}).json()["items"]
        assert [item["id"] for item in since] == [str(closed.ids[2])]
        sent = desk.get(NOTIFICATIONS, params={"delivery_state": "sent"}).json()["items"]
        assert [item["id"] for item in sent] == [str(closed.ids[2])]
        assert desk.get(NOTIFICATIONS, params={"cursor": "not-a-cursor"}).status_code == 400


class TestDelivery:
    def test_each_mail_goes_to_the_association_with_every_answer(
        self, world: World, closed: Closed, tmp_path: Path
    ) -> None:
        _deliver(world, FolderMailer(tmp_path), closed.ids)
        mails = _mails(tmp_path)
        assert set(mails) == {closed.accepted["reference"], closed.partial["reference"], closed.refused["reference"],
                              closed.deferred["reference"], closed.other["reference"]}
        assert not list(tmp_path.glob(".*"))  # no temporary file left behind
        partial = mails[closed.partial["reference"]]
        assert partial["To"] == ", ".join(BLOSNE_MAILS)
        assert partial["From"] == world.stack.settings["funding"].mail_from
        assert partial["Subject"] == (
            f"Dossier {closed.partial['reference']} : réponse du comité des financeurs du 12 mars 2027"
        )
        message_id = f"<notification-{closed.id_of(closed.partial)}@contrat-de-ville.example>"
        assert partial["Message-ID"].strip() == message_id  # folded: too long for one header line
        body = partial.get_content()
        french, english = body.split("-" * 60)
        for words in ("Ville de Rennes : 8\u202f000,00 € accordés", "Conditions : Cofinancement CAF à obtenir.",
                      "Préfecture d'Ille-et-Vilaine : pas d'aide", "Motif : Crédits épuisés sur cet axe.",
                      "Total accordé : 8\u202f000,00 €"):
            assert words in french
        for words in ("Ville de Rennes: €8,000.00 granted", "Préfecture d'Ille-et-Vilaine: no grant",
                      "Total granted: €8,000.00 of €25,000.00 asked."):
            assert words in english
        assert mails[closed.other["reference"]]["To"] == MAUREPAS_MAILS[0]
        for item in _all(world, DESK):
            assert (item["delivery_state"], item["attempts"], item["last_error"]) == ("sent", 1, None)
            assert item["sent_at"] is not None
        _deliver(world, FolderMailer(tmp_path), closed.ids)  # a second run sends nothing again
        assert len(list(tmp_path.glob("*.eml"))) == 5

    def test_a_failing_mailer_marks_failed_and_the_desk_sends_it_again(
        self, world: World, closed: Closed, tmp_path: Path, use_mailer: Callable[[Any], None]
    ) -> None:
        target = closed.ids[0]
        down = RaisingMailer()
        _deliver(world, down, [target])  # returns: nothing raised
        assert down.calls == 1
        desk, holder = world.as_("funding", DESK), world.as_("funding", HOLDER)
        url = f"{NOTIFICATIONS}/{target}"
        failed = desk.get(url).json()
        assert (failed["delivery_state"], failed["attempts"], failed["sent_at"]) == ("failed", 1, None)
        assert failed["last_error"] == "ConnectionRefusedError: smtp.example:25 refused the connection"
        assert holder.get(url).json()["last_error"] is None  # the mail server's words are the desk's business
        use_mailer(RaisingMailer())
        again = desk.post(f"{url}/deliver")
        assert again.status_code == 200, again.text
        assert (again.json()["delivery_state"], again.json()["attempts"]) == ("failed", 2)
        use_mailer(FolderMailer(tmp_path))
        sent = desk.post(f"{url}/deliver", headers={"Accept-Language": "en"})
        assert sent.status_code == 200, sent.text
        assert (sent.json()["delivery_state"], sent.json()["attempts"], sent.json()["last_error"]) == ("sent", 3, None)
        assert sent.json()["subject"].startswith(f"Dossier {closed.accepted['reference']}: answer")
        assert list(_mails(tmp_path)) == [closed.accepted["reference"]]
        once_more = desk.post(f"{url}/deliver")
        assert once_more.status_code == 409 and problem(once_more)["code"] == "notification_already_sent"
        assert len(list(tmp_path.glob("*.eml"))) == 1
        missing = desk.post(f"{NOTIFICATIONS}/{uuid.uuid4()}/deliver")
        assert missing.status_code == 404 and problem(missing)["code"] == "not_found"

    def test_the_desk_retry_replays_under_the_same_idempotency_key(
        self, world: World, closed: Closed, tmp_path: Path, use_mailer: Callable[[Any], None]
    ) -> None:
        use_mailer(FolderMailer(tmp_path))
        desk = world.as_("funding", DESK)
        url = f"{NOTIFICATIONS}/{closed.ids[1]}/deliver"
        first = desk.post(url, headers={"Idempotency-Key": "renvoi-1"})
        replay = desk.post(url, headers={"Idempotency-Key": "renvoi-1"})
        assert first.status_code == replay.status_code == 200
        assert replay.headers["idempotent-replayed"] == "true" and replay.json() == first.json()
        assert len(list(tmp_path.glob("*.eml"))) == 1

    def test_no_address_is_stored_then_failed_with_a_clear_error(self, world: World, tmp_path: Path) -> None:
        dossier = world.create_dossier()
        session_id = _closed_session(world)
        item = _item(1, dossier, "Aide aux devoirs", state="decided", outcome="accepted",
                     decisions=[_decision(VILLE, "Ville de Rennes", 1_500_000, 1_500_000)])
        [made] = _notify(world, session_id, _minutes(session_id, [item]), recipients={})
        mailer = FolderMailer(tmp_path)
        _deliver(world, mailer, [made])
        stored = world.as_("funding", DESK).get(f"{NOTIFICATIONS}/{made}").json()
        assert stored["recipients"] == []
        assert (stored["delivery_state"], stored["attempts"]) == ("failed", 1)
        assert stored["last_error"] == notifications.NO_RECIPIENT
        assert not tmp_path.exists() or not list(tmp_path.iterdir())

    def test_a_mail_server_down_leaves_the_notification_failed(self, world: World, closed: Closed) -> None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        _deliver(world, SmtpMailer(host="127.0.0.1", port=port, timeout=2), [closed.ids[3]])
        failed = world.as_("funding", DESK).get(f"{NOTIFICATIONS}/{closed.ids[3]}").json()
        assert failed["delivery_state"] == "failed"
        assert failed["last_error"].startswith("ConnectionRefusedError")

    def test_the_test_stack_writes_its_mail_under_its_own_folder(self, world: World) -> None:
        mailer = world.stack.apps["funding"].state.mailer
        assert isinstance(mailer, FolderMailer)
        assert mailer.folder == Path(world.stack.settings["funding"].mail_folder)
        assert VAR_DIR not in mailer.folder.parents


# The mail adapter on its own.


def test_render_says_first_of_the_month_in_french() -> None:
    notification = Notification(
        dossier_id=uuid.uuid4(), session_id=uuid.uuid4(), organisation_id=uuid.uuid4(), reference="GU-2027-000001",
        thread_reference="GU-2027-000001", kind="deferral", recipients=[],
        content={"session": {"title": "Séance de juin", "held_on": "2027-06-01"}, "project_title": "Chorale",
                 "deferral_reason": "Devis à joindre."},
    )
    assert notifications.render(notification, "fr")[0].endswith("du 1er juin 2027")
    assert notifications.render(notification, "en")[0].endswith("of 1 June 2027")
    assert notifications.render(notification, "de") == notifications.render(notification, "fr")


def test_a_renewals_letter_quotes_its_thread_and_gives_its_own_reference_beside() -> None:
    notification = Notification(
        dossier_id=uuid.uuid4(), session_id=uuid.uuid4(), organisation_id=uuid.uuid4(), reference="GU-2030-000456",
        thread_reference="GU-2027-000123", kind="deferral", recipients=[],
        content={"session": {"title": "Séance de juin", "held_on": "2030-06-01"}, "project_title": "Centre social",
                 "deferral_reason": "Devis à joindre."},
    )
    subject, body = notifications.render(notification, "fr")
    assert subject.startswith("Dossier GU-2027-000123 : examen reporté")
    assert body.startswith("Référence : GU-2027-000123 (dossier GU-2030-000456)\n\nBonjour,")
    assert notifications.render(notification, "en")[1].startswith(
        "Reference: GU-2027-000123 (dossier GU-2030-000456)\n\nHello,")


def test_mailer_from_settings(tmp_path: Path) -> None:
    folder = mailer_from_settings(FundingSettings(mail_folder=str(tmp_path)))
    assert folder == FolderMailer(tmp_path)
    smtp = mailer_from_settings(FundingSettings(
        mail_smtp_host="smtp.example", mail_smtp_port=587, mail_smtp_starttls=True, mail_smtp_username="guichet",
        mail_smtp_password="s3cret", mail_smtp_timeout_seconds=3,
    ))
    assert smtp == SmtpMailer(host="smtp.example", port=587, starttls=True, username="guichet", password="s3cret",
                              timeout=3)
    assert "s3cret" not in repr(smtp)
    assert FundingSettings().mail_folder == str(VAR_DIR / "mail")


def test_an_smtp_password_outside_development_must_not_be_a_development_default() -> None:
    settings = FundingSettings(environment="production", service_client_secret="Zt4", mail_smtp_password="Zt5")
    assert settings.secret_fields()["mail_smtp_password"] == "Zt5"
    assert "mail_smtp_password" not in FundingSettings().secret_fields()
    with pytest.raises(ValueError, match="mail_smtp_password"):
        FundingSettings(environment="production", service_client_secret="Zt4", mail_smtp_password="dev-only-x")


def _message(to: str = "presidence@blosne-avenir.example") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "guichet-unique@contrat-de-ville.example"
    message["To"] = to
    message["Subject"] = "Réponse du comité"
    message.set_content("Bonjour,\n\n15\u202f000,00 € accordés.\n.\nUne ligne qui commence par un point.\n")
    return message


def test_the_folder_mailer_writes_one_file_per_message(tmp_path: Path) -> None:
    folder = tmp_path / "mail" / "out"  # made on first use
    mailer = FolderMailer(folder)
    anyio.run(mailer.send, _message())
    anyio.run(mailer.send, _message("contact@maurepas-solidaire.example"))
    files = sorted(folder.iterdir())
    assert len(files) == 2 and all(path.suffix == ".eml" for path in files)
    read = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files]
    assert {message["To"] for message in read} == {"presidence@blosne-avenir.example",
                                                    "contact@maurepas-solidaire.example"}
    assert "15\u202f000,00 € accordés." in read[0].get_content()


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Enough SMTP for smtplib: EHLO (with AUTH PLAIN), AUTH, MAIL, RCPT, DATA, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server: Any = self.server
        self._reply("220 test.example ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            verb, _, argument = line.decode().strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(b"250-test.example\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
            elif verb == "AUTH":
                server.logins.append(base64.b64decode(argument.split()[1]).split(b"\0")[1:])
                self._reply("235 authenticated")
            elif verb == "MAIL":
                sender = argument.split(":", 1)[1].split()[0].strip("<>")
                self._reply("250 ok")
            elif verb == "RCPT":
                recipients.append(argument.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 ok")
            elif verb == "DATA":
                self._reply("354 go ahead")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                server.received.append((sender, recipients, b"".join(data)))
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    server: Any = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.received, server.logins = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_smtp_mailer_speaks_to_a_server(smtp_server: Any) -> None:
    port = smtp_server.server_address[1]
    mailer = SmtpMailer(host="127.0.0.1", port=port, username="guichet", password="s3cret", timeout=5)
    message = _message("presidence@blosne-avenir.example, tresorerie@blosne-avenir.example")
    anyio.run(mailer.send, message)
    [(sender, recipients, data)] = smtp_server.received
    assert sender == "guichet-unique@contrat-de-ville.example"
    assert recipients == ["presidence@blosne-avenir.example", "tresorerie@blosne-avenir.example"]
    assert smtp_server.logins == [[b"guichet", b"s3cret"]]
    received = email.message_from_bytes(data, policy=email.policy.default)
    assert received["Subject"] == "Réponse du comité"
    # Every line came through, the one that starts with a dot (stuffed by smtplib) included.
    assert received.get_content().replace("\r\n", "\n") == message.get_content()
    anyio.run(SmtpMailer(host="127.0.0.1", port=port, timeout=5).send, _message())
    assert len(smtp_server.received) == 2 and len(smtp_server.logins) == 1  # no login without a username
