"""common.resources and Database.transaction on a tiny app of their own: the guard before the load, 404 for what
the caller may not see, If-Match checked against the locked row, nothing locked before the Idempotency-Key's
reservation or a `before` dependency, and the presets' problems."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.app import _uuid_segments_only
from common.auth import Authorize
from common.db import Database, SessionDep, where_given
from common.idempotency import IdempotencyDep, idempotency_table, install_idempotency
from common.problems import NotFound, Text, install_problem_handlers
from common.resources import (
    answer,
    change_route,
    locked_resource,
    move_route,
    resource,
    validated_body,
    with_etag,
)
from common.tokens import Principal

pytestmark = pytest.mark.anyio

OWNER = uuid.UUID(int=1)
STRANGER = uuid.UUID(int=2)


@dataclass
class Note:
    id: uuid.UUID
    owner: uuid.UUID
    text: str
    version: int = 1


class NotePublic(BaseModel):
    id: uuid.UUID
    text: str
    version: int


class Edit(BaseModel):
    text: str


class Desk:
    """The app's rows, and what happened in which order."""

    def __init__(self) -> None:
        self.notes: dict[uuid.UUID, Note] = {}
        self.trail: list[str] = []

    async def readable(self, _session: AsyncSession, caller: Principal, note_id: uuid.UUID) -> Note:
        self.trail.append("load")
        note = self.notes.get(note_id)
        if note is None or note.owner != caller.organisation_id:
            raise NotFound(Text("Note introuvable.", "Note not found."))
        return note

    async def locked(self, session: AsyncSession, caller: Principal, note_id: uuid.UUID) -> Note:
        self.trail.append("lock")
        return await self.readable(session, caller, note_id)


def principal(role: str, organisation_id: uuid.UUID = OWNER) -> Principal:
    return Principal(subject=f"{role}-{organisation_id}", kind="user", organisation_id=organisation_id,
                     organisation_kind="association", roles=frozenset({role}), scopes=frozenset(), token_id="t",
                     expires_at=0)


class Verifier:
    """A token is "<role>:<organisation int>"."""

    async def verify(self, token: str) -> Principal:
        role, organisation = token.split(":")
        return principal(role, uuid.UUID(int=int(organisation)))


def build(desk: Desk, database: Database) -> FastAPI:
    app = FastAPI()
    app.state.db = database
    app.state.verifier = Verifier()
    install_problem_handlers(app)
    install_idempotency(app, TABLE)
    Writer = Annotated[Principal, Depends(Authorize(roles={"writer"}))]

    async def noted_before() -> None:
        desk.trail.append("before")

    async def reserved(call: IdempotencyDep) -> AsyncIterator[None]:
        desk.trail.append("reserved" if call.key else "no key")
        yield

    CurrentNote = Annotated[Note, resource(desk.readable, path="note_id", caller=Writer)]
    LockedNote = Annotated[Note, locked_resource(
        desk.locked, path="note_id", caller=Writer, if_match_required=True,
        before=[Depends(reserved, scope="function"), Depends(noted_before), validated_body(Edit)],
    )]

    @app.get("/notes/{note_id}")
    async def read(note: CurrentNote, response: Response) -> NotePublic:
        return with_etag(response, NotePublic(id=note.id, text=note.text, version=note.version))

    @app.patch("/notes/{note_id}", **change_route(NotePublic))
    async def edit(body: Edit, note: LockedNote, session: SessionDep, call: IdempotencyDep) -> Response:
        note.text, note.version = body.text, note.version + 1
        desk.trail.append("changed")
        return await answer(session, call, NotePublic(id=note.id, text=note.text, version=note.version))

    _uuid_segments_only(app.router)
    return app


METADATA = MetaData()
TABLE = idempotency_table(METADATA)
KEPT = Table("kept", METADATA, Column("id", Integer, primary_key=True), Column("word", String(20)))


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'resources.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield database
    await database.dispose()


@pytest.fixture
async def client(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Desk]]:
    desk = Desk()
    desk.notes[OWNER] = Note(id=OWNER, owner=OWNER, text="première")
    desk.notes[STRANGER] = Note(id=STRANGER, owner=STRANGER, text="d'un autre")
    transport = httpx.ASGITransport(app=build(desk, database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http, desk


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_guard_answers_before_any_load(client: tuple[httpx.AsyncClient, Desk]) -> None:
    http, desk = client
    assert (await http.get(f"/notes/{uuid.uuid4()}")).status_code == 401
    # A caller without the role learns nothing of the row: 403 for an unknown id as for a real one.
    for note_id in (uuid.uuid4(), OWNER):
        assert (await http.get(f"/notes/{note_id}", headers=bearer("reader:1"))).status_code == 403
    assert desk.trail == []


async def test_a_row_the_caller_may_not_see_is_not_found(client: tuple[httpx.AsyncClient, Desk]) -> None:
    http, _ = client
    for path in (f"/notes/{STRANGER}", f"/notes/{uuid.uuid4()}", "/notes/not-a-uuid"):
        answered = await http.get(path, headers=bearer("writer:1"))
        assert answered.status_code == 404, path
        assert answered.headers["content-type"] == "application/problem+json"


async def test_a_read_carries_the_etag(client: tuple[httpx.AsyncClient, Desk]) -> None:
    http, _ = client
    answered = await http.get(f"/notes/{OWNER}", headers=bearer("writer:1"))
    assert answered.status_code == 200
    assert answered.headers["etag"] == '"1"'
    assert answered.json()["text"] == "première"


async def test_a_change_checks_if_match_against_the_locked_row(client: tuple[httpx.AsyncClient, Desk]) -> None:
    http, desk = client
    url, writer = f"/notes/{OWNER}", bearer("writer:1")
    missing = await http.patch(url, json={"text": "x"}, headers=writer)
    assert missing.status_code == 428
    stale = await http.patch(url, json={"text": "x"}, headers={**writer, "If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == '"1"'
    assert desk.notes[OWNER].text == "première"
    changed = await http.patch(url, json={"text": "seconde"}, headers={**writer, "If-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'
    assert desk.notes[OWNER].text == "seconde"


async def test_nothing_is_locked_before_the_reservation_and_the_before_dependencies(
    client: tuple[httpx.AsyncClient, Desk],
) -> None:
    http, desk = client
    headers = {**bearer("writer:1"), "If-Match": '"1"', "Idempotency-Key": "k-1"}
    first = await http.patch(f"/notes/{OWNER}", json={"text": "seconde"}, headers=headers)
    assert first.status_code == 200
    assert desk.trail == ["reserved", "before", "lock", "load", "changed"]
    replay = await http.patch(f"/notes/{OWNER}", json={"text": "seconde"}, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["etag"] == '"2"'
    assert desk.trail.count("changed") == 1


async def test_a_malformed_body_is_refused_before_the_lock_whatever_its_if_match(
    client: tuple[httpx.AsyncClient, Desk],
) -> None:
    http, desk = client
    for if_match in ('"7"', '"1"'):
        refused = await http.patch(f"/notes/{OWNER}", json={"text": 3}, headers={**bearer("writer:1"),
                                                                               "If-Match": if_match})
        assert refused.status_code == 422, refused.text
    assert "lock" not in desk.trail
    assert desk.notes[OWNER].text == "première"


def test_presets_declare_their_if_match_and_their_problems() -> None:
    change, move, upstream = change_route(NotePublic), move_route(NotePublic), move_route(NotePublic, upstream=True)
    assert change["openapi_extra"]["parameters"][0]["required"] is True
    assert move["openapi_extra"]["parameters"][0]["required"] is False
    assert 428 in change["responses"] and 428 not in move["responses"]
    assert 502 in upstream["responses"] and 502 not in move["responses"]
    assert change["response_model"] is NotePublic


async def test_a_transaction_keeps_its_work_or_none_of_it(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(KEPT.insert().values(id=1, word="gardé"))
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await session.execute(KEPT.insert().values(id=2, word="perdu"))
            raise RuntimeError("the process fails halfway")
    async with database.transaction(write=False) as session:
        words = list((await session.execute(select(KEPT.c.word))).scalars())
    assert words == ["gardé"]


async def test_where_given_narrows_by_the_filters_given_only(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(KEPT.insert(), [{"id": 1, "word": "a"}, {"id": 2, "word": "b"}])
    async with database.transaction(write=False) as session:
        every = (await session.execute(where_given(select(KEPT.c.id), (KEPT.c.word, None)))).scalars().all()
        only_b = (await session.execute(where_given(select(KEPT.c.id), (KEPT.c.word, "b")))).scalars().all()
    assert sorted(every) == [1, 2]
    assert list(only_b) == [2]
