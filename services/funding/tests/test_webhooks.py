"""Webhooks: an organisation's admin registers an endpoint (its secret shown once); the worker delivers the events
its organisation may see, signed as Standard Webhooks asks (checked with the reference library), retries with
backoff, stops on 410, disables the endpoint after a day of failures, logs each attempt, replays on demand; two
workers never send a delivery twice at once. Targets are checked against SSRF."""

import asyncio
import ipaddress
import ssl
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from standardwebhooks.webhooks import Webhook

from common.clock import FixedClock
from services.funding.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.funding.tests.committee_helpers import ok
from services.funding.webhooks import targets as webhook_targets
from services.funding.webhooks.targets import TargetRefused, check_address, delivery_client, networks
from services.funding.webhooks.worker import Worker
from tests.support.receiver import Receiver
from tests.support.stack import problem
from tests.support.tls import contexts
from tests.support.world import DESK, HOLDER, HOLDER_MEMBER, OTHER_HOLDER, World

WEBHOOKS = "/api/v1/webhooks"


def worker_pass(world: World, clock: FixedClock | None = None, workers: int = 1,
                verify: ssl.SSLContext | bool = True) -> int:
    """One pass of `workers` workers at once, as the worker process makes it."""
    app = world.stack.apps["funding"]

    async def passes() -> int:
        async with delivery_client(verify) as http:  # the worker process's own client
            running = [Worker(app.state.db, http, app.state.settings, clock or app.state.clock) for _ in range(workers)]
            return sum(await asyncio.gather(*(worker.tick() for worker in running)))

    return world.stack.run(passes)


def register(world: World, url: str, email: str = HOLDER, **body: Any) -> dict[str, Any]:
    return ok(world.as_("funding", email).post(WEBHOOKS, json={"url": url, **body}), 201)


def deliveries(world: World, endpoint: dict[str, Any], email: str = HOLDER) -> list[dict[str, Any]]:
    return ok(world.as_("funding", email).get(f"{WEBHOOKS}/{endpoint['id']}/deliveries"))["items"]


class TestRegistration:
    def test_the_secret_is_shown_once_and_only_an_admin_registers(self, world: World, receiver: Receiver) -> None:
        endpoint = register(world, receiver.url, description="Notre logiciel de gestion")
        assert endpoint["secret"].startswith("whsec_") and endpoint["state"] == "active"
        read = ok(world.as_("funding", HOLDER).get(f"{WEBHOOKS}/{endpoint['id']}"))
        assert "secret" not in read and read["url"] == receiver.url
        assert world.as_("funding", HOLDER_MEMBER).post(WEBHOOKS, json={"url": receiver.url}).status_code == 403
        assert world.as_("funding", OTHER_HOLDER).get(f"{WEBHOOKS}/{endpoint['id']}").status_code == 404

    @pytest.mark.parametrize("url", [
        "https://10.0.0.8/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/hook",
        "https://[fc00::1]/hook", "https://[::ffff:192.168.1.1]/hook", "http://93.184.216.34/hook",
        "https://user:pass@93.184.216.34/hook", "ftp://93.184.216.34/hook", "https://nowhere.invalid/hook",
        "https://[::1/hook", "https://\u0080x.example/hook",
    ])
    def test_private_targets_credentials_and_plain_http_are_refused(self, world: World, url: str) -> None:
        refused = world.as_("funding", HOLDER).post(WEBHOOKS, json={"url": url})
        assert refused.status_code == 422, refused.text
        assert problem(refused)["code"] in ("webhook_target_refused", "validation_failed")
        assert ok(world.as_("funding", HOLDER).get(WEBHOOKS))["items"] == []

    # Each reaches the desk's own side although it looks like another address: carrier-grade NAT, 6to4 and
    # NAT64 around loopback or metadata, IPv4-mapped loopback, site-local, the clouds' metadata addresses,
    # Teredo around a private client, multicast, unspecified.
    @pytest.mark.parametrize("host", [
        "100.64.0.1", "[2002:7f00:1::]", "[2002:a9fe:a9fe::1]", "[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]",
        "[64:ff9b::a9fe:a9fe]", "[64:ff9b:1::a00:1]", "[fec0::1]", "169.254.169.254", "[fd00:ec2::254]",
        "[2001:0:5db8:d822:0:f227:f5ff:fff5]", "[ff02::1]", "224.0.0.1", "0.0.0.0", "[::]", "[::7f00:1]",
        "255.255.255.255", "198.18.0.1",
    ])
    def test_no_address_that_is_not_globally_routable(self, world: World, host: str) -> None:
        refused = world.as_("funding", HOLDER).post(WEBHOOKS, json={"url": f"https://{host}/hook"})
        assert refused.status_code == 422, refused.text
        body = problem(refused)
        assert body["code"] == "webhook_target_refused"
        [error] = body["errors"]
        assert error["field"] == "body.url" and "not a globally routable address" in error["message"]
        assert ok(world.as_("funding", HOLDER).get(WEBHOOKS))["items"] == []

    def test_a_public_https_target_is_taken(self, world: World) -> None:
        assert register(world, "https://93.184.216.34/hook")["url"] == "https://93.184.216.34/hook"

    def test_the_address_rules(self) -> None:
        loopback = networks(["127.0.0.0/8"])
        check_address(ipaddress.ip_address("127.0.0.1"), loopback)
        check_address(ipaddress.ip_address("93.184.216.34"), [])
        for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.0.1", "::1", "fe80::1",
                        "::ffff:10.0.0.1", "0.0.0.0", "224.0.0.1", "100.127.255.254", "2002:c0a8:101::1",
                        "64:ff9b::c0a8:101", "fec0::1", "fd00:ec2::254", "2001:db8::1", "ff0e::1"):
            with pytest.raises(TargetRefused):
                check_address(ipaddress.ip_address(address), [])
        # What carries a public IPv4 address reaches that address: taken, as are public IPv6 addresses.
        for address in ("::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1",
                        "2606:2800:220:1:248:1893:25c8:1946"):
            check_address(ipaddress.ip_address(address), [])
        # Teredo: refused whatever it carries (2001::/32 is not global), and a private client all the more.
        with pytest.raises(TargetRefused):
            check_address(ipaddress.ip_address("2001:0:5db8:d822:0:f227:5db8:d822"), [])
        # The settings' networks are taken as written: the tests' loopback does not let its other forms in.
        for address in ("::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"):
            with pytest.raises(TargetRefused):
                check_address(ipaddress.ip_address(address), loopback)


class Resolver:
    """The name lookup the worker and the registration use, answering each call with the next answer (the last
    one again when they run out); the address checks, the pinning and the connection stay the real ones."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []
        monkeypatch.setattr(webhook_targets, "lookup", self.lookup)

    async def lookup(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        self.calls.append((host, port))
        return [ipaddress.ip_address(a) for a in self.answers[min(len(self.calls), len(self.answers)) - 1]]


class TestTheAddressConnectedToIsTheAddressChecked:
    def test_a_name_that_resolves_to_a_private_address_at_delivery_is_refused(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Public at registration; then private, or public and private: nothing leaves.
        resolver = Resolver(monkeypatch, ["93.184.216.34"], ["10.0.0.8"], ["93.184.216.34", "169.254.169.254"])
        endpoint = register(world, "https://partner.example/hook")
        world.create_dossier()
        clock = world.stack.apps["funding"].state.clock
        for refused in ("10.0.0.8", "169.254.169.254"):
            worker_pass(world, clock)
            [delivery] = deliveries(world, endpoint)
            assert delivery["state"] == "pending" and delivery["last_status"] is None
            assert delivery["last_error"] == f"target refused: {refused} is not a globally routable address"
            clock.advance(seconds=6 * 60)
        assert resolver.calls == [("partner.example", 443)] * 3

    def test_a_name_rebound_after_the_check_is_not_followed(
        self, world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The same port on another loopback address: were the name looked up again after its check, the
        # rebound answer (127.0.0.2) would take the request there.
        rebound = Receiver("127.0.0.2", receiver.port)
        try:
            resolver = Resolver(monkeypatch, ["127.0.0.1"], ["127.0.0.1"], ["127.0.0.2"], ["10.0.0.8"])
            url = f"http://partner.example:{receiver.port}/hook"
            endpoint = register(world, url)
            world.create_dossier()
            worker_pass(world)
            assert len(resolver.calls) == 2  # the registration's check, the delivery's: once each
            [(headers, _)] = receiver.requests
            assert headers["host"] == f"partner.example:{receiver.port}" and rebound.requests == []
            assert deliveries(world, endpoint)[0]["state"] == "delivered"
            # The next delivery looks the name up afresh and goes where that answer, checked, points.
            world.create_dossier()
            worker_pass(world)
            [(headers, _)] = rebound.requests
            assert headers["host"] == f"partner.example:{receiver.port}" and len(receiver.requests) == 1
            # And an answer that fails the check sends nothing anywhere.
            world.create_dossier()
            worker_pass(world)
            assert (len(receiver.requests), len(rebound.requests)) == (1, 1)
            assert len(resolver.calls) == 4
        finally:
            rebound.stop()

    def test_over_https_the_pinned_address_is_named_by_sni_and_its_certificate_checked_for_the_name(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        server, client = contexts("partner.example")
        partner = Receiver(tls=server)
        try:
            Resolver(monkeypatch, ["127.0.0.1"])
            endpoint = register(world, f"https://partner.example:{partner.port}/hook")
            # The certificate names partner.example, not 127.0.0.1: it passes only if checked against the name.
            impostor = register(world, f"https://impostor.example:{partner.port}/hook", email=DESK)
            world.create_dossier()
            worker_pass(world, verify=client)
            [(headers, _)] = partner.requests
            assert headers["host"] == f"partner.example:{partner.port}"
            assert "partner.example" in partner.server_names and "impostor.example" in partner.server_names
            assert deliveries(world, endpoint)[0]["state"] == "delivered"
            refused = deliveries(world, impostor, email=DESK)[0]
            assert refused["state"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in refused["last_error"]
        finally:
            partner.stop()

    def test_a_redirect_is_not_followed_and_is_a_failed_attempt(self, world: World, receiver: Receiver) -> None:
        internal = Receiver("127.0.0.2")
        try:
            receiver.statuses, receiver.location = [302], internal.url
            endpoint = register(world, receiver.url)
            world.create_dossier()
            worker_pass(world)
            assert len(receiver.requests) == 1 and internal.requests == []
            [delivery] = deliveries(world, endpoint)
            assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == ("pending", 1, 302)
        finally:
            internal.stop()


class TestDelivery:
    def test_signed_events_its_organisation_may_see_from_its_registration_on(
        self, world: World, receiver: Receiver
    ) -> None:
        before = world.create_dossier()
        endpoint = register(world, receiver.url)
        other = Receiver()
        try:
            register(world, other.url, email=OTHER_HOLDER)
            dossier = world.submit(world.create_dossier())
            assert worker_pass(world) > 0
            assert other.requests == []  # another association sees nothing of this one
        finally:
            other.stop()
        # Delivered side by side, in no set order: each carries its sequence for the partner to order them.
        types = sorted((payload["type"], payload["data"]["dossier_id"]) for payload in receiver.payloads())
        assert types == [("dossier.created", dossier["id"]), ("dossier.submitted", dossier["id"])]
        assert before["id"] not in {dossier_id for _, dossier_id in types}
        headers, body = next(request for request in receiver.requests if b"dossier.submitted" in request[1])
        payload = Webhook(endpoint["secret"]).verify(body, headers)
        assert payload["data"]["reference"] == dossier["reference"]
        assert headers["webhook-id"] == payload["data"]["id"]
        log = deliveries(world, endpoint)
        assert {(d["state"], d["attempts"], d["last_status"]) for d in log} == {("delivered", 1, 200)}
        assert all(d["last_latency_ms"] >= 0 for d in log)
        assert worker_pass(world) == 0  # nothing sent twice

    def test_only_the_types_asked_for(self, world: World, receiver: Receiver) -> None:
        register(world, receiver.url, event_types=["dossier.submitted"])
        world.submit(world.create_dossier())
        worker_pass(world)
        assert [payload["type"] for payload in receiver.payloads()] == ["dossier.submitted"]

    def test_the_desk_receives_every_event(self, world: World, receiver: Receiver) -> None:
        register(world, receiver.url, email=DESK)
        world.create_dossier(OTHER_HOLDER)
        world.create_dossier()
        worker_pass(world)
        assert len(receiver.requests) == 2

    def test_an_idle_pass_writes_nothing_even_behind_events_its_endpoint_may_not_see(
        self, world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        database = world.stack.apps["funding"].state.db
        writes: list[bool] = []
        transaction = database.transaction

        def counted(*, write: bool = True) -> Any:
            writes.append(write)
            return transaction(write=write)

        monkeypatch.setattr(database, "transaction", counted)
        register(world, receiver.url, email=OTHER_HOLDER)
        world.submit(world.create_dossier())  # HOLDER's events: the other association's endpoint may not see them
        writes.clear()
        assert worker_pass(world) == 0 and True in writes  # its cursor moves past them, once
        writes.clear()
        assert worker_pass(world) == 0 and writes == [False]  # then one read, and no write lock taken
        world.create_dossier(OTHER_HOLDER)
        assert worker_pass(world) > 0 and [p["type"] for p in receiver.payloads()] == ["dossier.created"]

    def test_two_workers_never_send_a_delivery_twice(self, world: World, receiver: Receiver) -> None:
        register(world, receiver.url)
        for _ in range(3):
            world.submit(world.create_dossier())
        worker_pass(world, workers=3)
        worker_pass(world, workers=3)
        ids = [headers["webhook-id"] for headers, _ in receiver.requests]
        assert len(ids) == 6 and len(set(ids)) == 6


class TestFailures:
    def test_retries_back_off_then_a_day_of_failures_disables_the_endpoint(
        self, world: World, receiver: Receiver, clock: FixedClock
    ) -> None:
        endpoint = register(world, receiver.url)
        world.create_dossier()
        receiver.statuses = [500] * 20
        worker_pass(world)
        [delivery] = deliveries(world, endpoint)
        assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == ("pending", 1, 500)
        worker_pass(world)
        assert len(receiver.requests) == 1  # not before its time
        for wait in (timedelta(seconds=6), timedelta(minutes=6), timedelta(minutes=31), timedelta(hours=3),
                     timedelta(hours=6), timedelta(hours=11), timedelta(hours=11)):
            clock.advance(seconds=wait.total_seconds())
            worker_pass(world)
        # Eight attempts over more than a day: the delivery has failed, the endpoint is disabled.
        assert len(receiver.requests) == 8
        assert deliveries(world, endpoint)[0]["state"] == "failed"
        read = ok(world.as_("funding", HOLDER).get(f"{WEBHOOKS}/{endpoint['id']}"))
        assert (read["state"], read["disabled_reason"]) == ("disabled", "failing")
        feed = ok(world.as_("funding", HOLDER).get("/api/v1/events", params={"type": ["webhook.disabled"]}))
        assert [event["subject_id"] for event in feed["items"]] == [endpoint["id"]]
        detail = ok(world.as_("funding", HOLDER).get(f"{WEBHOOKS}/{endpoint['id']}/deliveries/{delivery['id']}"))
        assert [attempt["status"] for attempt in detail["log"]] == [500] * 8
        world.create_dossier()
        worker_pass(world)
        assert len(receiver.requests) == 8  # a disabled endpoint is sent nothing
        # Back in service: what waited goes out, and the failed delivery once replayed.
        etag = world.as_("funding", HOLDER).get(f"{WEBHOOKS}/{endpoint['id']}").headers["etag"]
        ok(world.as_("funding", HOLDER).patch(f"{WEBHOOKS}/{endpoint['id']}", json={"state": "active"},
                                              headers={"If-Match": etag}))
        receiver.statuses = []
        ok(world.as_("funding", HOLDER).post(f"{WEBHOOKS}/{endpoint['id']}/deliveries/{delivery['id']}/replay"))
        worker_pass(world)
        assert {d["state"] for d in deliveries(world, endpoint)} == {"delivered"}
        # The replayed event, and what happened meanwhile, its own disabling and return included (sent side by
        # side: in no set order).
        assert sorted(payload["type"] for payload in receiver.payloads()[8:]) == [
            "dossier.created", "dossier.created", "webhook.active", "webhook.disabled"]

    def test_410_stops_at_once_and_disables_the_endpoint(self, world: World, receiver: Receiver) -> None:
        endpoint = register(world, receiver.url)
        world.create_dossier()
        receiver.statuses = [410]
        worker_pass(world)
        [delivery] = deliveries(world, endpoint)
        assert (delivery["state"], delivery["last_status"]) == ("stopped", 410)
        read = ok(world.as_("funding", HOLDER).get(f"{WEBHOOKS}/{endpoint['id']}"))
        assert (read["state"], read["disabled_reason"]) == ("disabled", "gone")
        world.create_dossier()
        worker_pass(world)
        assert len(receiver.requests) == 1

    def test_a_replay_sends_the_same_message_again(self, world: World, receiver: Receiver) -> None:
        endpoint = register(world, receiver.url)
        world.create_dossier()
        worker_pass(world)
        [delivery] = deliveries(world, endpoint)
        replayed = ok(world.as_("funding", HOLDER).post(
            f"{WEBHOOKS}/{endpoint['id']}/deliveries/{delivery['id']}/replay"))
        assert replayed["state"] == "pending"
        worker_pass(world)
        assert [h["webhook-id"] for h, _ in receiver.requests] == [receiver.requests[0][0]["webhook-id"]] * 2
        assert world.as_("funding", OTHER_HOLDER).post(
            f"{WEBHOOKS}/{endpoint['id']}/deliveries/{delivery['id']}/replay").status_code == 404


class TestRotation:
    def test_both_secrets_sign_during_a_rotation(self, world: World, receiver: Receiver) -> None:
        endpoint = register(world, receiver.url)
        rotated = ok(world.as_("funding", HOLDER).post(f"{WEBHOOKS}/{endpoint['id']}/rotate-secret"))
        assert rotated["secret"] != endpoint["secret"] and rotated["previous_secret_expires_at"]
        world.create_dossier()
        worker_pass(world)
        [(headers, body)] = receiver.requests
        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (endpoint["secret"], rotated["secret"]):
            assert Webhook(secret).verify(body, headers)["type"] == "dossier.created"


def _stored(world: World, endpoint_id: str) -> tuple[int, int, int]:
    """(endpoints, deliveries, attempts) stored for the endpoint."""

    async def count(session: Any) -> tuple[int, int, int]:
        endpoint = uuid.UUID(endpoint_id)
        deliveries = select(col(WebhookDelivery.id)).where(col(WebhookDelivery.endpoint_id) == endpoint)
        return (
            (await session.execute(select(func.count()).where(col(WebhookEndpoint.id) == endpoint))).scalar_one(),
            (await session.execute(select(func.count()).select_from(deliveries.subquery()))).scalar_one(),
            (await session.execute(select(func.count()).where(col(WebhookAttempt.delivery_id).in_(deliveries))))
            .scalar_one(),
        )

    async def read() -> tuple[int, int, int]:
        async with world.stack.apps["funding"].state.db.transaction(write=False) as session:
            return await count(session)

    return world.stack.run(read)


class TestDeletion:
    def test_deleted_it_is_gone_with_its_log_and_nothing_waiting_is_sent(
        self, world: World, receiver: Receiver, clock: FixedClock
    ) -> None:
        endpoint = register(world, receiver.url)
        kept = register(world, receiver.url, description="l'autre")
        world.create_dossier()
        receiver.statuses = [500, 500]  # both fail once: a delivery waits for its retry on each
        worker_pass(world)
        assert _stored(world, endpoint["id"]) == (1, 1, 1)
        admin = world.as_("funding", HOLDER)
        etag = admin.get(f"{WEBHOOKS}/{endpoint['id']}").headers["etag"]
        assert admin.delete(f"{WEBHOOKS}/{endpoint['id']}", headers={"If-Match": etag}).status_code == 204
        assert _stored(world, endpoint["id"]) == (0, 0, 0)
        assert problem(admin.get(f"{WEBHOOKS}/{endpoint['id']}"))["code"] == "not_found"
        assert admin.get(f"{WEBHOOKS}/{endpoint['id']}/deliveries").status_code == 404
        assert [item["id"] for item in ok(admin.get(WEBHOOKS))["items"]] == [kept["id"]]
        sent = len(receiver.requests)
        clock.advance(seconds=3600)  # past the retry delay
        worker_pass(world)
        assert len(receiver.requests) == sent + 1  # the kept endpoint's retry only
        assert admin.delete(f"{WEBHOOKS}/{endpoint['id']}", headers={"If-Match": etag}).status_code == 404

    def test_only_its_admin_with_a_current_if_match_deletes_it(self, world: World, receiver: Receiver) -> None:
        endpoint = register(world, receiver.url)
        url = f"{WEBHOOKS}/{endpoint['id']}"
        admin = world.as_("funding", HOLDER)
        etag = admin.get(url).headers["etag"]
        missing = admin.delete(url)
        assert missing.status_code == 428 and problem(missing)["code"] == "precondition_required"
        assert admin.delete(url, headers={"If-Match": '"999"'}).status_code == 412
        assert world.as_("funding", HOLDER_MEMBER).delete(url, headers={"If-Match": etag}).status_code == 403
        assert world.as_("funding", OTHER_HOLDER).delete(url, headers={"If-Match": etag}).status_code == 404
        assert _stored(world, endpoint["id"]) == (1, 0, 0)

    def test_a_worker_that_had_leased_its_delivery_goes_on_without_it(self, world: World, receiver: Receiver) -> None:
        """Deleted between the worker's lease and its send, or during the send: no error, no attempt logged."""
        endpoint = register(world, receiver.url)
        world.create_dossier()
        app = world.stack.apps["funding"]

        async def lease() -> list[uuid.UUID]:
            async with delivery_client(True) as http:
                worker = Worker(app.state.db, http, app.state.settings, app.state.clock)
                for endpoint_id in await worker._lease_endpoints():
                    await worker._fan_out(endpoint_id)
                return await worker._lease_deliveries()

        async def go_on(delivery_id: uuid.UUID) -> int:
            async with delivery_client(True) as http:
                worker = Worker(app.state.db, http, app.state.settings, app.state.clock)
                await worker._send(delivery_id)
                await worker._record(delivery_id, 200, None, 1)
                return await worker._fan_out(uuid.UUID(endpoint["id"]))

        [delivery_id] = world.stack.run(lease)
        admin = world.as_("funding", HOLDER)
        etag = admin.get(f"{WEBHOOKS}/{endpoint['id']}").headers["etag"]
        assert admin.delete(f"{WEBHOOKS}/{endpoint['id']}", headers={"If-Match": etag}).status_code == 204
        assert world.stack.run(go_on, delivery_id) == 0
        assert receiver.requests == []
        assert _stored(world, endpoint["id"]) == (0, 0, 0)
