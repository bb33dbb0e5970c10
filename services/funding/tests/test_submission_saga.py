"""A submission across funding and projects (docs/architecture.md, "A submission across two services"): no call
to another service while funding holds a lock, and the attached versions' pins are a reservation that funding
confirms once its submission is committed, or releases; one left owed is done by the worker, one never confirmed
lapses."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update
from sqlmodel import col

from common.clock import FixedClock
from services.funding.dossiers import pin_saga, repository
from services.funding.models.dossier import Dossier
from services.funding.tests.helpers import PREFECTURE, VILLE, url_of
from services.funding.webhooks.worker import Worker
from services.projects.documents.pin_sweep import sweep_once
from services.projects.models import DocumentPin
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import DESK, HOLDER, World

PLAN: list[dict[str, Any]] = [
    {"funder_id": VILLE, "amount_cents": 1_500_000},
    {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
    {"funder_id": None, "amount_cents": 500_000},
]
# Long enough for any honest write; what a write waiting on a lock held across the call never gets within.
DEADLOCK = 10


def attached_draft(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A submittable draft with one document of the vault attached, and that document."""
    dossier = world.create_dossier(plan=PLAN)
    document = world.create_document(kind="insurance_certificate")
    api = world.as_("funding", HOLDER)
    response = api.patch(url_of(dossier), json={"document_version_ids": [document["versions"][0]["id"]]},
                         headers={"If-Match": api.get(url_of(dossier)).headers["etag"]})
    assert response.status_code == 200, response.text
    return response.json(), document


def submit(world: World, dossier: dict[str, Any], **kwargs: Any) -> Any:
    return world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit", **kwargs)


def pins(world: World, dossier: dict[str, Any]) -> list[tuple[str, uuid.UUID | None]]:
    """The dossier's pins at projects: (state, attempt)."""

    async def read() -> list[tuple[str, uuid.UUID | None]]:
        async with world.stack.apps["projects"].state.db.reader() as session:
            rows = await session.execute(
                select(col(DocumentPin.state), col(DocumentPin.attempt_id)).where(
                    col(DocumentPin.dossier_id) == uuid.UUID(dossier["id"]))
            )
            return [(state, attempt) for state, attempt in rows]

    result: list[tuple[str, uuid.UUID | None]] = world.stack.run(read)
    return result


def owed(world: World, dossier: dict[str, Any]) -> tuple[uuid.UUID | None, str | None]:
    """What funding keeps of the dossier's pins: the attempt and the step still owed to projects."""

    async def read() -> tuple[uuid.UUID | None, str | None]:
        async with world.stack.apps["funding"].state.db.reader() as session:
            row = (await session.execute(
                select(col(Dossier.pin_attempt_id), col(Dossier.pin_step))
                .where(col(Dossier.id) == uuid.UUID(dossier["id"]))
            )).one()
            return row[0], row[1]

    result: tuple[uuid.UUID | None, str | None] = world.stack.run(read)
    return result


def delete_version(world: World, document: dict[str, Any]) -> Any:
    vault = world.as_("projects", HOLDER)
    etag = vault.get(f"/api/v1/documents/{document['id']}").headers["etag"]
    return vault.delete(f"/api/v1/documents/{document['id']}/versions/{document['versions'][0]['id']}",
                        headers={"If-Match": etag})


@pytest.fixture
def peers_wrapped(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Wrap one method of funding's peers: `wrap(name, during)` runs `during()` inside each call, after the
    real one answered."""
    peers = world.stack.apps["funding"].state.peers

    def wrap(name: str, during: Callable[[], Awaitable[None]]) -> None:
        real = getattr(peers, name)

        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            answer = await real(*args, **kwargs)
            await asyncio.wait_for(during(), DEADLOCK)  # a lock held across the call: a timeout, never a pass
            return answer

        monkeypatch.setattr(peers, name, wrapped)

    yield wrap


def funding_write(world: World, dossier: dict[str, Any], **values: Any) -> Callable[[], Awaitable[None]]:
    """A write to the dossier's very row in a transaction of its own (another request's, say)."""

    async def write() -> None:
        async with world.stack.apps["funding"].state.db.transaction() as session:
            await session.execute(
                update(Dossier).where(col(Dossier.id) == uuid.UUID(dossier["id"])).values(**values)
            )

    return write


class TestNoLockAcrossACall:
    def test_a_funding_write_completes_while_projects_is_being_asked(self, world: World,
                                                                     peers_wrapped: Any) -> None:
        dossier, _ = attached_draft(world)
        # On SQLite any write waits for the submission's BEGIN IMMEDIATE, on PostgreSQL this one for its row lock.
        peers_wrapped("project", funding_write(world, dossier, support_message="pendant le dépôt"))
        peers_wrapped("pin_documents", funding_write(world, dossier, support_message="pendant l'épinglage"))
        response = submit(world, dossier)
        assert response.status_code == 200, response.text
        assert pins(world, dossier) == [("confirmed", owed(world, dossier)[0])]
        assert owed(world, dossier)[1] is None

    def test_creating_a_dossier_asks_projects_before_its_write(self, world: World, peers_wrapped: Any) -> None:
        other = world.create_dossier(plan=PLAN)
        peers_wrapped("project", funding_write(world, other, support_message="pendant la création"))
        world.create_dossier(plan=PLAN)

    def test_an_admissibility_decision_asks_the_vault_before_its_lock(self, world: World,
                                                                       peers_wrapped: Any) -> None:
        dossier, _ = attached_draft(world)
        assert submit(world, dossier).status_code == 200
        peers_wrapped("document_compliance", funding_write(world, dossier, support_message="pendant la décision"))
        decided = world.as_("funding", DESK).post(f"{url_of(dossier)}/admissibility", json={"decision": "admissible"})
        assert decided.status_code in (200, 409), decided.text  # whichever the rules say, once the write went by
        if decided.status_code == 409:
            assert problem(decided)["code"] == "admissibility_rules_failed"

    @pytest.mark.parametrize("if_match", [None, '"2"'], ids=["no-if-match", "if-match"])
    def test_a_dossier_changed_meanwhile_is_refused_and_its_reservation_released(
        self, world: World, peers_wrapped: Any, if_match: str | None
    ) -> None:
        dossier, document = attached_draft(world)
        peers_wrapped("pin_documents", funding_write(world, dossier, version=Dossier.version + 1))
        response = submit(world, dossier, headers={"If-Match": if_match} if if_match else {})
        assert response.status_code == (412 if if_match else 409), response.text
        if not if_match:
            assert problem(response)["code"] == "dossier_changed"
        assert world.as_("funding", HOLDER).get(url_of(dossier)).json()["state"] == "draft"
        assert pins(world, dossier) == []
        assert delete_version(world, document).status_code == 204


class TestASecondSubmission:
    def test_its_failure_releases_its_own_reservations_never_the_first_submissions_pins(
        self, world: World, peers_wrapped: Any
    ) -> None:
        dossier, first_document = attached_draft(world)
        assert submit(world, dossier).status_code == 200
        [(_, first_attempt)] = pins(world, dossier)
        asked = world.as_("funding", DESK).post(f"{url_of(dossier)}/request-supplements", json={
            "message": "Joindre le RIB.", "due_on": (TODAY + timedelta(days=30)).isoformat()})
        assert asked.status_code == 200, asked.text
        second_document = world.create_document(kind="bank_details")
        versions = [first_document["versions"][0]["id"], second_document["versions"][0]["id"]]
        attached = world.as_("funding", HOLDER).patch(url_of(dossier), json={"document_version_ids": versions},
                                                      headers={"If-Match": asked.headers["etag"]})
        assert attached.status_code == 200, attached.text
        peers_wrapped("pin_documents", funding_write(world, dossier, version=Dossier.version + 1))
        assert submit(world, dossier).status_code == 409
        assert pins(world, dossier) == [("confirmed", first_attempt)]
        assert delete_version(world, second_document).status_code == 204
        assert delete_version(world, first_document).status_code == 409


class TestAFailedSubmission:
    @pytest.fixture
    def failing_commit(self, world: World) -> Iterator[Callable[[], None]]:
        """Once armed, the next commit of a transaction that moved a dossier fails (a lost connection, a full
        disk)."""
        engine = world.stack.apps["funding"].state.db.engine.sync_engine
        armed: list[bool] = []
        moving: set[int] = set()

        def seen(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if armed and statement.startswith("UPDATE dossiers SET"):
                moving.add(id(connection))

        def fail(connection: Any) -> None:
            if id(connection) in moving:
                armed.clear()
                moving.clear()
                raise RuntimeError("commit failed")

        event.listen(engine, "after_cursor_execute", seen)
        event.listen(engine, "commit", fail)
        yield lambda: armed.append(True)
        event.remove(engine, "commit", fail)
        event.remove(engine, "after_cursor_execute", seen)

    def test_a_failed_commit_releases_the_reservation(self, world: World, failing_commit: Any) -> None:
        dossier, document = attached_draft(world)
        failing_commit()
        with pytest.raises(RuntimeError, match="commit failed"):  # answered 500; the in-process client re-raises
            submit(world, dossier)
        assert world.as_("funding", HOLDER).get(url_of(dossier)).json()["state"] == "draft"
        assert pins(world, dossier) == []
        assert delete_version(world, document).status_code == 204

    def test_a_reservation_never_released_lapses_and_the_sweep_deletes_it(
        self, world: World, failing_commit: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dossier, document = attached_draft(world)
        failing_commit()
        peers = world.stack.apps["funding"].state.peers

        async def away(**_: Any) -> None:
            raise ConnectionError("projects away")

        monkeypatch.setattr(peers, "release_pins", away)
        with pytest.raises(RuntimeError, match="commit failed"):
            submit(world, dossier)
        [(state, _)] = pins(world, dossier)
        assert state == "reserved"
        assert delete_version(world, document).status_code == 409  # held while it may still be confirmed
        projects = world.stack.apps["projects"]
        clock = projects.state.clock
        assert isinstance(clock, FixedClock)
        clock.advance(seconds=projects.state.settings.pin_reservation_seconds + 1)
        assert world.stack.run(sweep_once, projects.state.db, clock) == 1
        assert pins(world, dossier) == []
        assert delete_version(world, document).status_code == 204


class TestACrashAfterTheCommit:
    @pytest.fixture
    def crashed(self, world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        """A submission committed by a process that died before it confirmed its pins."""
        dossier, _ = attached_draft(world)

        async def died(*_: Any) -> bool:
            return False

        monkeypatch.setattr(pin_saga, "settle_after_commit", died)
        assert submit(world, dossier).status_code == 200
        monkeypatch.undo()
        attempt, step = owed(world, dossier)
        assert step == "confirm" and pins(world, dossier) == [("reserved", attempt)]
        return dossier

    def settle(self, world: World) -> int:
        app = world.stack.apps["funding"]
        settled: int = world.stack.run(pin_saga.settle_pending, app.state.db, app.state.peers)
        return settled

    def test_the_worker_confirms(self, world: World, crashed: dict[str, Any]) -> None:
        app = world.stack.apps["funding"]
        http = httpx.AsyncClient()  # the webhooks' client: no endpoint to call here
        worker = Worker(app.state.db, http, app.state.settings, app.state.clock, app.state.peers)
        try:
            assert world.stack.run(worker.tick) >= 1
        finally:
            world.stack.run(http.aclose)
        attempt, step = owed(world, crashed)
        assert step is None and pins(world, crashed) == [("confirmed", attempt)]
        assert self.settle(world) == 0

    def test_a_reservation_lapsed_meanwhile_is_made_again_then_confirmed(
        self, world: World, crashed: dict[str, Any]
    ) -> None:
        projects = world.stack.apps["projects"]
        projects.state.clock.advance(seconds=projects.state.settings.pin_reservation_seconds + 1)
        assert world.stack.run(sweep_once, projects.state.db, projects.state.clock) == 1
        assert self.settle(world) == 1
        attempt, _ = owed(world, crashed)
        assert pins(world, crashed) == [("confirmed", attempt)]


    def test_a_late_confirmation_never_brings_back_the_pins_a_withdrawal_released(
        self, world: World, crashed: dict[str, Any]
    ) -> None:
        app = world.stack.apps["funding"]

        async def read() -> list[Dossier]:
            async with app.state.db.reader() as session:
                return await repository.owing_pin_steps(session, limit=10)

        [seen] = world.stack.run(read)  # the worker's pass read it, then the holder withdrew
        withdrawn = world.as_("funding", HOLDER).post(f"{url_of(crashed)}/withdraw", json={"reason": "Reporté"})
        assert withdrawn.status_code == 200 and pins(world, crashed) == []
        world.stack.run(pin_saga.settle_after_commit, app.state.db, app.state.peers, seen)
        assert pins(world, crashed) == []


class TestTheDossierLeavesTheFlow:
    def test_a_withdrawal_releases_its_pins(self, world: World) -> None:
        dossier, document = attached_draft(world)
        submitted = submit(world, dossier)
        assert submitted.status_code == 200
        withdrawn = world.as_("funding", HOLDER).post(f"{url_of(dossier)}/withdraw", json={"reason": "Projet reporté"})
        assert withdrawn.status_code == 200, withdrawn.text
        assert pins(world, dossier) == [] and owed(world, dossier)[1] is None
        assert delete_version(world, document).status_code == 204

    def test_inadmissibility_releases_its_pins(self, world: World) -> None:
        dossier, document = attached_draft(world)
        assert submit(world, dossier).status_code == 200
        decided = world.as_("funding", DESK).post(f"{url_of(dossier)}/admissibility",
                                                  json={"decision": "inadmissible", "reason": "Hors territoire"})
        assert decided.status_code == 200, decided.text
        assert pins(world, dossier) == [] and owed(world, dossier)[1] is None
        assert delete_version(world, document).status_code == 204

    def test_a_release_projects_missed_is_done_by_the_worker(self, world: World,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
        dossier, _ = attached_draft(world)
        assert submit(world, dossier).status_code == 200
        peers = world.stack.apps["funding"].state.peers

        async def away(**_: Any) -> None:
            raise ConnectionError("projects away")

        monkeypatch.setattr(peers, "release_pins", away)
        assert world.as_("funding", HOLDER).post(f"{url_of(dossier)}/withdraw",
                                                 json={"reason": "Projet reporté"}).status_code == 200
        assert owed(world, dossier)[1] == "release" and len(pins(world, dossier)) == 1
        monkeypatch.undo()
        app = world.stack.apps["funding"]
        assert world.stack.run(pin_saga.settle_pending, app.state.db, app.state.peers) == 1
        assert pins(world, dossier) == [] and owed(world, dossier)[1] is None
