"""The gateway's readiness: a background task looks at each service's /readyz at an interval and keeps what it
saw; /readyz answers from that view at once, so a hanging service costs the probe its short timeout, never the
caller (it once took 16 s while funding hung)."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiohttp

from common.clock import Clock
from common.problems import Problem, Text
from common.tasks import cancel_and_wait
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams

log = logging.getLogger("gateway.readiness")
SERVICES = ("identity", "projects", "funding")
ServiceState = Literal["ready", "not_ready", "timeout", "unreachable"]


@dataclass(frozen=True)
class View:
    """What the last look saw, and when (the clock's time, UTC); which services count as failing: those never
    seen ready, and those that failed the last `failures_to_fail` looks in a row (one late answer from a busy
    event loop is not an outage)."""

    services: dict[str, ServiceState]
    checked_at: datetime
    failing: list[str]


class NotReady(Problem):
    status, code, title = 503, "not_ready", Text("Service indisponible", "Service unavailable")


class Readiness:
    def __init__(self, upstreams: Upstreams, settings: GatewaySettings, clock: Clock | None = None):
        self.upstreams = upstreams
        self.settings = settings
        self.clock = clock or Clock()
        self.view: View | None = None
        self._task: asyncio.Task[None] | None = None
        # Failed looks in a row per service; None until it was first seen ready.
        self._failures: dict[str, int | None] = dict.fromkeys(SERVICES)

    async def probe(self) -> View:
        """One look at every service, in parallel, each bounded by the probe timeout; kept as the view."""
        states = dict(zip(SERVICES, await asyncio.gather(*(self._probe(service) for service in SERVICES)), strict=True))
        for service, state in states.items():
            failures = self._failures[service]
            if state == "ready":
                self._failures[service] = 0
            elif failures is not None:
                self._failures[service] = failures + 1
        threshold = self.settings.readiness_failures_to_fail
        failing = [service for service, failures in self._failures.items() if failures is None or failures >= threshold]
        self.view = View(states, self.clock.now(), failing)
        return self.view

    async def _probe(self, service: str) -> ServiceState:
        url = self.upstreams.base_urls[service] + "/readyz"
        try:
            async with asyncio.timeout(self.settings.readiness_probe_timeout_seconds):
                async with self.upstreams.session(service).get(url, headers={"x-request-id": "readiness"}) as answer:
                    return "ready" if answer.status == 200 else "not_ready"
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError:
            return "unreachable"

    async def _run(self) -> None:
        while True:
            try:
                await self.probe()
            except Exception:  # never let the task die: a dead task would leave a view that only grows stale
                log.exception("readiness probe failed")
            await asyncio.sleep(self.settings.readiness_interval_seconds)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="gateway-readiness")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def answer(self) -> dict[str, Any]:
        """The view as /readyz gives it; 503 `not_ready` naming the failing services, or when the view is missing
        or older than the max age (the probe itself is then stuck or dead)."""
        view = self.view
        retry = {"Retry-After": str(self.settings.upstream_retry_after_seconds)}
        if view is None:
            raise NotReady(Text("Les services n'ont pas encore été interrogés.", "The services were not probed yet."),
                           headers=retry, extra={"services": {}, "failing": list(SERVICES)})
        age = (self.clock.now() - view.checked_at).total_seconds()
        seen = {"services": view.services, "checked_at": view.checked_at.isoformat(), "age_seconds": round(age, 3)}
        if age > self.settings.readiness_max_age_seconds:
            raise NotReady(Text("L'état des services est trop ancien.", "The services' state is stale."),
                           headers=retry, extra={**seen, "failing": list(SERVICES)})
        failing = view.failing
        if failing:
            raise NotReady(Text(f"Services indisponibles : {', '.join(failing)}.",
                                f"Services unavailable: {', '.join(failing)}."),
                           headers=retry, extra={**seen, "failing": failing})
        return {"status": "ready", **seen}
