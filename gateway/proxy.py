"""The pass-through hop, in raw ASGI: request id, early token check, then bytes in, bytes out.

Kept free of FastAPI routing and validation models: they cost about 120 µs per request here.
"""

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
from starlette.types import Receive, Scope, Send

from common.observability import incoming_request_id, request_id_var
from common.problems import PROBLEM_MEDIA_TYPE, PayloadTooLarge, Problem, Text, Unauthorized, problem_body
from common.tokens import Principal, TokenVerifier, bearer_token
from gateway.upstreams import Upstreams, upstream_timeout, upstream_unreachable

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        # What a client says of its own address is not passed on: the gateway writes the address it saw.
        b"x-forwarded-for",
        b"forwarded",
        b"x-real-ip",
    }
)
RESPONSE_SKIPPED = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"te", b"trailer", b"trailers", b"transfer-encoding",
    b"upgrade", b"x-request-id", b"date", b"server",
})  # fmt: skip
# Bodies up to this size are read at once (faster); larger ones are streamed to the upstream.
BUFFERED_BODY_LIMIT = 256 * 1024


def language_of(headers: dict[bytes, bytes]) -> str:
    value = headers.get(b"accept-language", b"").decode("latin-1").lower()
    for part in value.split(","):
        tag = part.split(";")[0].strip()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("fr"):
            return "fr"
    return "fr"


async def send_problem(send: Send, problem: Problem, *, path: str, request_id: str, lang: str) -> None:
    body = json.dumps(
        problem_body(
            status=problem.status,
            code=problem.code,
            title=problem.title.pick(lang),
            detail=problem.detail.pick(lang) if problem.detail else None,
            instance=path,
            request_id=request_id,
            extra=problem.extra,
        ),
        ensure_ascii=False,
    ).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ] + [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Proxy:
    def __init__(self, upstreams: Upstreams, verifier: TokenVerifier, *, max_body_bytes: int):
        self.upstreams = upstreams
        self.verifier = verifier
        self.max_body_bytes = max_body_bytes

    async def check_token(self, headers: dict[bytes, bytes]) -> Principal | None:
        """Reject a bad token before any upstream sees it; anonymous calls go on (the service decides)."""
        authorization = headers.get(b"authorization")
        if authorization is None:
            return None
        token = bearer_token(authorization.decode("latin-1"))
        if token is None:
            raise Unauthorized(Text("En-tête Authorization mal formé.", "Malformed Authorization header."))
        return await self.verifier.verify(token)

    async def forward(
        self, scope: Scope, receive: Receive, send: Send, service: str, request_id: str, client: str
    ) -> None:
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            raise PayloadTooLarge(Text("Requête trop volumineuse.", "Payload too large."))
        body: bytes | AsyncIterator[bytes] | None
        overflow = _Overflow()
        if length is not None and int(length) <= BUFFERED_BODY_LIMIT:
            body = await self._read_body(receive)
        elif length is None and b"transfer-encoding" not in headers:
            body = None
        else:
            body = self._stream_body(receive, overflow)
        url = self.upstreams.base_urls[service] + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        outgoing = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        outgoing.append(("x-request-id", request_id))
        # One entry, the address the gateway vouches for: identity throttles logins by it and takes the last entry
        # from its trusted proxies (IDENTITY_TRUSTED_PROXIES).
        outgoing.append(("x-forwarded-for", client))
        try:
            async with self.upstreams.session(service).request(
                scope["method"], url, headers=outgoing, data=body, allow_redirects=False,
                timeout=self.upstreams.request_timeout(scope["method"], scope["path"]),
            ) as response:
                await self._relay(response, send, request_id)
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors (and some also ClientErrors)
            raise upstream_timeout(service, self.upstreams.settings) from exc
        except aiohttp.ClientError as exc:
            if overflow.seen:
                # The streamed body passed the limit: aiohttp's writer failed on our own refusal, the upstream
                # is fine. Say 413, as for a Content-Length over the limit.
                raise PayloadTooLarge(Text("Requête trop volumineuse.", "Payload too large.")) from exc
            raise upstream_unreachable(service, self.upstreams.settings) from exc

    async def _relay(self, response: aiohttp.ClientResponse, send: Send, request_id: str) -> None:
        headers: list[tuple[bytes, bytes]] = [
            (name.lower(), value) for name, value in response.raw_headers if name.lower() not in RESPONSE_SKIPPED
        ]
        headers.append((b"x-request-id", request_id.encode()))
        if response.content_length is not None and response.content_length <= BUFFERED_BODY_LIMIT:
            # Small answers (nearly all of them) go out in one piece: one write instead of one per chunk.
            body = await response.read()
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _read_body(self, receive: Receive) -> bytes:
        chunks = []
        async for chunk in self._stream_body(receive):
            chunks.append(chunk)
        return b"".join(chunks)

    async def _stream_body(self, receive: Receive, overflow: "_Overflow | None" = None) -> AsyncIterator[bytes]:
        """The body as it arrives, counted: a chunked body says no length, so the limit is checked chunk by chunk
        and the reading stops at the first byte over it."""
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise asyncio.CancelledError
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                if overflow is not None:
                    overflow.seen = True
                raise PayloadTooLarge(Text("Requête trop volumineuse.", "Payload too large."))
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


class _Overflow:
    """Set when a streamed body passes the limit (the refusal surfaces from inside aiohttp as a ClientError)."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen = False


def request_context(scope: Scope) -> tuple[dict[bytes, bytes], str]:
    headers = dict(scope["headers"])
    request_id = incoming_request_id(headers.get(b"x-request-id", b"").decode("latin-1") or None)
    request_id_var.set(request_id)
    return headers, request_id
