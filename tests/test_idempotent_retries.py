"""Retries get an answer quickly, on both databases: a failure seen in-process (a failed commit included) frees
the Idempotency-Key at once; a key left by a process that died is taken over after its lease
(`idempotency_lease_seconds`), and until then the 409 says when with `Retry-After`; a call that outlived its
lease cannot store its answer over the call that took it over."""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from jose import jwt
from sqlalchemy import Engine, create_engine, event, func, select
from starlette.requests import Request

from common import idempotency
from common.db import sync_url, utcnow
from tests.support.calls import at_once
from tests.support.stack import HOSTS, METADATA, Api, _schema_args, build_apps, problem
from tests.support.world import HOLDER, PROJECT, World

PROJECTS = "/api/v1/projects"
BODY = PROJECT  # sent as these very bytes, whose hash a hand-made reservation carries
STORED_ANSWER = re.compile(r"^\s*UPDATE\s+\S*idempotency_keys\s+SET\s+status_code", re.IGNORECASE)


class Keys:
    """The projects database's idempotency keys, read and written behind the service's back."""

    def __init__(self, world: World):
        url = world.stack.urls["projects"]
        self.engine: Engine = create_engine(sync_url(url), connect_args=_schema_args(url, "projects"))
        self.table = METADATA["projects"].tables["idempotency_keys"]
        self.projects = METADATA["projects"].tables["projects"]

    def abandon(self, subject: str, key: str, *, age_seconds: float) -> None:
        """A reservation as a process killed mid-call leaves it: no answer, claimed `age_seconds` ago."""
        with self.engine.begin() as connection:
            connection.execute(self.table.insert().values(
                principal=subject, key=key, request_hash=_hash_of(BODY), created_at=utcnow() - timedelta(
                    seconds=age_seconds)))

    def rows(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(self.table)))

    def project_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(self.projects)).scalar_one())


@pytest.fixture
def keys(world: World) -> Iterator[Keys]:
    made = Keys(world)
    yield made
    made.engine.dispose()


def _hash_of(body: dict[str, Any]) -> str:
    """What the guard hashes for `POST /api/v1/projects` with this JSON body (httpx's encoding)."""
    content = httpx.Request("POST", "http://x", json=body).content
    scope = {"type": "http", "method": "POST", "path": PROJECTS, "headers": [], "query_string": b"",
             "server": ("projects.test", 80), "scheme": "http", "root_path": ""}
    return idempotency._request_hash(Request(scope), content)


def _subject(api: Api) -> str:
    assert api.token is not None
    subject: str = jwt.get_unverified_claims(api.token)["sub"]
    return subject


def _create(api: Api, key: str) -> Any:
    return api.post(PROJECTS, json=BODY, headers={"Idempotency-Key": key})


def _ran(answer: Any) -> bool:
    """The call ran for real: created, not replayed."""
    return bool(answer.status_code == 201 and "idempotent-replayed" not in answer.headers)


def test_a_commit_that_fails_frees_the_key_for_an_immediate_retry(world: World, keys: Keys) -> None:
    # The client sees what a 500 answers (the in-process transport would raise the error instead).
    transport = httpx.ASGITransport(app=world.stack.apps["projects"], raise_app_exceptions=False)
    api = Api(world.stack.portal, transport, HOSTS["projects"])
    api.token = world.as_("projects", HOLDER).token
    engine = world.stack.apps["projects"].state.db.engine.sync_engine
    failures: list[str] = []

    # The request's own commit fails once (as a serialization failure or a lost connection would), after the
    # route answered: the transaction that stored the answer is the one refused.
    def stored(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if STORED_ANSWER.match(statement):
            connection.info["answer_stored"] = True

    def commit(connection: Any) -> None:
        if connection.info.pop("answer_stored", False) and not failures:
            failures.append("commit refused")
            raise RuntimeError("could not serialize access due to concurrent update")

    def forget(connection: Any) -> None:
        connection.info.pop("answer_stored", None)

    event.listen(engine, "before_cursor_execute", stored)
    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", forget)
    before = keys.project_count()
    try:
        failed = _create(api, "fails-at-commit")
    finally:
        event.remove(engine, "before_cursor_execute", stored)
        event.remove(engine, "commit", commit)
        event.remove(engine, "rollback", forget)
    assert failures == ["commit refused"]
    assert failed.status_code >= 400 and problem(failed)["code"] != "idempotency_in_progress", failed.text
    assert keys.project_count() == before  # nothing written, the stored answer neither
    assert keys.rows() == []  # the key is free
    retry = _create(api, "fails-at-commit")
    assert _ran(retry), retry.text  # was 409 idempotency_in_progress for 60 s
    assert keys.project_count() == before + 1
    replay = _create(api, "fails-at-commit")
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json() == retry.json()
    world.stack.run(api.client.aclose)


def test_a_key_left_by_a_dead_process_is_busy_with_retry_after_then_taken_over(world: World, keys: Keys) -> None:
    api = world.as_("projects", HOLDER)
    lease = world.stack.settings["projects"].idempotency_lease_seconds
    before = keys.project_count()
    keys.abandon(_subject(api), "crashed", age_seconds=lease - 10)
    busy = _create(api, "crashed")
    assert busy.status_code == 409
    assert problem(busy)["code"] == "idempotency_in_progress"
    assert 1 <= int(busy.headers["retry-after"]) <= 10  # what is left of the lease, never 0
    assert keys.project_count() == before
    with keys.engine.begin() as connection:  # the lease ran out meanwhile
        connection.execute(keys.table.update().values(created_at=utcnow() - timedelta(seconds=lease + 1)))
    taken = _create(api, "crashed")
    assert _ran(taken), taken.text
    assert keys.project_count() == before + 1
    assert _create(api, "crashed").headers.get("idempotent-replayed") == "true"


def test_retries_racing_for_an_abandoned_key_run_it_once(world: World, keys: Keys) -> None:
    api = world.as_("projects", HOLDER)
    lease = world.stack.settings["projects"].idempotency_lease_seconds
    before = keys.project_count()
    keys.abandon(_subject(api), "crashed-once", age_seconds=lease + 1)
    answers = at_once(api, [("POST", PROJECTS, {"json": BODY, "headers": {"Idempotency-Key": "crashed-once"}})] * 8)
    assert sum(_ran(a) for a in answers) == 1, [(a.status_code, a.text[:80]) for a in answers]
    for answer in answers:
        if not _ran(answer):
            assert answer.status_code in (201, 409), answer.text
            if answer.status_code == 409:
                assert int(answer.headers["retry-after"]) >= 1
    assert keys.project_count() == before + 1


def test_a_call_that_outlived_its_lease_does_not_answer_over_the_one_that_took_it(
    world: World, keys: Keys, monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = world.as_("projects", HOLDER)
    reserve = idempotency._reserve

    async def then_taken_over(*args: Any) -> datetime:
        claimed_at = await reserve(*args)
        # While this call is still running, its lease ends and a retry takes the key over (a later lease start).
        with keys.engine.begin() as connection:
            connection.execute(keys.table.update().values(created_at=claimed_at + timedelta(seconds=30)))
        return claimed_at

    monkeypatch.setattr(idempotency, "_reserve", then_taken_over)
    before = keys.project_count()
    late = _create(api, "outlived")
    assert late.status_code == 409 and problem(late)["code"] == "idempotency_in_progress", late.text
    assert late.headers["retry-after"] == "1"
    assert keys.project_count() == before  # rolled back: the retry that took the key over makes the project
    [row] = keys.rows()
    assert row.status_code is None  # the taker's reservation is left as it is, neither answered nor released


def test_the_lease_setting_is_honoured(world: World, keys: Keys) -> None:
    apps, transport = build_apps(world.stack.settings, idempotency_lease_seconds=300)
    api = Api(world.stack.portal, transport, HOSTS["projects"])
    api.token = world.as_("projects", HOLDER).token
    try:
        keys.abandon(_subject(api), "long-lease", age_seconds=100)  # over with the default lease, not this one
        busy = _create(api, "long-lease")
        assert busy.status_code == 409, busy.text
        assert 190 <= int(busy.headers["retry-after"]) <= 200
    finally:
        async def close() -> None:
            await api.client.aclose()
            for app in apps.values():
                await app.state.http.aclose()
                await app.state.db.dispose()

        world.stack.run(close)
    taken = _create(world.as_("projects", HOLDER), "long-lease")  # the stack's apps keep the default lease
    assert world.stack.settings["projects"].idempotency_lease_seconds < 100
    assert _ran(taken), taken.text
