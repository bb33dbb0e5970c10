"""The webhook worker, its own process: `python -m services.funding.webhooks.worker` (started by `make run` and by
compose). Each pass turns the new events each endpoint may see into deliveries, then sends what is due, signed
as Standard Webhooks asks. A failed attempt is tried again later (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: more
than a day in all); a 410 stops the delivery and disables the endpoint at once; a day of failures disables it
too (an event `webhook.disabled` tells its organisation). Several workers may run: each takes its endpoints and
deliveries on a lease (with FOR UPDATE SKIP LOCKED on PostgreSQL), so no delivery is sent twice at once.
Each pass also settles the document pins a request left owed (`dossiers.pin_saga`): confirmed or released at
projects, twice at worst, which projects takes as once."""

import asyncio
import json
import logging
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from common.app import http_client
from common.clock import Clock, clock_of
from common.db import Database
from services.funding.dossiers import pin_saga
from services.funding.events.outbox import install_outbox
from services.funding.events.schemas import EventPublic
from services.funding.models.webhook import DeliveryState, EndpointState, WebhookAttempt, WebhookDelivery
from services.funding.peers import Peers
from services.funding.settings import FundingSettings
from services.funding.webhooks import worker_repository as repository
from services.funding.webhooks.service import disable, signing_secrets
from services.funding.webhooks.targets import IpNetwork, TargetRefused, delivery_client, networks, pinned

logger = logging.getLogger("funding.webhooks")

RETRY_DELAYS = tuple(timedelta(seconds=s) for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600))
FAILING_LIMIT = timedelta(days=1)
LEASE = timedelta(seconds=60)
BATCH = 20
FAN_OUT_BATCH = 500


class Worker:
    def __init__(
        self, db: Database, http: httpx.AsyncClient, settings: FundingSettings, clock: Clock, peers: Peers | None = None
    ):
        self.db, self.http, self.clock = db, http, clock
        self.peers = peers  # who settles the document pins the requests left owed (none: not this worker's job)
        self.allowed: list[IpNetwork] = networks(settings.webhook_allowed_networks)
        self.timeout = settings.webhook_timeout_seconds
        self.announce_every = settings.webhook_announce_seconds
        self.next_announce = 0.0  # a new worker looks at once
        # SQLite has one writer at a time: its transaction is the lock.
        self.skip_locked = not db.sqlite

    async def tick(self) -> int:
        """One pass: say what time made due or late, fan out, then send what is due; how much was done (0:
        nothing to do)."""
        announced = 0
        announce = time.monotonic() >= self.next_announce
        async with self.db.transaction(write=False) as session:
            waiting = await repository.work_waiting(
                session, now=self.clock.now(), today=self.clock.today(), announce=announce,
                pins=self.peers is not None,
            )
        if announce:
            self.next_announce = time.monotonic() + self.announce_every
        if not waiting:
            return 0
        if announce:
            announced = await self._announce()
        fanned = sum([await self._fan_out(endpoint_id) for endpoint_id in await self._lease_endpoints()])
        leased = await self._lease_deliveries()
        await asyncio.gather(*(self._send(delivery_id) for delivery_id in leased))
        settled = await pin_saga.settle_pending(self.db, self.peers) if self.peers is not None else 0
        return announced + fanned + len(leased) + settled

    async def _announce(self) -> int:
        """The payments whose day has come and the reports now late, each said once (the events payment.due and
        report.overdue: only time changed, no request did)."""
        now, today = self.clock.now(), self.clock.today()
        async with self.db.transaction() as session:
            payments = await repository.unannounced_due_payments(
                session, today=today, limit=FAN_OUT_BATCH, skip_locked=self.skip_locked
            )
            for payment in payments:
                payment.due_announced_at = now
            reports = await repository.unannounced_late_reports(
                session, today=today, limit=FAN_OUT_BATCH, skip_locked=self.skip_locked
            )
            for report in reports:
                report.overdue_announced_at = now
        return len(payments) + len(reports)

    async def _lease_endpoints(self) -> list[uuid.UUID]:
        now = self.clock.now()
        async with self.db.transaction() as session:
            return await repository.lease_endpoints(
                session, now=now, until=now + LEASE, limit=BATCH, skip_locked=self.skip_locked
            )

    async def _fan_out(self, endpoint_id: uuid.UUID) -> int:
        """The events the endpoint's organisation may see since its cursor, of the types it asked for."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            endpoint = await repository.endpoint_by_id(session, endpoint_id)
            if endpoint is None:  # deleted by its admin since it was leased
                return 0
            newest = await repository.newest_event_sequence(session)
            rows = await repository.events_to_fan_out(session, endpoint, up_to=newest, limit=FAN_OUT_BATCH)
            wanted = [row for row in rows if not endpoint.event_types or row.type in endpoint.event_types]
            session.add_all(
                WebhookDelivery(endpoint_id=endpoint.id, event_sequence=row.sequence, event_type=row.type,
                                next_attempt_at=now, created_at=now, updated_at=now)
                for row in wanted
            )
            # Past every event it was shown, or, with the batch not full, past all there were up to `newest`, those
            # it may not see included (sequences are given at commit, in order: none will appear below): an
            # endpoint is behind only while an event it may see waits, which is what `work_waiting` asks.
            endpoint.last_sequence = rows[-1].sequence if len(rows) == FAN_OUT_BATCH else max(
                newest, endpoint.last_sequence
            )
            endpoint.leased_until = None
        return len(wanted)

    async def _lease_deliveries(self) -> list[uuid.UUID]:
        now = self.clock.now()
        async with self.db.transaction() as session:
            return await repository.lease_deliveries(
                session, now=now, until=now + LEASE, limit=BATCH, skip_locked=self.skip_locked
            )

    async def _send(self, delivery_id: uuid.UUID) -> None:
        async with self.db.transaction(write=False) as session:
            delivery = await repository.delivery_by_id(session, delivery_id)
            if delivery is None:  # its endpoint was deleted since it was leased: nobody to send it to
                return
            endpoint = await repository.endpoint_by_id(session, delivery.endpoint_id)
            event = await repository.event_by_sequence(session, delivery.event_sequence)
            if endpoint is None:
                return
            assert event is not None
        body = json.dumps({
            "type": event.type, "timestamp": event.occurred_at.isoformat(),
            "data": EventPublic.model_validate(event, from_attributes=True).model_dump(mode="json"),
        }, ensure_ascii=False, separators=(",", ":"))
        # The signature's time is the wall clock's: it is the receiver's check against replays, not the desk's.
        signed_at = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": str(event.id),
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": " ".join(Webhook(secret).sign(str(event.id), signed_at, body)
                                          for secret in signing_secrets(endpoint, self.clock.now())),
        }
        status, error = None, None
        started = time.perf_counter()
        try:
            # Looked up once, checked, and sent to that very address: the name cannot move in between.
            target = await pinned(endpoint.url, self.allowed)
            answer = await self.http.post(
                target.url, content=body.encode(), headers={**headers, "host": target.host_header},
                extensions=target.extensions, timeout=self.timeout, follow_redirects=False,
            )
            status = answer.status_code
        except TargetRefused as refusal:
            error = f"target refused: {refusal}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:500]
        latency_ms = round((time.perf_counter() - started) * 1000)
        await self._record(delivery_id, status, error, latency_ms)

    async def _record(self, delivery_id: uuid.UUID, status: int | None, error: str | None, latency_ms: int) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            delivery = await repository.delivery_by_id(session, delivery_id, for_update=True)
            if delivery is None:  # deleted with its endpoint while it was being sent: the attempt has no log left
                return
            endpoint = await repository.endpoint_by_id(session, delivery.endpoint_id, for_update=True)
            assert endpoint is not None  # the delivery is locked: its endpoint cannot go before it
            session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=now, status=status,
                                       latency_ms=latency_ms, error=error))
            delivery.attempts += 1
            delivery.last_status, delivery.last_latency_ms, delivery.last_error = status, latency_ms, error
            delivery.leased_until, delivery.updated_at = None, now
            if status is not None and 200 <= status < 300:
                delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.delivered, now, None
                endpoint.failing_since = None
            elif status == 410:  # Gone: the partner says never again
                delivery.state, delivery.next_attempt_at = DeliveryState.stopped, None
                if endpoint.state == EndpointState.active:
                    disable(endpoint, "gone", now)
            else:
                endpoint.failing_since = endpoint.failing_since or now
                if delivery.attempts > len(RETRY_DELAYS):
                    delivery.state, delivery.next_attempt_at = DeliveryState.failed, None
                else:
                    delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
                if now - endpoint.failing_since >= FAILING_LIMIT and endpoint.state == EndpointState.active:
                    disable(endpoint, "failing", now)


def worker_database(settings: FundingSettings) -> Database:
    """The worker's database, on its own small pool (counted in the README's connection budget); with the outbox,
    since disabling an endpoint is an event."""
    return install_outbox(Database(
        settings.database_url, schema=settings.db_schema,
        pool_size=settings.webhook_database_pool_size, max_overflow=settings.webhook_database_max_overflow,
        connect_timeout=settings.database_connect_timeout_seconds,
    ))


async def run(settings: FundingSettings) -> None:
    db = worker_database(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    # The partners' webhooks go through the guarded client; the desk's own services through an ordinary one.
    async with delivery_client() as http, http_client(settings, None) as peers_http:
        worker = Worker(db, http, settings, clock_of(settings.clock_file), Peers(settings, peers_http))
        while not stopping.is_set():
            try:
                busy = await worker.tick()
            except Exception:  # a database restart, say: the next pass tries again
                logger.exception("webhook pass failed")
                busy = 0
            if not busy:
                try:
                    await asyncio.wait_for(stopping.wait(), settings.webhook_poll_seconds)
                except TimeoutError:
                    pass
    await db.dispose()


def main() -> None:
    settings = FundingSettings()
    logging.basicConfig(level=settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
