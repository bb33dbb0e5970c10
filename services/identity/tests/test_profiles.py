"""GET and PUT /api/v1/organisations/{id}/profile: an association's profile as the CERFA 12156 asks it, written
by its admin under If-Match, read by its members, the desk, the platform admin and the desk's services."""

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlmodel import col

from services.identity.models import OrganisationProfile, ProfileApproval, ProfileNetwork, ProfilePublicAid
from services.identity.tests.helpers import (
    SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET,
    client_credentials,
    count_rows,
    create_client,
    demo_org,
    fetch_rows,
    new_uuid,
    person_id,
)
from tests.support.clock import TODAY
from tests.support.stack import Api, problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    DESK,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    PLATFORM,
    World,
)

BLOSNE = demo_org("blosne-avenir")


@pytest.fixture(autouse=True)
def associations_without_a_profile(world: World) -> None:
    """These tests start before the associations fill in their profile: the demo data's are taken away."""

    async def remove() -> None:
        async with world.stack.apps["identity"].state.db.writer() as session:
            await session.execute(delete(OrganisationProfile))
            await session.commit()

    world.stack.run(remove)


MAUREPAS = demo_org("maurepas-solidaire")
VILLE = demo_org("ville")
THIS_YEAR = TODAY.year


def url(organisation_id: str) -> str:
    return f"/api/v1/organisations/{organisation_id}/profile"


PROFILE: dict[str, Any] = {
    "legal_representative": {
        "name": "Awa Diallo",
        "function": "Présidente",
        "email": "presidence@blosne-avenir.example",
        "phone": "02 99 00 00 00",
    },
    "contact": {"name": "Yann Guillou", "function": "Coordinateur", "email": "coordination@blosne-avenir.example"},
    "address": {"street_lines": ["12 rue du Blosne", "Bâtiment B"], "postcode": "35200", "city": "Rennes"},
    "people": {"volunteers": 40, "employees": 4, "fte": "3.5", "members": 120, "paying_members": 95},
    "approvals": [
        {
            "kind": "Jeunesse et éducation populaire",
            "number": "35-JEP-2019-04",
            "authority": "Préfecture d'Ille-et-Vilaine",
            "granted_on": "2019-06-14",
        }
    ],
    "networks": [
        {"name": "Fédération des centres sociaux", "siret": "73282932000074"},
        {"name": "Réseau des jardins partagés", "rna": "W353000001"},
    ],
    "public_aid": [
        {
            "year": THIS_YEAR - 1,
            "funder_name": "Ville de Rennes",
            "funder_organisation_id": VILLE,
            "amount_cents": 1_200_000,
            "purpose": "Aide aux devoirs",
            "nature": "cash",
        },
        {
            "year": THIS_YEAR - 1,
            "funder_name": "Ville de Rennes",
            "amount_cents": 300_000,
            "purpose": "Prêt de salles, valorisé",
            "nature": "in_kind",
        },
        {
            "year": THIS_YEAR - 3,
            "funder_name": "CAF d'Ille-et-Vilaine",
            "amount_cents": 800_000,
            "purpose": "Animation collective familles",
            "nature": "cash",
        },
    ],
}


def body(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PROFILE), **changes}


def put(api: Api, organisation_id: str, payload: dict[str, Any], *, if_match: str | None = None,
        **headers: str) -> httpx.Response:
    if if_match is not None:
        headers["If-Match"] = if_match
    return api.request("PUT", url(organisation_id), json=payload, headers=headers)


def create(world: World, payload: dict[str, Any] | None = None) -> httpx.Response:
    response = put(world.as_("identity", HOLDER), BLOSNE, payload or body())
    assert response.status_code == 201, response.text
    return response


def stored(world: World) -> list[OrganisationProfile]:
    return fetch_rows(world.stack, OrganisationProfile)


def rows_written(world: World) -> int:
    return sum(
        count_rows(world.stack, model)
        for model in (OrganisationProfile, ProfileApproval, ProfileNetwork, ProfilePublicAid)
    )


class TestCreateProfile:
    def test_anonymous_is_401_and_nothing_is_written(self, world: World, anonymous: Api) -> None:
        assert anonymous.request("PUT", url(BLOSNE), json=body()).status_code == 401
        assert rows_written(world) == 0

    def test_the_admin_fills_in_the_profile(self, world: World) -> None:
        response = create(world)
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == url(BLOSNE)
        created = response.json()
        assert created["organisation_id"] == BLOSNE
        assert created["filled_in"] is True
        assert created["legal_representative"] == PROFILE["legal_representative"]
        assert created["contact"] == {**PROFILE["contact"], "phone": None}
        assert created["address"] == {**PROFILE["address"], "insee_code": None}
        assert created["people"] == {**PROFILE["people"], "fte": "3.50", "legal_person_members": 0,
                                     "civic_service_volunteers": 0, "seconded_public_staff": 0}
        assert created["approvals"] == PROFILE["approvals"]
        assert created["networks"] == [
            {"name": "Fédération des centres sociaux", "siret": "73282932000074", "rna": None},
            {"name": "Réseau des jardins partagés", "siret": None, "rna": "W353000001"},
        ]
        assert [line["purpose"] for line in created["public_aid"]] == [
            line["purpose"] for line in PROFILE["public_aid"]
        ]
        assert all(line["source"] == "declared" for line in created["public_aid"])
        assert created["public_aid"][0]["funder_organisation_id"] == VILLE
        assert created["updated_by"] == person_id(HOLDER)

        [row] = stored(world)
        assert row.fte_hundredths == 350
        assert count_rows(world.stack, ProfilePublicAid) == 3

        read = world.as_("identity", HOLDER).get(url(BLOSNE))
        assert read.status_code == 200
        assert read.json() == created
        assert read.headers["etag"] == '"1"'

    def test_the_contact_may_be_left_out(self, world: World) -> None:
        payload = body()
        del payload["contact"]
        assert create(world, payload).json()["contact"] is None

    def test_if_match_zero_is_taken_for_a_profile_never_written(self, world: World) -> None:
        response = put(world.as_("identity", HOLDER), BLOSNE, body(), if_match='"0"')
        assert response.status_code == 201, response.text

    def test_an_if_match_other_than_the_blank_profiles_is_412(self, world: World) -> None:
        response = put(world.as_("identity", HOLDER), BLOSNE, body(), if_match='"1"')
        assert response.status_code == 412
        details = problem(response)
        assert (details["code"], details["current_etag"]) == ("precondition_failed", '"0"')
        assert rows_written(world) == 0

    def test_public_aid_may_name_a_funder_known_to_the_desk(self, world: World) -> None:
        payload = body()
        payload["public_aid"][1]["funder_organisation_id"] = demo_org("caf")
        assert create(world, payload).json()["public_aid"][1]["funder_organisation_id"] == demo_org("caf")


# Each: (what is broken, the field the problem must name).
INVALID: list[tuple[str, Any, str]] = [
    ("postcode too short", lambda p: p["address"].update(postcode="3520"), "body.address.postcode"),
    ("postcode of département 00", lambda p: p["address"].update(postcode="00100"), "body.address.postcode"),
    ("postcode with a space", lambda p: p["address"].update(postcode="35 200"), "body.address.postcode"),
    ("INSEE code", lambda p: p["address"].update(insee_code="3A238"), "body.address.insee_code"),
    ("no street line", lambda p: p["address"].update(street_lines=[]), "body.address.street_lines"),
    ("blank street line", lambda p: p["address"].update(street_lines=["  "]), "body.address.street_lines.0"),
    ("four street lines", lambda p: p["address"].update(street_lines=["a", "b", "c", "d"]),
     "body.address.street_lines"),
    ("year too old", lambda p: p["public_aid"][2].update(year=THIS_YEAR - 4), "body.public_aid.2.year"),
    ("year to come", lambda p: p["public_aid"][0].update(year=THIS_YEAR + 1), "body.public_aid.0.year"),
    ("negative amount", lambda p: p["public_aid"][1].update(amount_cents=-100), "body.public_aid.1.amount_cents"),
    ("zero amount", lambda p: p["public_aid"][1].update(amount_cents=0), "body.public_aid.1.amount_cents"),
    ("amount in euros", lambda p: p["public_aid"][1].update(amount_cents=12.5), "body.public_aid.1.amount_cents"),
    ("amount as a string", lambda p: p["public_aid"][1].update(amount_cents="1200"), "body.public_aid.1.amount_cents"),
    ("unknown nature", lambda p: p["public_aid"][0].update(nature="loan"), "body.public_aid.0.nature"),
    ("source other than declared", lambda p: p["public_aid"][0].update(source="desk"), "body.public_aid.0.source"),
    ("bad SIRET in a network", lambda p: p["networks"][0].update(siret="73282932000075"), "body.networks.0.siret"),
    ("bad RNA in a network", lambda p: p["networks"][1].update(rna="W35300000"), "body.networks.1.rna"),
    ("bad email", lambda p: p["legal_representative"].update(email="awa@"), "body.legal_representative.email"),
    ("bad phone", lambda p: p["legal_representative"].update(phone="12345"), "body.legal_representative.phone"),
    ("phone with letters", lambda p: p["contact"].update(phone="02 99 AB 00 00"), "body.contact.phone"),
    ("fte with three decimals", lambda p: p["people"].update(fte="3.505"), "body.people.fte"),
    ("fte with a comma", lambda p: p["people"].update(fte="3,5"), "body.people.fte"),
    ("fte as a number", lambda p: p["people"].update(fte=3.5), "body.people.fte"),
    ("negative volunteers", lambda p: p["people"].update(volunteers=-1), "body.people.volunteers"),
    ("more paying members than members", lambda p: p["people"].update(paying_members=121),
     "body.people.paying_members"),
    ("approval granted tomorrow",
     lambda p: p["approvals"][0].update(granted_on=(TODAY + timedelta(days=1)).isoformat()),
     "body.approvals.0.granted_on"),
    ("approval date not ISO", lambda p: p["approvals"][0].update(granted_on="14/06/2019"),
     "body.approvals.0.granted_on"),
    ("too many approvals", lambda p: p.update(approvals=p["approvals"] * 21), "body.approvals"),
    ("too many aid lines", lambda p: p.update(public_aid=p["public_aid"] * 67), "body.public_aid"),
    ("no legal representative", lambda p: p.pop("legal_representative"), "body.legal_representative"),
    ("unknown field", lambda p: p.update(siret="81234567600017"), "body.siret"),
    ("NUL character", lambda p: p["address"].update(city="Ren\x00nes"), "body.address.city"),
]


class TestValidation:
    @pytest.mark.parametrize(("case", "breaks", "field"), INVALID, ids=[case for case, _, _ in INVALID])
    def test_bad_input_is_a_422_naming_the_field_and_nothing_is_written(
        self, world: World, case: str, breaks: Any, field: str
    ) -> None:
        payload = body()
        breaks(payload)
        response = put(world.as_("identity", HOLDER), BLOSNE, payload)
        assert response.status_code == 422, response.text
        details = problem(response)
        assert details["code"] == "validation_failed"
        assert field in {error["field"] for error in details["errors"]}, details
        assert rows_written(world) == 0

    def test_a_bad_replacement_leaves_the_profile_as_it_was(self, world: World) -> None:
        created = create(world).json()
        payload = body()
        payload["public_aid"][0]["year"] = THIS_YEAR - 4
        response = put(world.as_("identity", HOLDER), BLOSNE, payload, if_match='"1"')
        assert response.status_code == 422
        read = world.as_("identity", HOLDER).get(url(BLOSNE))
        assert read.json() == created
        assert read.headers["etag"] == '"1"'

    def test_the_year_window_is_said_in_the_message(self, world: World) -> None:
        payload = body()
        payload["public_aid"][0]["year"] = THIS_YEAR + 1
        french = problem(put(world.as_("identity", HOLDER), BLOSNE, payload))["errors"][0]["message"]
        english = problem(put(world.as_("identity", HOLDER), BLOSNE, payload, **{"Accept-Language": "en"}))
        assert french == f"Année hors période ({THIS_YEAR - 3}–{THIS_YEAR})."
        assert english["errors"][0]["message"] == f"Year outside the period ({THIS_YEAR - 3}–{THIS_YEAR})."
        assert english["detail"] == "Some fields are invalid."

    @pytest.mark.parametrize(
        "funder", [new_uuid(), MAUREPAS], ids=["unknown-organisation", "an-association-is-no-funder"]
    )
    def test_a_funder_id_the_desk_does_not_know_is_a_422(self, world: World, funder: str) -> None:
        payload = body()
        payload["public_aid"][2]["funder_organisation_id"] = funder
        response = put(world.as_("identity", HOLDER), BLOSNE, payload)
        assert response.status_code == 422
        details = problem(response)
        assert details["code"] == "unknown_funder"
        assert [error["field"] for error in details["errors"]] == ["body.public_aid.2.funder_organisation_id"]
        assert rows_written(world) == 0

    def test_malformed_json_is_400(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        response = api.request(
            "PUT", url(BLOSNE), content=b'{"people": ', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert rows_written(world) == 0


class TestReplaceProfile:
    def test_a_replacement_under_if_match_changes_everything_it_carries(self, world: World) -> None:
        create(world)
        payload = body(
            contact=None,
            approvals=[],
            networks=[{"name": "Union régionale", "rna": "W353000002"}],
            public_aid=[PROFILE["public_aid"][2]],
        )
        payload["people"]["fte"] = "12"
        response = put(world.as_("identity", HOLDER), BLOSNE, payload, if_match='"1"')
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'
        assert "location" not in response.headers
        replaced = response.json()
        assert replaced["contact"] is None
        assert replaced["approvals"] == []
        assert replaced["networks"] == [{"name": "Union régionale", "siret": None, "rna": "W353000002"}]
        assert [line["year"] for line in replaced["public_aid"]] == [THIS_YEAR - 3]
        assert replaced["people"]["fte"] == "12.00"
        assert count_rows(world.stack, ProfileApproval) == 0
        assert count_rows(world.stack, ProfileNetwork) == 1
        assert count_rows(world.stack, ProfilePublicAid) == 1
        [row] = stored(world)
        assert (row.version, row.fte_hundredths, row.contact_name) == (2, 1200, None)
        read = world.as_("identity", HOLDER_MEMBER).get(url(BLOSNE))
        assert read.json() == replaced
        assert read.headers["etag"] == '"2"'

    def test_the_same_content_keeps_the_same_etag(self, world: World) -> None:
        created = create(world).json()
        # The same profile, written otherwise: "3.50" is "3.5", surrounding blanks are not kept.
        payload = body()
        payload["people"]["fte"] = "3.50"
        payload["address"]["city"] = "  Rennes "
        response = put(world.as_("identity", HOLDER), BLOSNE, payload, if_match='"1"')
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"1"'
        assert response.json() == created
        [row] = stored(world)
        assert row.version == 1

    def test_the_order_of_lines_is_content(self, world: World) -> None:
        create(world)
        payload = body(public_aid=list(reversed(PROFILE["public_aid"])))
        response = put(world.as_("identity", HOLDER), BLOSNE, payload, if_match='"1"')
        assert response.headers["etag"] == '"2"'
        assert [line["year"] for line in response.json()["public_aid"]] == [THIS_YEAR - 3, THIS_YEAR - 1, THIS_YEAR - 1]

    def test_without_if_match_is_428_and_nothing_changes(self, world: World) -> None:
        created = create(world).json()
        response = put(world.as_("identity", HOLDER), BLOSNE, body(approvals=[]))
        assert response.status_code == 428
        assert problem(response)["code"] == "precondition_required"
        assert world.as_("identity", HOLDER).get(url(BLOSNE)).json() == created
        assert count_rows(world.stack, ProfileApproval) == 1

    def test_a_stale_if_match_is_412_and_nothing_changes(self, world: World) -> None:
        create(world)
        api = world.as_("identity", HOLDER)
        assert put(api, BLOSNE, body(approvals=[]), if_match='"1"').status_code == 200
        response = put(api, BLOSNE, body(networks=[]), if_match='"1"')
        assert response.status_code == 412
        assert problem(response)["current_etag"] == '"2"'
        assert count_rows(world.stack, ProfileNetwork) == 2
        assert stored(world)[0].version == 2


class TestWhoWrites:
    @pytest.mark.parametrize("email", [HOLDER_MEMBER, CITY_MANAGER, CITY_INSTRUCTOR, DESK, CITIZEN])
    def test_other_roles_are_403_and_nothing_is_written(self, world: World, email: str) -> None:
        response = put(world.as_("identity", email), BLOSNE, body())
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert rows_written(world) == 0

    def test_another_associations_admin_is_404_and_nothing_changes(self, world: World) -> None:
        created = create(world).json()
        response = put(world.as_("identity", OTHER_HOLDER), BLOSNE, body(approvals=[]), if_match='"1"')
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"
        assert "Awa" not in response.text
        assert world.as_("identity", HOLDER).get(url(BLOSNE)).json() == created

    def test_an_unknown_organisation_looks_the_same_as_someone_elses(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        unknown = problem(put(api, new_uuid(), body()))
        foreign = problem(put(api, MAUREPAS, body()))
        assert (unknown["status"], unknown["code"], unknown["detail"]) == (
            foreign["status"], foreign["code"], foreign["detail"]
        )

    def test_a_machine_client_of_the_association_cannot_write(self, world: World, anonymous: Api) -> None:
        client = create_client(world, HOLDER, ["organisations:read", "projects:write"])
        token = client_credentials(anonymous, client["client_id"], client["client_secret"]).json()["access_token"]
        response = anonymous.request("PUT", url(BLOSNE), json=body(), token=token)
        assert response.status_code == 403
        assert rows_written(world) == 0

    def test_a_service_token_cannot_write(self, world: World, anonymous: Api) -> None:
        token = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET).json()["access_token"]
        assert anonymous.request("PUT", url(BLOSNE), json=body(), token=token).status_code == 403
        assert rows_written(world) == 0

    def test_the_platform_admin_fills_in_any_associations_profile(self, world: World) -> None:
        response = put(world.as_("identity", PLATFORM), MAUREPAS, body())
        assert response.status_code == 201, response.text
        assert response.json()["updated_by"] == person_id(PLATFORM)
        read = world.as_("identity", OTHER_HOLDER).get(url(MAUREPAS))
        assert read.json() == response.json()

    def test_only_an_association_has_a_profile(self, world: World) -> None:
        response = put(world.as_("identity", PLATFORM), VILLE, body())
        assert response.status_code == 409
        details = problem(response)
        assert details["code"] == "not_an_association"
        assert details["kind"] == "funder"
        assert rows_written(world) == 0


class TestReadProfile:
    def test_anonymous_is_401(self, world: World, anonymous: Api) -> None:
        create(world)
        assert anonymous.get(url(BLOSNE)).status_code == 401

    def test_before_it_is_filled_in_it_is_blank_with_etag_zero(self, world: World) -> None:
        response = world.as_("identity", HOLDER_MEMBER).get(url(BLOSNE))
        assert response.status_code == 200
        assert response.headers["etag"] == '"0"'
        assert response.json() == {
            "organisation_id": BLOSNE, "filled_in": False, "legal_representative": None, "contact": None,
            "address": None, "people": None, "approvals": [], "networks": [], "public_aid": [],
            "public_aid_by_year": [], "certified_accounts_required": False,
            "created_at": None, "updated_at": None, "updated_by": None,
            "acronym": None, "purpose": None, "activities": None, "correspondence_address": None,
            "public_utility_recognised_on": None, "statutory_auditor": False, "fiscal_year_start": "01-01",
            "fiscal_year_end": "12-31", "republican_contract": None,
        }
        # Its ETag is what the first PUT may send.
        filled = put(world.as_("identity", HOLDER), BLOSNE, body(), if_match=response.headers["etag"])
        assert filled.status_code == 201
        assert filled.headers["etag"] == '"1"'

    @pytest.mark.parametrize("email", [HOLDER, HOLDER_MEMBER, DESK, PLATFORM])
    def test_members_the_desk_and_the_platform_read_it(self, world: World, email: str) -> None:
        created = create(world).json()
        response = world.as_("identity", email).get(url(BLOSNE))
        assert response.status_code == 200
        assert response.json() == created
        assert response.headers["etag"] == '"1"'

    @pytest.mark.parametrize("email", [OTHER_HOLDER, CITY_INSTRUCTOR, CITY_MANAGER, CITIZEN])
    def test_anyone_else_gets_a_404_that_says_nothing(self, world: World, email: str) -> None:
        create(world)
        response = world.as_("identity", email).get(url(BLOSNE))
        assert response.status_code == 404
        details = problem(response)
        assert details["code"] == "not_found"
        assert "Awa" not in response.text and "profil" not in (details["detail"] or "").lower()
        assert "etag" not in response.headers

    def test_the_funding_service_reads_it_with_its_service_token(self, world: World, anonymous: Api) -> None:
        created = create(world).json()
        token = client_credentials(
            anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, "organisations:read"
        ).json()["access_token"]
        response = anonymous.get(url(BLOSNE), token=token)
        assert response.status_code == 200
        assert response.json() == created

    def test_a_service_token_without_the_scope_is_403(self, world: World, anonymous: Api) -> None:
        create(world)
        token = client_credentials(anonymous, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, "projects:read").json()[
            "access_token"
        ]
        assert anonymous.get(url(BLOSNE), token=token).status_code == 403

    def test_a_machine_client_of_the_association_reads_it_with_the_scope(self, world: World, anonymous: Api) -> None:
        create(world)
        for scopes, status in ((["organisations:read"], 200), (["projects:read"], 403)):
            client = create_client(world, HOLDER, scopes)
            token = client_credentials(anonymous, client["client_id"], client["client_secret"]).json()["access_token"]
            assert anonymous.get(url(BLOSNE), token=token).status_code == status, scopes

    def test_a_machine_client_of_another_association_gets_a_404(self, world: World, anonymous: Api) -> None:
        create(world)
        client = create_client(world, OTHER_HOLDER, ["organisations:read"])
        token = client_credentials(anonymous, client["client_id"], client["client_secret"]).json()["access_token"]
        assert anonymous.get(url(BLOSNE), token=token).status_code == 404

    @pytest.mark.parametrize("email", [DESK, CITY_INSTRUCTOR])
    def test_an_organisation_that_is_no_association_is_a_409(self, world: World, email: str) -> None:
        # The desk sees every organisation; the instructor reads its own funder.
        response = world.as_("identity", email).get(url(VILLE), headers={"Accept-Language": "en"})
        assert response.status_code == 409
        details = problem(response)
        assert details["code"] == "not_an_association"
        assert details["detail"] == "Only an association has a profile; this organisation is of kind 'funder'."

    def test_the_desk_gets_a_404_for_an_unknown_organisation(self, world: World) -> None:
        response = world.as_("identity", DESK).get(url(new_uuid()))
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"

    def test_a_malformed_id_names_no_organisation(self, world: World) -> None:
        response = world.as_("identity", DESK).get(url("not-a-uuid"))
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"


def aid(year: int, amount_cents: int, nature: str = "cash") -> dict[str, Any]:
    return {"year": year, "funder_name": "Un financeur", "amount_cents": amount_cents, "purpose": "Actions",
            "nature": nature}


class TestPublicAidTotals:
    def test_totals_per_year_in_cents(self, world: World) -> None:
        profile = create(world).json()
        assert profile["public_aid_by_year"] == [
            {"year": THIS_YEAR - 3, "cash_cents": 800_000, "in_kind_cents": 0, "total_cents": 800_000,
             "certified_accounts_required": False},
            {"year": THIS_YEAR - 1, "cash_cents": 1_200_000, "in_kind_cents": 300_000, "total_cents": 1_500_000,
             "certified_accounts_required": False},
        ]
        assert profile["certified_accounts_required"] is False

    def test_a_year_above_153_000_euros_of_cash_aid_is_flagged(self, world: World) -> None:
        lines = [
            # This year: 100,000 € + 53,000.01 € in cash: one cent above the threshold.
            aid(THIS_YEAR, 10_000_000),
            aid(THIS_YEAR, 5_300_001),
            # Last year: exactly 153,000 € in cash, plus in-kind aid, which does not count (L612-4: "en numéraire").
            aid(THIS_YEAR - 1, 15_300_000),
            aid(THIS_YEAR - 1, 9_000_000, "in_kind"),
        ]
        profile = create(world, body(public_aid=lines)).json()
        by_year = {year["year"]: year for year in profile["public_aid_by_year"]}
        assert by_year[THIS_YEAR] == {
            "year": THIS_YEAR, "cash_cents": 15_300_001, "in_kind_cents": 0, "total_cents": 15_300_001,
            "certified_accounts_required": True,
        }
        assert by_year[THIS_YEAR - 1] == {
            "year": THIS_YEAR - 1, "cash_cents": 15_300_000, "in_kind_cents": 9_000_000, "total_cents": 24_300_000,
            "certified_accounts_required": False,
        }
        assert profile["certified_accounts_required"] is True

    def test_the_flag_goes_when_the_aid_is_corrected(self, world: World) -> None:
        create(world, body(public_aid=[aid(THIS_YEAR, 20_000_000)]))
        response = put(world.as_("identity", HOLDER), BLOSNE, body(public_aid=[aid(THIS_YEAR, 2_000_000)]),
                       if_match='"1"')
        assert response.json()["certified_accounts_required"] is False
        assert response.json()["public_aid_by_year"][0]["certified_accounts_required"] is False

    def test_no_aid_no_totals(self, world: World) -> None:
        profile = create(world, body(public_aid=[])).json()
        assert profile["public_aid_by_year"] == []
        assert profile["certified_accounts_required"] is False


NEXT_YEAR = THIS_YEAR + 1


def as_sent(read: dict[str, Any]) -> dict[str, Any]:
    """What a client sends back of a profile it read: the fields it writes, as read."""
    return {name: copy.deepcopy(read[name]) for name in PROFILE}


def without_aid(profile: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in profile.items() if name not in ("public_aid", "public_aid_by_year")}


@pytest.fixture
def new_year(world: World) -> Callable[[], None]:
    """Moves identity's clock to 2 January of next year: THIS_YEAR - 3 leaves the public aid's window."""

    def turn() -> None:
        world.stack.apps["identity"].state.clock.at = datetime(NEXT_YEAR, 1, 2, 9, tzinfo=UTC)

    return turn


class TestTheYearTurns:
    """The public aid's window moves on 1 January: a round trip still works, and what left it is neither shown
    nor counted. PROFILE has two lines of THIS_YEAR - 1 and one of THIS_YEAR - 3."""

    def test_a_profile_read_last_year_is_written_back_as_read(self, world: World, new_year: Callable[[], None]) -> None:
        create(world)
        api = world.as_("identity", HOLDER)
        read = api.get(url(BLOSNE))
        assert [line["year"] for line in read.json()["public_aid"]] == [THIS_YEAR - 1, THIS_YEAR - 1, THIS_YEAR - 3]
        new_year()
        response = put(api, BLOSNE, as_sent(read.json()), if_match=read.headers["etag"])
        assert response.status_code == 200, response.text
        # Nothing shown changed, so nothing was written: same ETag, the aged-out line still stored but not shown.
        assert response.headers["etag"] == '"1"'
        assert response.json()["public_aid"] == read.json()["public_aid"][:2]
        assert stored(world)[0].version == 1
        assert count_rows(world.stack, ProfilePublicAid) == 3

    def test_after_new_year_the_aged_out_lines_are_not_shown_and_what_is_read_goes_back(
        self, world: World, new_year: Callable[[], None]
    ) -> None:
        created = create(world).json()
        new_year()
        api = world.as_("identity", HOLDER)
        read = api.get(url(BLOSNE))
        assert read.status_code == 200
        assert read.headers["etag"] == '"1"'
        shown = read.json()
        assert shown["public_aid"] == created["public_aid"][:2]
        assert [year["year"] for year in shown["public_aid_by_year"]] == [THIS_YEAR - 1]
        assert without_aid(shown) == without_aid(created)

        response = put(api, BLOSNE, as_sent(shown), if_match=read.headers["etag"])
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"1"'
        assert response.json() == shown

    def test_the_next_change_deletes_the_lines_older_than_the_window(
        self, world: World, new_year: Callable[[], None]
    ) -> None:
        create(world)
        new_year()
        api = world.as_("identity", HOLDER)
        payload = as_sent(api.get(url(BLOSNE)).json())
        payload["public_aid"].append(aid(NEXT_YEAR, 500_000))
        response = put(api, BLOSNE, payload, if_match='"1"')
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'
        assert [line["year"] for line in response.json()["public_aid"]] == [THIS_YEAR - 1, THIS_YEAR - 1, NEXT_YEAR]
        assert sorted(row.year for row in fetch_rows(world.stack, ProfilePublicAid)) == [
            THIS_YEAR - 1, THIS_YEAR - 1, NEXT_YEAR
        ]

    def test_an_aged_out_line_sent_back_with_a_change_is_refused(
        self, world: World, new_year: Callable[[], None]
    ) -> None:
        create(world)
        new_year()
        payload = body()
        payload["public_aid"][2]["amount_cents"] = 900_000  # the THIS_YEAR - 3 line, no longer the one stored
        response = put(world.as_("identity", HOLDER), BLOSNE, payload, if_match='"1"')
        assert response.status_code == 422, response.text
        details = problem(response)
        assert details["code"] == "validation_failed"
        assert [(error["field"], error["message"]) for error in details["errors"]] == [
            ("body.public_aid.2.year", f"Année hors période ({THIS_YEAR - 2}–{NEXT_YEAR}).")
        ]
        assert stored(world)[0].version == 1
        assert sorted(row.amount_cents for row in fetch_rows(world.stack, ProfilePublicAid)) == [
            300_000, 800_000, 1_200_000
        ]

    def test_totals_and_the_flag_count_only_the_window(self, world: World, new_year: Callable[[], None]) -> None:
        created = create(world, body(public_aid=[aid(THIS_YEAR - 3, 20_000_000), aid(THIS_YEAR - 1, 1_000_000)]))
        assert created.json()["certified_accounts_required"] is True
        new_year()
        shown = world.as_("identity", HOLDER).get(url(BLOSNE)).json()
        assert shown["public_aid_by_year"] == [
            {"year": THIS_YEAR - 1, "cash_cents": 1_000_000, "in_kind_cents": 0, "total_cents": 1_000_000,
             "certified_accounts_required": False},
        ]
        assert shown["certified_accounts_required"] is False

    def test_a_line_stored_before_the_window_moved_is_neither_shown_nor_a_bar_to_writing(self, world: World) -> None:
        """The same on today's calendar: a line of THIS_YEAR - 4, stored when that year was in the window."""
        create(world)

        async def store_an_old_line() -> None:
            async with world.stack.apps["identity"].state.db.writer() as session:
                session.add(ProfilePublicAid(
                    organisation_id=uuid.UUID(BLOSNE), position=3, year=THIS_YEAR - 4, funder_name="Département",
                    amount_cents=30_000_000, purpose="Ancienne aide", nature="cash",
                ))
                await session.commit()

        world.stack.run(store_an_old_line)
        api = world.as_("identity", HOLDER)
        read = api.get(url(BLOSNE))
        shown = read.json()
        assert [line["year"] for line in shown["public_aid"]] == [THIS_YEAR - 1, THIS_YEAR - 1, THIS_YEAR - 3]
        assert THIS_YEAR - 4 not in {year["year"] for year in shown["public_aid_by_year"]}
        assert shown["certified_accounts_required"] is False
        response = put(api, BLOSNE, as_sent(shown), if_match=read.headers["etag"])
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"1"'
        assert response.json() == shown


def test_a_profile_is_one_row_and_its_lines(world: World) -> None:
    """What `rows_written` counts, so that its "nothing written" means something."""
    create(world)
    assert rows_written(world) == 1 + 1 + 2 + 3
    profile_of_maurepas = col(OrganisationProfile.organisation_id) == uuid.UUID(MAUREPAS)
    assert count_rows(world.stack, OrganisationProfile, profile_of_maurepas) == 0


FORM: dict[str, Any] = {
    "acronym": "BA",
    "purpose": "Favoriser la réussite éducative et le lien social dans le quartier du Blosne.",
    "activities": "Aide aux devoirs, ateliers parents-enfants, sorties familiales.",
    "correspondence_address": {"street_lines": ["BP 40123"], "postcode": "35201", "city": "Rennes"},
    "public_utility_recognised_on": "2018-11-05",
    "statutory_auditor": True,
    "fiscal_year_start": "09-01",
    "republican_contract": {"signed_on": "2023-03-14", "signatory_name": "Awa Diallo"},
}


class TestTheWholeIdentificationPages:
    """What the CERFA 12156 asks beyond the first pages: acronym, purpose, activities, correspondence address,
    public utility, statutory auditor, more people, the fiscal year and the republican contract."""

    def test_the_admin_enters_them_and_reads_them_back(self, world: World) -> None:
        payload = body(**copy.deepcopy(FORM))
        payload["people"].update(legal_person_members=3, civic_service_volunteers=2, seconded_public_staff=1)
        created = create(world, payload).json()
        assert {name: created[name] for name in ("acronym", "purpose", "activities", "statutory_auditor",
                                                  "public_utility_recognised_on", "republican_contract")} == {
            name: FORM[name] for name in ("acronym", "purpose", "activities", "statutory_auditor",
                                          "public_utility_recognised_on", "republican_contract")
        }
        assert created["correspondence_address"] == {**FORM["correspondence_address"], "insee_code": None}
        assert (created["fiscal_year_start"], created["fiscal_year_end"]) == ("09-01", "08-31")
        people = created["people"]
        assert (people["legal_person_members"], people["civic_service_volunteers"],
                people["seconded_public_staff"]) == (3, 2, 1)
        [row] = stored(world)
        assert (row.republican_contract_signatory, row.fiscal_year_start) == ("Awa Diallo", "09-01")
        assert world.as_("identity", HOLDER).get(url(BLOSNE)).json() == created
        again = put(world.as_("identity", HOLDER), BLOSNE, payload, if_match='"1"')
        assert again.status_code == 200 and again.headers["etag"] == '"1"'  # the same content keeps its ETag

    def test_a_profile_of_before_reads_with_the_forms_defaults(self, world: World) -> None:
        created = create(world).json()
        assert (created["acronym"], created["correspondence_address"], created["republican_contract"]) == (
            None, None, None
        )
        assert (created["statutory_auditor"], created["fiscal_year_start"], created["fiscal_year_end"]) == (
            False, "01-01", "12-31"
        )

    def test_dropping_the_contract_is_a_change(self, world: World) -> None:
        create(world, body(**copy.deepcopy(FORM)))
        response = put(world.as_("identity", HOLDER), BLOSNE, body(), if_match='"1"')
        assert response.status_code == 200 and response.headers["etag"] == '"2"'
        assert response.json()["republican_contract"] is None and response.json()["acronym"] is None

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"fiscal_year_start": "02-29"}, "body.fiscal_year_start"),
            ({"fiscal_year_start": "13-01"}, "body.fiscal_year_start"),
            ({"fiscal_year_start": "1-9"}, "body.fiscal_year_start"),
            ({"statutory_auditor": "oui"}, "body.statutory_auditor"),
            ({"acronym": " "}, "body.acronym"),
            ({"acronym": "A" * 51}, "body.acronym"),
            ({"correspondence_address": {"street_lines": [], "postcode": "35201", "city": "Rennes"}},
             "body.correspondence_address.street_lines"),
            ({"republican_contract": {"signed_on": "2023-03-14"}}, "body.republican_contract.signatory_name"),
            ({"republican_contract": {"signed_on": (TODAY + timedelta(days=1)).isoformat(),
                                      "signatory_name": "Awa Diallo"}}, "body.republican_contract.signed_on"),
            ({"republican_contract": {"signed_on": "2021-12-31", "signatory_name": "Awa Diallo"}},
             "body.republican_contract.signed_on"),
            ({"public_utility_recognised_on": (TODAY + timedelta(days=1)).isoformat()},
             "body.public_utility_recognised_on"),
        ],
        ids=["29-february", "month-13", "not-mm-dd", "auditor-not-a-boolean", "blank-acronym", "long-acronym",
             "empty-correspondence-address", "contract-without-signatory", "contract-signed-tomorrow",
             "contract-before-the-law", "public-utility-tomorrow"],
    )
    def test_bad_values_are_422_naming_the_field_and_nothing_is_written(
        self, world: World, change: dict[str, Any], field: str
    ) -> None:
        response = put(world.as_("identity", HOLDER), BLOSNE, body(**change))
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        assert rows_written(world) == 0

    @pytest.mark.parametrize("count", ["legal_person_members", "civic_service_volunteers", "seconded_public_staff"])
    def test_a_negative_count_is_422(self, world: World, count: str) -> None:
        payload = body()
        payload["people"][count] = -1
        response = put(world.as_("identity", HOLDER), BLOSNE, payload)
        assert [error["field"] for error in problem(response)["errors"]] == [f"body.people.{count}"]
        assert rows_written(world) == 0
