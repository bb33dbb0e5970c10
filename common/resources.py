"""The HTTP side of a versioned resource, written once for every room's router.

- `change_route` / `move_route`: the typed OpenAPI preset of a route that changes a resource (its answer model, its
  problems, its If-Match header), unpacked into the route decorator.
- `resource` / `locked_resource`: load-or-404 as a dependency (`CurrentPayment = Annotated[Payment,
  resource(...)]`, as Netflix/dispatch does), the locked one checking If-Match against the row it locked.
- `answer` / `with_etag`: the answer of a change, and of a read, carrying the resource's `ETag`.

A room keeps its own rules (who sees what, what a change means); this module only says how they are spoken.
"""

import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Protocol, TypedDict, TypeVar

from fastapi import Depends, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IDEMPOTENT_CALL, IdempotentCall
from common.problems import problem_responses
from common.tokens import Principal

Row = TypeVar("Row")
Public = TypeVar("Public", bound="Versioned")

# What every change may answer besides its own outcome: a malformed or oversized body, no or a wrong token, an
# invisible resource, an illegal move, a stale ETag, invalid data.
CHANGE_PROBLEMS = (400, 401, 403, 404, 409, 412, 413, 422)
UPSTREAM_PROBLEM = 502
MISSING_IF_MATCH_PROBLEM = 428


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


class RoutePreset(TypedDict):
    """The keyword arguments of `APIRouter.post/patch/put` that a change route shares with its siblings."""

    response_model: Any
    responses: dict[int | str, dict[str, Any]]
    openapi_extra: dict[str, Any]


def _preset(model: type[BaseModel], *, if_match_required: bool, upstream: bool) -> RoutePreset:
    statuses = list(CHANGE_PROBLEMS)
    if if_match_required:
        statuses.append(MISSING_IF_MATCH_PROBLEM)
    if upstream:
        statuses.append(UPSTREAM_PROBLEM)
    return RoutePreset(
        response_model=model,
        responses=problem_responses(*statuses),
        openapi_extra=if_match_parameter(required=if_match_required),
    )


def change_route(model: type[BaseModel], *, upstream: bool = False) -> RoutePreset:
    """An edit of the resource's fields: If-Match is required (428 without it), as a lost update would be silent."""
    return _preset(model, if_match_required=True, upstream=upstream)


def move_route(model: type[BaseModel], *, upstream: bool = False) -> RoutePreset:
    """A move of the resource's state (submit, pay, close): If-Match is optional, as the state machine already
    refuses a move that no longer applies; `upstream` when the move asks another service (502)."""
    return _preset(model, if_match_required=False, upstream=upstream)


def upsert_route(model: type[BaseModel], *, replaced: str, created: str, upstream: bool = False) -> RoutePreset:
    """A PUT that creates the caller's own resource or replaces it (an opinion, a decision, scores): 201 the first
    time, 200 after; If-Match optional while it does not exist, required (428) once it does."""
    statuses = [*CHANGE_PROBLEMS, MISSING_IF_MATCH_PROBLEM] + ([UPSTREAM_PROBLEM] if upstream else [])
    return RoutePreset(
        response_model=model,
        responses={
            **problem_responses(*statuses),
            200: {"description": replaced},
            201: {"description": created, "model": model},
        },
        openapi_extra=if_match_parameter(required=False),
    )


Loader = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[Row]]


def _row_version(row: Any) -> int:
    version: int = row.version
    return version


def _dependency(
    load: Loader[Row],
    *,
    path: str,
    caller: Any,
    if_match: bool | None,
    version_of: Callable[[Row], int],
    description: str | None,
    first: Sequence[Any] = (),
) -> Any:
    async def dependency(**values: Any) -> Row:
        row = await load(values["session"], values["caller"], values[path])
        if if_match is not None:
            check_if_match(values["request"], version_of(row), required=if_match)
        return row

    def keyword(name: str, annotation: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)

    # FastAPI reads a dependency's parameters from its signature, and solves them in its order: the guard first
    # (403 before any load), then what must happen before the load, then the load's own.
    parameters = [keyword("caller", caller)]
    parameters += [keyword(f"first_{index}", Annotated[Any, depends]) for index, depends in enumerate(first)]
    parameters += [
        keyword(path, Annotated[uuid.UUID, Path(description=description)]),
        keyword("request", Request),
        keyword("session", SessionDep),
    ]
    dependency.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    dependency.__name__ = f"load_{path}"
    return Depends(dependency)


def resource(
    load: Loader[Row],
    *,
    path: str,
    caller: Any,
    description: str | None = None,
) -> Any:
    """Load-or-404: `load(session, caller, id)` answers the row the caller may see or raises NotFound. `caller` is
    the route's guard (an `Annotated[Principal, Depends(Authorize(...))]`): FastAPI runs it once for both, and
    before the load, so a caller without the role gets 403 and never learns whether the row exists."""
    return _dependency(load, path=path, caller=caller, if_match=None, version_of=_row_version,
                       description=description)


def locked_resource(
    load: Loader[Row],
    *,
    path: str,
    caller: Any,
    if_match_required: bool,
    version_of: Callable[[Row], int] = _row_version,
    before: Sequence[Any] = (),
    idempotent: bool = True,
    description: str | None = None,
) -> Any:
    """Load-and-lock: `load` locks the row for the request's transaction (`SELECT … FOR UPDATE`), then the
    If-Match header is checked against the version it locked, so no other change slips between check and write.

    What must not run under the lock runs first: the Idempotency-Key's reservation (its own transaction, which on
    SQLite would wait for the request's write lock), then `before` (dependencies such as a call to another
    service)."""
    first = [IDEMPOTENT_CALL] if idempotent else []
    return _dependency(load, path=path, caller=caller, if_match=if_match_required, version_of=version_of,
                       description=description, first=[*first, *before])


def validated_body(model: type[BaseModel], *, optional: bool = False) -> Any:
    """The route's `body`, validated before the row is locked or its If-Match read, for `before=[…]`: FastAPI
    solves a route's dependencies before its own body, so without it a malformed body under a stale If-Match
    would answer 412 instead of 422. FastAPI reads one `body` for the route and this dependency (same name,
    same model), and skips the lock when it is invalid."""

    async def valid_body(**values: Any) -> Any:
        return values["body"]

    body = inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=model | None if optional else model,
                             default=None if optional else inspect.Parameter.empty)
    valid_body.__signature__ = inspect.Signature([body])  # type: ignore[attr-defined]
    return Depends(valid_body)


def with_etag(response: Response, public: Public) -> Public:
    """A read of a versioned resource: its ETag goes in the headers, for the client's next If-Match."""
    response.headers["ETag"] = etag_of(public.version)
    return public


async def answer(
    session: AsyncSession,
    call: IdempotentCall,
    public: Versioned,
    *,
    status_code: int = 200,
    location: str | None = None,
) -> Response:
    """The answer of a change: the resource with its ETag (and its Location when created), stored under the
    caller's Idempotency-Key so that a retry gets these very bytes."""
    await session.flush()  # a failed write answers its problem here, not as a stored idempotent answer
    headers = {"ETag": etag_of(public.version)}
    if location is not None:
        headers["Location"] = location
    return await call.respond(session, status_code=status_code, content=public, headers=headers)
