"""Webhooks against the real processes (`make run`'s, the webhook worker among them), on both databases: an
association's admin registers its endpoint through the gateway; what happens to its dossier reaches it, signed
(checked with the Standard Webhooks reference library); the feed says the same, in the same order."""

import time

from standardwebhooks.webhooks import Webhook

from tests.support.receiver import Receiver
from tests.support.world import PROJECT, org_id
from tests.test_committee_through_gateway import OTHER_HOLDER, Desk, desk  # noqa: F401  (fixture)


def test_the_worker_process_delivers_signed_events(desk: Desk, receiver: Receiver) -> None:  # noqa: F811
    endpoint = desk.json(OTHER_HOLDER, "POST", "/api/v1/webhooks", 201, json={
        "url": receiver.url, "event_types": ["dossier.created", "dossier.withdrawn"]})
    project = desk.json(OTHER_HOLDER, "POST", "/api/v1/projects", 201, json={**PROJECT, "title": "Jardin partagé"})
    programme = desk.json(OTHER_HOLDER, "GET", "/api/v1/programmes", params={"track": "annual"})["items"][0]
    dossier = desk.json(OTHER_HOLDER, "POST", "/api/v1/dossiers", 201, json={
        "programme_id": programme["id"], "project_id": project["id"],
        "funding_plan": [{"funder_id": org_id("ville"), "amount_cents": 300_000}]})
    desk.call(OTHER_HOLDER, "POST", f"/api/v1/dossiers/{dossier['id']}/withdraw", json={"reason": "Reporté."})

    deadline = time.monotonic() + 20
    while len(receiver.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    verified = sorted((Webhook(endpoint["secret"]).verify(body, headers) for headers, body in receiver.requests),
                      key=lambda payload: payload["data"]["sequence"])
    assert [(p["type"], p["data"]["reference"]) for p in verified] == [
        ("dossier.created", dossier["reference"]), ("dossier.withdrawn", dossier["reference"])]
    feed = desk.json(OTHER_HOLDER, "GET", "/api/v1/events", params={"dossier_id": dossier["id"]})["items"]
    assert [event["id"] for event in feed] == [p["data"]["id"] for p in verified]
    log = desk.json(OTHER_HOLDER, "GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries")["items"]
    assert sorted((d["state"], d["last_status"]) for d in log) == [("delivered", 200), ("delivered", 200)]
    desk.call(OTHER_HOLDER, "PATCH", f"/api/v1/webhooks/{endpoint['id']}", etag_of=f"/api/v1/webhooks/{endpoint['id']}",
              json={"state": "disabled"})
