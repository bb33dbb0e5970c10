"""Request ids, JSON logs, Prometheus metrics and the body-size limit, as one thin ASGI layer."""

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.json_depth import MAX_JSON_DEPTH, is_json_media_type, nests_deeper_than
from common.problems import (
    PROBLEM_MEDIA_TYPE,
    BadRequest,
    PayloadTooLarge,
    Problem,
    Text,
    problem_body,
    request_language,
)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def incoming_request_id(value: str | None) -> str:
    """Keep the client's id when it is sane, otherwise make one."""
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True  # our access line carries the request id
    logging.getLogger(service).info("logging configured")


class Metrics:
    def __init__(self, service: str):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["service", "method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"],
            registry=self.registry,
        )
        self.service = service


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    # path_format: `/projects/{project_id}`, without the `:uuid` convertor that the matching uses.
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"


async def _send_problem(send: Send, problem: Problem, scope: Scope, request_id: str) -> None:
    """A problem answered by this layer itself, before any route (so before the app's problem handlers)."""
    lang = request_language(Request(scope))
    body = json.dumps(
        problem_body(
            status=problem.status, code=problem.code, title=problem.title.pick(lang),
            detail=problem.detail.pick(lang) if problem.detail else None, instance=scope.get("path", ""),
            request_id=request_id,
        ),
        ensure_ascii=False,
    ).encode()
    await send({
        "type": "http.response.start",
        "status": problem.status,
        "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ],
    })
    await send({"type": "http.response.body", "body": body})


def _too_deep() -> BadRequest:
    return BadRequest(
        Text(
            f"Le JSON de la requête est imbriqué sur plus de {MAX_JSON_DEPTH} niveaux.",
            f"The request's JSON nests deeper than {MAX_JSON_DEPTH} levels.",
        ),
        code="json_too_deep",
    )


def _has_body(headers: dict[bytes, bytes]) -> bool:
    declared = headers.get(b"content-length")
    return b"transfer-encoding" in headers or (declared is not None and declared not in (b"", b"0"))


async def _read_json_body(receive: Receive, max_bytes: int, too_large: Problem) -> tuple[bytes, Problem | None]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: the app will see the same disconnect
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return b"", too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, (_too_deep() if nests_deeper_than(body) else None)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read once more, then whatever the client sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


@dataclass(frozen=True)
class BodyLimit:
    """Another body limit for the requests of one method whose path matches (file uploads)."""

    method: str
    path: re.Pattern[str]
    max_bytes: int


class RequestContextMiddleware:
    """Sets X-Request-ID, limits the body size, logs one JSON line and records metrics per request."""

    def __init__(
        self, app: ASGIApp, *, service: str, metrics: Metrics, max_body_bytes: int,
        body_limits: Sequence[BodyLimit] = (),
    ):
        self.app = app
        self.service = service
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.body_limits = tuple(body_limits)
        self.log = logging.getLogger(f"{service}.access")

    def _limit(self, scope: Scope) -> int:
        method, path = scope.get("method", ""), scope.get("path", "")
        for limit in self.body_limits:
            if limit.method == method and limit.path.fullmatch(path):
                return limit.max_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = incoming_request_id(headers.get(b"x-request-id", b"").decode("latin-1") or None)
        token = request_id_var.set(request_id)
        # Downstream code (problem bodies, outgoing calls) reads the id from the request headers.
        scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k != b"x-request-id"] + [
            (b"x-request-id", request_id.encode())
        ]
        started = time.perf_counter()
        status_holder = {"status": 500}
        max_body_bytes = self._limit(scope)
        too_large = PayloadTooLarge(
            Text(
                f"Le corps de la requête dépasse {max_body_bytes} octets.",
                f"The request body exceeds {max_body_bytes} bytes.",
            )
        )
        try:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
                status_holder["status"] = 413
                await _send_problem(send, too_large, scope, request_id)
                return
            received = 0
            if _has_body(headers) and is_json_media_type(headers.get(b"content-type", b"").decode("latin-1")):
                # A JSON body is read whole here (every route parses it whole anyway) to measure its depth
                # before any parser recurses into it; the app then reads it from `replay`.
                body, refused = await _read_json_body(receive, max_body_bytes, too_large)
                if refused is not None:
                    status_holder["status"] = refused.status
                    await _send_problem(send, refused, scope, request_id)
                    return
                receive = _replay(body, receive)

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > max_body_bytes:
                        # An HTTPException, not our Problem: FastAPI turns any other error raised while it
                        # reads the body into a 400; this one it lets through to the 413 handler.
                        raise HTTPException(413, detail=too_large.detail.fr if too_large.detail else None)
                return message

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_holder["status"] = message["status"]
                    headers = list(message.get("headers", []))
                    headers.append((b"x-request-id", request_id.encode()))
                    # Every answer is read as the type it says (a JSON error is never sniffed into a page).
                    if not any(name == b"x-content-type-options" for name, _ in headers):
                        headers.append((b"x-content-type-options", b"nosniff"))
                    message["headers"] = headers
                await send(message)

            await self.app(scope, limited_receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(self.service, method, route, str(status_holder["status"])).inc()
            self.metrics.latency.labels(self.service, method, route).observe(elapsed)
            self.log.info(
                "request",
                extra={"fields": {
                    "method": method, "path": scope.get("path"), "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                }},
            )
            request_id_var.reset(token)
