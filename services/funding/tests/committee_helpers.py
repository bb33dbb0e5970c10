"""Helpers for the committee tests: dossiers ready for the committee, sessions planned and opened, decisions."""

from typing import Any

import httpx

from services.funding.tests.helpers import CAF, DEPARTEMENT, METROPOLE, PREFECTURE, PROGRAMME_ID, VILLE, url_of
from tests.support.clock import TODAY
from tests.support.world import CITY_INSTRUCTOR, COMMITTEE_MEMBER, DESK, HOLDER, STATE_INSTRUCTOR, World

SESSIONS = "/api/v1/sessions"
CITY_MEMBER = "comite@ville-rennes.example"
METROPOLE_MANAGER = "direction@rennes-metropole.example"
DEPARTEMENT_MANAGER = "direction@departement35.example"
CAF_MANAGER = "direction@caf35.example"
REGION_MEMBER = "comite@region-bretagne.example"
THIRD_HOLDER = "presidence@jardins-gros-chene.example"
# Who gives each funder's instruction opinion, and who sits for it in session.
INSTRUCTOR_OF = {
    VILLE: CITY_INSTRUCTOR, PREFECTURE: STATE_INSTRUCTOR, METROPOLE: METROPOLE_MANAGER,
    DEPARTEMENT: DEPARTEMENT_MANAGER, CAF: CAF_MANAGER,
}
MEMBER_OF = {
    VILLE: CITY_MEMBER, PREFECTURE: COMMITTEE_MEMBER, METROPOLE: METROPOLE_MANAGER,
    DEPARTEMENT: DEPARTEMENT_MANAGER, CAF: CAF_MANAGER,
}
TWO_FUNDERS: list[dict[str, Any]] = [
    {"funder_id": VILLE, "amount_cents": 1_500_000}, {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
]


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def ok_list(response: httpx.Response, status: int = 200) -> list[dict[str, Any]]:
    """`ok` for an answer that is a JSON list (a history, say)."""
    assert response.status_code == status, response.text
    return response.json()


def ready(world: World, plan: list[dict[str, Any]] | None = None, email: str = HOLDER,
          documents: bool = True, project: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dossier ready for the committee: submitted, admissible, routed to every funder of its plan (all named),
    and each funder's favourable opinion given. `documents=False` when the association's vault already holds
    what admissibility asks."""
    plan = plan or TWO_FUNDERS
    dossier = world.submit(world.create_dossier(email, project=project, plan=plan), email)
    if documents:
        world.provide_required_documents(email)
    desk = world.as_("funding", DESK)
    ok(desk.post(f"{url_of(dossier)}/admissibility", json={"decision": "admissible"}))
    ok(desk.post(f"{url_of(dossier)}/route", json={}))
    for line in plan:
        opinion = {"opinion": "favourable", "proposed_amount_cents": line["amount_cents"]}
        response = world.as_("funding", INSTRUCTOR_OF[line["funder_id"]]).put(
            f"{url_of(dossier)}/opinions/mine", json=opinion
        )
        assert response.status_code == 201, response.text
    read = ok(desk.get(url_of(dossier)))
    assert read["state"] == "ready_for_committee", read
    return read


def create_session(world: World, programme_ids: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    # Held on funding's today, wherever the test moved its clock.
    today = world.stack.apps["funding"].state.clock.today()
    body = {
        "title": "Comité des financeurs", "held_on": today.isoformat(), "place": "Hôtel de Rennes Métropole",
        "programme_ids": programme_ids or [PROGRAMME_ID], **overrides,
    }
    return ok(world.as_("funding", DESK).post(SESSIONS, json=body), 201)


def session_url(session: dict[str, Any]) -> str:
    return f"{SESSIONS}/{session['id']}"


def put_with_etag(world: World, url: str, body: dict[str, Any], email: str = DESK) -> httpx.Response:
    """A desk's PUT under the session's current ETag."""
    api = world.as_("funding", email)
    etag = api.get(url.rsplit("/", 1)[0]).headers["etag"]
    return api.put(url, json=body, headers={"If-Match": etag})


def plan_session(
    world: World, dossiers: list[dict[str, Any]], funders: list[str], programme_ids: list[str] | None = None
) -> dict[str, Any]:
    """A planned session with these funders invited and these dossiers on its agenda, in order."""
    session = create_session(world, programme_ids)
    ok(put_with_etag(world, f"{session_url(session)}/funders", {"funder_ids": funders}))
    agenda = {"items": [{"dossier_id": d["id"], "note": f"Point {n}"} for n, d in enumerate(dossiers, start=1)]}
    return ok(put_with_etag(world, f"{session_url(session)}/agenda", agenda))


def open_session(world: World, session: dict[str, Any], present: list[str]) -> httpx.Response:
    return world.as_("funding", DESK).post(f"{session_url(session)}/open", json={"present_funder_ids": present})


def item_of(session: dict[str, Any], dossier: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in session["items"] if item["dossier_id"] == dossier["id"])


def decision_url(session: dict[str, Any], item: dict[str, Any]) -> str:
    return f"{session_url(session)}/items/{item['id']}/decisions/mine"


def decide(world: World, session: dict[str, Any], dossier: dict[str, Any], funder: str, granted: int,
           email: str | None = None, **extra: Any) -> httpx.Response:
    body = {"granted_amount_cents": granted, **extra}
    if granted == 0 and "refusal_reason" not in extra:
        body["refusal_reason"] = "Hors des priorités de l'année."
    return world.as_("funding", email or MEMBER_OF[funder]).put(
        decision_url(session, item_of(session, dossier)), json=body
    )


def envelope_of(world: World, funder_email: str, year: int | None = None) -> dict[str, Any]:
    """The demo programme's envelope of the caller's funder for the year."""
    listed = ok(world.as_("funding", funder_email).get(
        "/api/v1/envelopes", params={"programme_id": PROGRAMME_ID, "year": year or TODAY.year}
    ))
    assert len(listed["items"]) == 1, listed
    return listed["items"][0]
