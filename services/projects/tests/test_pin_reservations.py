"""A submission's pins are a reservation (docs/architecture.md, "A submission across two services"): reserved for
a submission attempt until funding confirms them, released when the submission failed or the dossier left the
flow, lapsed when nobody confirmed them; a lapsed reservation never blocks a deletion."""

import asyncio
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import col

from common.clock import FixedClock
from services.projects.documents.pin_sweep import sweep_once, with_pin_sweep
from services.projects.models import DocumentPin
from services.projects.tests.test_documents import DOCUMENTS, PINS, created
from tests.support.stack import problem
from tests.support.world import HOLDER, World, org_id

CONFIRM, RELEASE = f"{PINS}/confirm", f"{PINS}/release"


def reserve(world: World, version_id: str, dossier: str, attempt: str | None) -> dict[str, Any]:
    body = {"organisation_id": org_id("blosne-avenir"), "dossier_id": dossier, "version_ids": [version_id],
            "attempt_id": attempt}
    response = world.as_service("projects").post(PINS, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def confirm(world: World, version_id: str, dossier: str, attempt: str) -> Any:
    return world.as_service("projects").post(
        CONFIRM, json={"dossier_id": dossier, "attempt_id": attempt, "version_ids": [version_id]}
    )


def release(world: World, dossier: str, attempt: str | None) -> Any:
    return world.as_service("projects").post(RELEASE, json={"dossier_id": dossier, "attempt_id": attempt})


def delete(world: World, document_id: str, version_id: str) -> Any:
    api = world.as_("projects", HOLDER)
    etag = api.get(f"{DOCUMENTS}/{document_id}").headers["etag"]
    return api.delete(f"{DOCUMENTS}/{document_id}/versions/{version_id}", headers={"If-Match": etag})


def lapse(world: World) -> FixedClock:
    """Projects' clock moved past any reservation made now."""
    app = world.stack.apps["projects"]
    clock = app.state.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=app.state.settings.pin_reservation_seconds + 1)
    return clock


@pytest.fixture
def version(world: World) -> tuple[str, str]:
    document, _ = created(world.as_("projects", HOLDER))
    return document["id"], document["current_version"]["id"]


def ids() -> tuple[str, str]:
    return str(uuid.uuid4()), str(uuid.uuid4())


class TestAReservation:
    def test_it_holds_the_version_until_it_lapses_then_never_blocks_its_deletion(
        self, world: World, version: tuple[str, str]
    ) -> None:
        document_id, version_id = version
        dossier, attempt = ids()
        reserve(world, version_id, dossier, attempt)
        refused = delete(world, document_id, version_id)
        assert refused.status_code == 409 and problem(refused)["code"] == "document_version_pinned"
        lapse(world)  # no sweep ran: the deletion itself skips the lapsed reservation
        assert delete(world, document_id, version_id).status_code == 204

    def test_the_sweep_deletes_lapsed_reservations_only(self, world: World, version: tuple[str, str]) -> None:
        _, version_id = version
        (lapsing, attempt), (kept, kept_attempt) = ids(), ids()
        reserve(world, version_id, lapsing, attempt)
        reserve(world, version_id, kept, kept_attempt)
        assert confirm(world, version_id, kept, kept_attempt).status_code == 200
        app = world.stack.apps["projects"]
        assert world.stack.run(sweep_once, app.state.db, app.state.clock) == 0  # not yet
        clock = lapse(world)
        assert world.stack.run(sweep_once, app.state.db, clock) == 1
        read = world.as_("projects", HOLDER).get(f"{DOCUMENTS}/{version[0]}").json()
        assert read["current_version"]["pinned_by_dossiers"] == [kept]

    def test_the_apps_lifespan_runs_the_sweep(self, world: World, version: tuple[str, str]) -> None:
        _, version_id = version
        dossier, attempt = ids()
        reserve(world, version_id, dossier, attempt)
        projects = world.stack.apps["projects"]
        app = FastAPI()  # the projects app's database and clock, with a sweep of its own that runs often
        app.state.db, app.state.clock = projects.state.db, lapse(world)
        with_pin_sweep(app, 0.01)

        async def held() -> int:
            async with app.state.db.reader() as session:
                statement = select(func.count()).select_from(DocumentPin).where(
                    col(DocumentPin.dossier_id) == uuid.UUID(dossier))
                return int((await session.execute(statement)).scalar_one())

        async def live() -> int:
            async with app.router.lifespan_context(app):
                for _ in range(500):  # until a pass ran: a few at most
                    await asyncio.sleep(0.01)
                    if not await held():
                        break
            return await held()

        assert world.stack.run(live) == 0

    def test_a_new_attempt_of_the_same_dossier_takes_over_its_reservation(
        self, world: World, version: tuple[str, str]
    ) -> None:
        document_id, version_id = version
        dossier, first = ids()
        second = str(uuid.uuid4())
        reserve(world, version_id, dossier, first)
        reserve(world, version_id, dossier, second)
        assert release(world, dossier, first).json()["count"] == 0  # the first attempt holds nothing any more
        assert confirm(world, version_id, dossier, second).json()["count"] == 1
        lapse(world)
        assert delete(world, document_id, version_id).status_code == 409


class TestConfirmation:
    def test_a_confirmed_pin_never_lapses_and_confirming_again_is_harmless(
        self, world: World, version: tuple[str, str]
    ) -> None:
        document_id, version_id = version
        dossier, attempt = ids()
        reserve(world, version_id, dossier, attempt)
        first = confirm(world, version_id, dossier, attempt)
        assert first.status_code == 200, first.text
        assert first.json() == {"dossier_id": dossier, "attempt_id": attempt, "count": 1}
        assert confirm(world, version_id, dossier, attempt).json()["count"] == 0
        lapse(world)
        assert delete(world, document_id, version_id).status_code == 409

    def test_a_reservation_swept_before_its_confirmation_is_lost(
        self, world: World, version: tuple[str, str]
    ) -> None:
        _, version_id = version
        dossier, attempt = ids()
        reserve(world, version_id, dossier, attempt)
        app = world.stack.apps["projects"]
        world.stack.run(sweep_once, app.state.db, lapse(world))
        lost = confirm(world, version_id, dossier, attempt)
        assert lost.status_code == 409 and problem(lost)["code"] == "pins_lost"
        assert problem(lost)["lost_version_ids"] == [version_id]


class TestRelease:
    def test_an_attempt_releases_its_reservations_never_an_earlier_confirmed_pin(
        self, world: World, version: tuple[str, str]
    ) -> None:
        api = world.as_("projects", HOLDER)
        other, _ = created(api, kind="bank_details")
        document_id, version_id = version
        dossier, first = ids()
        reserve(world, version_id, dossier, first)
        assert confirm(world, version_id, dossier, first).status_code == 200
        second = str(uuid.uuid4())
        reserve(world, other["current_version"]["id"], dossier, second)
        reserve(world, version_id, dossier, second)  # already confirmed: stays so
        released = release(world, dossier, second)
        assert released.status_code == 200 and released.json()["count"] == 1
        assert delete(world, other["id"], other["current_version"]["id"]).status_code == 204
        assert delete(world, document_id, version_id).status_code == 409
        assert release(world, dossier, second).json()["count"] == 0

    def test_a_dossier_leaving_the_flow_releases_every_pin(self, world: World, version: tuple[str, str]) -> None:
        document_id, version_id = version
        dossier, attempt = ids()
        reserve(world, version_id, dossier, attempt)
        confirm(world, version_id, dossier, attempt)
        assert release(world, dossier, None).json()["count"] == 1
        assert delete(world, document_id, version_id).status_code == 204


class TestWhoMayCall:
    @pytest.mark.parametrize("path", [CONFIRM, RELEASE])
    def test_people_and_other_scopes_are_refused(self, world: World, path: str) -> None:
        body = {"dossier_id": str(uuid.uuid4()), "attempt_id": str(uuid.uuid4()), "version_ids": [str(uuid.uuid4())]}
        if path == RELEASE:
            del body["version_ids"]
        assert world.as_("projects", HOLDER).post(path, json=body).status_code == 403
        assert world.as_service("projects", "projects:read").post(path, json=body).status_code == 403

    @pytest.mark.parametrize("body", [
        {"dossier_id": "x", "attempt_id": None, "version_ids": []},
        {"attempt_id": str(uuid.uuid4())},
        {"dossier_id": str(uuid.uuid4()), "attempt_id": str(uuid.uuid4()), "version_ids": [], "extra": 1},
    ], ids=["malformed", "no-dossier", "unknown-field"])
    def test_bad_bodies_are_422(self, world: World, body: dict[str, Any]) -> None:
        for path in (CONFIRM, RELEASE):
            response = world.as_service("projects").post(path, json=body)
            assert response.status_code == 422, (path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
