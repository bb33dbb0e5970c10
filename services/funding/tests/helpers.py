"""Helpers for the funding tests: programmes made by the desk, lists walked to the end,
requests fired at once, and a look at funding's own tables where the API shows nothing."""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from scripts import demo_data
from services.funding.models.dossier import DossierHistory
from tests.support import calls
from tests.support.calls import at_once, pages  # noqa: F401  (the tests import them from here)
from tests.support.clock import TODAY
from tests.support.stack import Api
from tests.support.world import DESK, World, org_id

PROGRAMMES = "/api/v1/programmes"
DOSSIERS = "/api/v1/dossiers"
PROGRAMME_ID = str(demo_data.PROGRAMME_ID)

VILLE = org_id("ville")
PREFECTURE = org_id("prefecture")
METROPOLE = org_id("metropole")
DEPARTEMENT = org_id("departement")
CAF = org_id("caf")
BLOSNE_AVENIR = org_id("blosne-avenir")
MAUREPAS_SOLIDAIRE = org_id("maurepas-solidaire")


def programme_body(**overrides: Any) -> dict[str, Any]:
    today = TODAY
    body = {
        "title": "Fonds d'amorçage 2027",
        "track": "seed",
        "year": today.year,
        "funder_ids": [VILLE, PREFECTURE],
        "opens_on": (today - timedelta(days=30)).isoformat(),
        "closes_on": (today + timedelta(days=30)).isoformat(),
    }
    body.update(overrides)
    return body


def create_programme(world: World, **overrides: Any) -> dict[str, Any]:
    response = world.as_("funding", DESK).post(PROGRAMMES, json=programme_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def dossier_body(project: dict[str, Any], plan: list[dict[str, Any]] | None = None,
                 programme_id: str = PROGRAMME_ID, **extra: Any) -> dict[str, Any]:
    return {
        "programme_id": programme_id,
        "project_id": project["id"],
        "funding_plan": plan if plan is not None else [{"funder_id": VILLE, "amount_cents": 1_500_000}],
        **extra,
    }


def url_of(dossier: dict[str, Any]) -> str:
    return f"{DOSSIERS}/{dossier['id']}"










def history_count(world: World, dossier_id: str, action: str) -> int:
    """How many times the audit trail records `action` on a dossier (the API does not show the trail yet)."""

    async def count() -> int:
        async with world.stack.apps["funding"].state.db.reader() as session:
            statement = select(func.count()).select_from(DossierHistory).where(
                col(DossierHistory.dossier_id) == uuid.UUID(dossier_id), col(DossierHistory.action) == action
            )
            return (await session.execute(statement)).scalar_one()

    return world.stack.run(count)


def listed_ids(api: Api, url: str = DOSSIERS, **params: Any) -> list[str]:
    return calls.listed_ids(api, url, **params)


def listed_state(api: Api, url: str = DOSSIERS) -> list[tuple[str, int]]:
    return calls.listed_state(api, url)


# What a financial report (CERFA 15059) carries beyond its figures, for the tests that file one: the
# qualitative account and the signatory, signed on the suite's first day (the clock only moves forward).
REPORT_FORM: dict[str, Any] = {
    "qualitative": {"summary": "L'action s'est tenue comme prévu."},
    "signatory": {"name": "Awa Diallo", "capacity": "legal_representative", "signed_on": TODAY.isoformat()},
}

