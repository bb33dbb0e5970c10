"""POST, GET and PATCH /api/v1/organisations: the platform registers organisations, anyone signed in reads
their public card, an admin changes its own organisation under If-Match."""

import asyncio
import uuid
from typing import Any

import pytest
from sqlmodel import col

from scripts import demo_data
from services.identity.models import Organisation
from services.identity.tests.helpers import count_rows, demo_org, fetch_rows, joined, new_uuid
from tests.support.stack import Api, problem
from tests.support.world import (
    CITY_MANAGER,
    DESK,
    EMAIL_BY_ROLE,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    PLATFORM,
    World,
)

ORGANISATIONS = "/api/v1/organisations"
BLOSNE = demo_org("blosne-avenir")
FUNDER = {
    "kind": "funder",
    "name": "Caisse des dépôts — Bretagne",
    "siret": "18002002600019",
    "funder_category": "other",
    "email": "bretagne@cdc.example",
}


def _card(world: World, organisation_id: str) -> Organisation:
    [row] = fetch_rows(world.stack, Organisation, col(Organisation.id) == uuid.UUID(organisation_id))
    return row


class TestCreateOrganisation:
    def test_anonymous_is_401(self, world: World, anonymous: Api) -> None:
        before = count_rows(world.stack, Organisation)
        assert anonymous.post(ORGANISATIONS, json=FUNDER).status_code == 401
        assert count_rows(world.stack, Organisation) == before

    def test_the_platform_admin_registers_a_funder(self, world: World) -> None:
        before = count_rows(world.stack, Organisation)
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=FUNDER)
        assert response.status_code == 201, response.text
        created = response.json()
        for field, value in FUNDER.items():
            assert created[field] == value
        assert response.headers["location"] == f"{ORGANISATIONS}/{created['id']}"
        assert response.headers["etag"]
        assert count_rows(world.stack, Organisation) == before + 1

        read = world.as_("identity", HOLDER).get(response.headers["location"])
        assert read.status_code == 200
        assert read.json() == created
        assert read.headers["etag"] == response.headers["etag"]

    def test_a_new_funder_has_no_member_yet_and_can_be_given_one(self, world: World) -> None:
        created = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=FUNDER).json()
        api = world.as_("identity", PLATFORM)
        assert api.get(f"{ORGANISATIONS}/{created['id']}/members").json()["items"] == []
        accepted = joined(world, PLATFORM, created["id"], "gestion@cdc.example", ["funder_manager"])
        assert accepted["roles"] == ["funder_manager"]
        assert [m["email"] for m in api.get(f"{ORGANISATIONS}/{created['id']}/members").json()["items"]] == [
            "gestion@cdc.example"]

    def test_a_citizen_council_with_its_qpvs(self, world: World) -> None:
        body = {"kind": "citizen_council", "name": "Conseil citoyen de Maurepas", "qpv_codes": ["QN03504M"]}
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body)
        assert response.status_code == 201, response.text
        assert response.json()["qpv_codes"] == ["QN03504M"]

    def test_a_citizen_council_of_a_corsican_qpv(self, world: World) -> None:
        # Corsica's départements are 2A and 2B: the code carries 02A where others carry three digits.
        body = {"kind": "citizen_council", "name": "Conseil citoyen des Cannes", "qpv_codes": ["QN02A02M", "QN02B01M"]}
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body)
        assert response.status_code == 201, response.text
        assert response.json()["qpv_codes"] == ["QN02A02M", "QN02B01M"]
        read = world.as_("identity", PLATFORM).get(f"{ORGANISATIONS}/{response.json()['id']}")
        assert read.json()["qpv_codes"] == ["QN02A02M", "QN02B01M"]

    @pytest.mark.parametrize("role", sorted(set(EMAIL_BY_ROLE) - {"platform_admin"}))
    def test_any_other_role_is_403_and_nothing_is_written(self, world: World, role: str) -> None:
        before = count_rows(world.stack, Organisation)
        response = world.as_("identity", EMAIL_BY_ROLE[role]).post(ORGANISATIONS, json=FUNDER)
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert count_rows(world.stack, Organisation) == before

    @pytest.mark.parametrize(
        "identifiers",
        [{"siret": demo_data.organisation("ville").siret},
         {"siret": FUNDER["siret"], "rna": demo_data.organisation("blosne-avenir").rna}],
        ids=["siret", "rna"],
    )
    def test_a_taken_identifier_is_409(self, world: World, identifiers: dict[str, str]) -> None:
        before = count_rows(world.stack, Organisation)
        body = {k: v for k, v in FUNDER.items() if k != "siret"} | identifiers
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body)
        assert response.status_code == 409
        assert problem(response)["code"] == "organisation_exists"
        assert count_rows(world.stack, Organisation) == before

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"kind": "citizen_council", "name": "Conseil sans quartier"}, "body.qpv_codes"),
            ({"kind": "association", "name": "Asso", "funder_category": "city"}, "body.funder_category"),
            ({**FUNDER, "kind": "bank"}, "body.kind"),
            ({**FUNDER, "funder_category": "bank"}, "body.funder_category"),
            ({**FUNDER, "siret": "18002002600018"}, "body.siret"),
            ({"kind": "citizen_council", "name": "Conseil", "qpv_codes": ["QN035"]}, "body.qpv_codes.0"),
            ({"kind": "citizen_council", "name": "Conseil", "qpv_codes": ["QN2A091K"]}, "body.qpv_codes.0"),
            ({"kind": "citizen_council", "name": "Conseil", "qpv_codes": ["QN03504M", "QN02C01K"]}, "body.qpv_codes.1"),
            ({**FUNDER, "id": new_uuid()}, "body.id"),
            ({**FUNDER, "version": 7}, "body.version"),
            ({k: v for k, v in FUNDER.items() if k != "kind"}, "body.kind"),
        ],
        ids=[
            "council-without-qpv",
            "category-for-association",
            "unknown-kind",
            "unknown-category",
            "bad-siret",
            "bad-qpv-code",
            "corsican-qpv-code-on-two-characters",
            "qpv-code-not-corsican",
            "chosen-id",
            "chosen-version",
            "no-kind",
        ],
    )
    def test_an_invalid_payload_is_422_naming_the_field(self, world: World, body: dict[str, Any], field: str) -> None:
        before = count_rows(world.stack, Organisation)
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        assert count_rows(world.stack, Organisation) == before


class TestAFunderHasASiret:
    """The grants' open data (SCDL) names each funder by its SIRET: a funder without one would be an invalid row."""

    @pytest.mark.parametrize(
        "identifiers", [{}, {"siret": None}, {"rna": "W353099998"}], ids=["left-out", "null", "rna-only"]
    )
    @pytest.mark.parametrize("language", ["fr", "en"])
    def test_a_funder_without_a_siret_is_422_and_writes_nothing(
        self, world: World, identifiers: dict[str, Any], language: str
    ) -> None:
        before = count_rows(world.stack, Organisation)
        body = {k: v for k, v in FUNDER.items() if k != "siret"} | identifiers
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body, headers={"Accept-Language": language})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        refused = problem(response)
        [error] = [e for e in refused["errors"] if e["field"] == "body.siret"]
        assert ("SIRET requis" in error["message"]) is (language == "fr")
        assert ("SIRET required" in error["message"]) is (language == "en")
        assert count_rows(world.stack, Organisation) == before

    def test_a_funder_siret_typed_with_spaces_is_stored_as_fourteen_digits(self, world: World) -> None:
        body = FUNDER | {"siret": "180 020 026 00019"}
        created = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body)
        assert created.status_code == 201, created.text
        assert created.json()["siret"] == "18002002600019"
        assert _card(world, created.json()["id"]).siret == "18002002600019"

    @pytest.mark.parametrize("kind", ["desk", "citizen_council"])
    def test_other_kinds_need_no_siret(self, world: World, kind: str) -> None:
        body = {"kind": kind, "name": "Sans SIRET", "qpv_codes": ["QN03504M"] if kind == "citizen_council" else []}
        assert world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body).status_code == 201

    def test_a_funder_siret_cannot_be_cleared_by_an_update(self, world: World) -> None:
        ville = demo_data.organisation("ville")
        api = world.as_("identity", PLATFORM)
        etag = api.get(f"{ORGANISATIONS}/{ville.id}").headers["etag"]
        response = api.patch(f"{ORGANISATIONS}/{ville.id}", json={"siret": None}, headers={"If-Match": etag})
        assert response.status_code == 422, response.text
        assert "body.siret" in [e["field"] for e in problem(response)["errors"]]
        assert _card(world, str(ville.id)).siret == ville.siret


class TestRegistryIdentifiersOnCreation:
    """The platform registers an association under the same rules as its sign-up."""

    REGISTER = {"court": "Tribunal judiciaire de Mulhouse", "volume": "41", "folio": "7"}

    def test_an_alsace_moselle_association_with_its_register_entry(self, world: World) -> None:
        body = {"kind": "association", "name": "Les Amis du Rebberg", "department": "68",
                "local_register": self.REGISTER}
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body)
        assert response.status_code == 201, response.text
        assert (response.json()["local_register"], response.json()["department"]) == (self.REGISTER, "68")
        row = _card(world, response.json()["id"])
        assert (row.register_court, row.register_volume, row.register_folio) == tuple(self.REGISTER.values())
        again = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body | {"name": "Doublon"})
        assert again.status_code == 409 and problem(again)["code"] == "organisation_exists"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"kind": "association", "name": "Sans identifiant"}, "body.siret"),
            ({"kind": "association", "name": "Asso", "department": "35", "local_register": REGISTER},
             "body.department"),
            ({"kind": "association", "name": "Asso", "department": "57", "prefecture_receipt": "Récépissé n° 12"},
             "body.prefecture_receipt"),
            ({**FUNDER, "department": "68", "local_register": REGISTER}, "body.local_register"),
            ({**FUNDER, "prefecture_receipt": "Récépissé n° 12"}, "body.prefecture_receipt"),
            ({"kind": "desk", "name": "Guichet", "department": "67", "local_register": REGISTER},
             "body.local_register"),
        ],
        ids=["association-without-identifier", "register-outside-alsace-moselle", "receipt-in-moselle",
             "funder-with-register", "funder-with-receipt", "desk-with-register"],
    )
    def test_refused_is_422_naming_the_field_and_writes_nothing(
        self, world: World, body: dict[str, Any], field: str
    ) -> None:
        before = count_rows(world.stack, Organisation)
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        assert count_rows(world.stack, Organisation) == before

    def test_a_funder_gives_its_department(self, world: World) -> None:
        response = world.as_("identity", PLATFORM).post(ORGANISATIONS, json=FUNDER | {"department": "2B"})
        assert response.status_code == 201, response.text
        assert response.json()["department"] == "2B" and response.json()["local_register"] is None


class TestReadOrganisation:
    @pytest.mark.parametrize("role", sorted(EMAIL_BY_ROLE))
    def test_any_signed_in_person_reads_any_card(self, world: World, role: str) -> None:
        demo = demo_data.organisation("maurepas-solidaire")
        response = world.as_("identity", EMAIL_BY_ROLE[role]).get(f"{ORGANISATIONS}/{demo.id}")
        assert response.status_code == 200
        card = response.json()
        assert (card["id"], card["kind"], card["name"], card["siret"], card["rna"]) == (
            str(demo.id),
            demo.kind,
            demo.name,
            demo.siret,
            demo.rna,
        )
        assert response.headers["etag"] == f'"{_card(world, str(demo.id)).version}"'

    def test_anonymous_is_401(self, anonymous: Api) -> None:
        response = anonymous.get(f"{ORGANISATIONS}/{BLOSNE}")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Blosne" not in response.text

    def test_an_unknown_id_is_404(self, world: World) -> None:
        response = world.as_("identity", HOLDER).get(f"{ORGANISATIONS}/{new_uuid()}")
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"

    def test_a_malformed_id_names_no_organisation(self, world: World) -> None:
        # A UUID-typed segment matches only a UUID, so that `/organisations/signup` is never taken for an id.
        response = world.as_("identity", HOLDER).get(f"{ORGANISATIONS}/not-a-uuid")
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"


class TestListOrganisations:
    def test_the_directory_lists_every_organisation(self, world: World) -> None:
        response = world.as_("identity", HOLDER).get(ORGANISATIONS, params={"limit": 200})
        assert response.status_code == 200
        assert {o["id"] for o in response.json()["items"]} == {str(o.id) for o in demo_data.ORGANISATIONS}

    @pytest.mark.parametrize("kind", ["funder", "association", "citizen_council"])
    def test_filters_by_kind(self, world: World, kind: str) -> None:
        response = world.as_("identity", HOLDER).get(ORGANISATIONS, params={"kind": kind})
        assert response.status_code == 200
        expected = {str(o.id) for o in demo_data.ORGANISATIONS if o.kind == kind}
        assert {o["id"] for o in response.json()["items"]} == expected

    def test_an_unknown_kind_is_422(self, world: World) -> None:
        assert world.as_("identity", HOLDER).get(ORGANISATIONS, params={"kind": "bank"}).status_code == 422

    def test_pages_walk_every_organisation_once(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        seen: list[str] = []
        cursor = None
        for _ in range(len(demo_data.ORGANISATIONS) + 2):
            page = api.get(ORGANISATIONS, params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
            assert len(page["items"]) <= 3
            seen += [o["id"] for o in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert cursor is None
        assert sorted(seen) == sorted(str(o.id) for o in demo_data.ORGANISATIONS)

    @pytest.mark.parametrize("limit", [0, 201])
    def test_a_limit_out_of_range_is_422(self, world: World, limit: int) -> None:
        assert world.as_("identity", HOLDER).get(ORGANISATIONS, params={"limit": limit}).status_code == 422

    def test_anonymous_is_401(self, anonymous: Api) -> None:
        assert anonymous.get(ORGANISATIONS).status_code == 401


class TestUpdateOrganisation:
    def _etag(self, api: Api, organisation_id: str = BLOSNE) -> str:
        response = api.get(f"{ORGANISATIONS}/{organisation_id}")
        assert response.status_code == 200
        return response.headers["etag"]

    def test_without_if_match_is_428_and_nothing_changes(self, world: World) -> None:
        response = world.as_("identity", HOLDER).patch(f"{ORGANISATIONS}/{BLOSNE}", json={"name": "Nouveau nom"})
        assert response.status_code == 428
        assert problem(response)["code"] == "precondition_required"
        assert _card(world, BLOSNE).name == demo_data.organisation("blosne-avenir").name

    def test_with_the_current_etag_the_change_is_applied_and_the_etag_changes(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        etag = self._etag(api)
        response = api.patch(
            f"{ORGANISATIONS}/{BLOSNE}",
            json={"name": "Blosne Avenir (nouveau nom)", "address": "12 rue de Bourgogne, Rennes"},
            headers={"If-Match": etag},
        )
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "Blosne Avenir (nouveau nom)"
        assert response.json()["address"] == "12 rue de Bourgogne, Rennes"
        assert response.headers["etag"] != etag
        assert self._etag(api) == response.headers["etag"]
        row = _card(world, BLOSNE)
        assert row.name == "Blosne Avenir (nouveau nom)"
        assert row.updated_at > row.created_at
        # Fields not sent are left alone.
        assert row.siret == demo_data.organisation("blosne-avenir").siret

    def test_a_stale_etag_is_412_with_the_current_one(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        stale = self._etag(api)
        assert (
            api.patch(f"{ORGANISATIONS}/{BLOSNE}", json={"name": "Premier"}, headers={"If-Match": stale}).status_code
            == 200
        )
        response = api.patch(f"{ORGANISATIONS}/{BLOSNE}", json={"name": "Second"}, headers={"If-Match": stale})
        assert response.status_code == 412
        refused = problem(response)
        assert refused["code"] == "precondition_failed"
        assert refused["current_etag"] == self._etag(api)
        assert _card(world, BLOSNE).name == "Premier"

    @pytest.mark.parametrize("if_match", ['"999"', "garbage", '"0"'])
    def test_an_etag_that_never_was_is_412(self, world: World, if_match: str) -> None:
        response = world.as_("identity", HOLDER).patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"name": "X"}, headers={"If-Match": if_match}
        )
        assert response.status_code == 412
        assert _card(world, BLOSNE).name == demo_data.organisation("blosne-avenir").name

    def test_another_organisations_admin_gets_404_even_with_the_right_etag(self, world: World) -> None:
        etag = self._etag(world.as_("identity", HOLDER))
        response = world.as_("identity", OTHER_HOLDER).patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"name": "Pris !"}, headers={"If-Match": etag}
        )
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"
        assert _card(world, BLOSNE).name == demo_data.organisation("blosne-avenir").name
        assert self._etag(world.as_("identity", HOLDER)) == etag

    def test_a_funder_manager_cannot_change_an_association(self, world: World) -> None:
        etag = self._etag(world.as_("identity", HOLDER))
        response = world.as_("identity", CITY_MANAGER).patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"name": "Pris !"}, headers={"If-Match": etag}
        )
        assert response.status_code == 404

    def test_a_holder_member_is_403(self, world: World) -> None:
        etag = self._etag(world.as_("identity", HOLDER))
        response = world.as_("identity", HOLDER_MEMBER).patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"name": "X"}, headers={"If-Match": etag}
        )
        assert response.status_code == 403
        assert _card(world, BLOSNE).name == demo_data.organisation("blosne-avenir").name

    def test_the_desk_coordinator_changes_the_desk(self, world: World) -> None:
        api = world.as_("identity", DESK)
        desk = demo_org("desk")
        response = api.patch(
            f"{ORGANISATIONS}/{desk}",
            json={"email": "contact@guichet.example"},
            headers={"If-Match": self._etag(api, desk)},
        )
        assert response.status_code == 200
        assert response.json()["email"] == "contact@guichet.example"

    def test_the_platform_admin_changes_any_organisation(self, world: World) -> None:
        api = world.as_("identity", PLATFORM)
        response = api.patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"name": "Renommée"}, headers={"If-Match": self._etag(api)}
        )
        assert response.status_code == 200
        assert _card(world, BLOSNE).name == "Renommée"

    def test_if_match_star_matches_any_version(self, world: World) -> None:
        response = world.as_("identity", HOLDER).patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"name": "Étoile"}, headers={"If-Match": "*"}
        )
        assert response.status_code == 200

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "funder"},
            {"siret": "73282932000074"},
            {"rna": "W751234567"},
            {"funder_category": "state"},
            {"id": new_uuid()},
            {"version": 1},
            {"name": ""},
            {"name": None},
            {"email": "pas-une-adresse"},
        ],
        ids=["kind", "siret", "rna", "funder-category", "id", "version", "empty-name", "null-name", "bad-email"],
    )
    def test_fields_that_cannot_change_or_are_invalid_are_422(self, world: World, body: dict[str, Any]) -> None:
        api = world.as_("identity", HOLDER)
        etag = self._etag(api)
        response = api.patch(f"{ORGANISATIONS}/{BLOSNE}", json=body, headers={"If-Match": etag})
        assert response.status_code == 422, response.text
        assert problem(response)["errors"]
        row = _card(world, BLOSNE)
        demo = demo_data.organisation("blosne-avenir")
        assert (row.kind, row.name, row.siret, row.rna) == (demo.kind, demo.name, demo.siret, demo.rna)
        assert self._etag(api) == etag

    def test_clearing_an_optional_field_with_null_is_allowed(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        first = api.patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"address": "1 place"}, headers={"If-Match": self._etag(api)}
        )
        assert first.status_code == 200
        second = api.patch(
            f"{ORGANISATIONS}/{BLOSNE}", json={"address": None}, headers={"If-Match": first.headers["etag"]}
        )
        assert second.status_code == 200
        assert second.json()["address"] is None

    def test_concurrent_changes_from_the_same_read_let_exactly_one_win(self, world: World) -> None:
        api = world.as_("identity", HOLDER)
        etag = self._etag(api)
        names = [f"Version concurrente {n}" for n in range(4)]

        async def race() -> list:
            return await asyncio.gather(
                *(
                    api.client.patch(
                        f"{ORGANISATIONS}/{BLOSNE}",
                        json={"name": name},
                        headers={"If-Match": etag, "Authorization": f"Bearer {api.token}"},
                    )
                    for name in names
                )
            )

        responses = world.stack.run(race)
        assert sorted(r.status_code for r in responses) == [200] + [412] * (len(names) - 1)
        [winner] = [r for r in responses if r.status_code == 200]
        assert _card(world, BLOSNE).name == winner.json()["name"]
        assert self._etag(api) == winner.headers["etag"]

    def test_anonymous_is_401(self, anonymous: Api) -> None:
        response = anonymous.patch(f"{ORGANISATIONS}/{BLOSNE}", json={"name": "X"}, headers={"If-Match": "*"})
        assert response.status_code == 401


def test_an_empty_patch_keeps_the_organisations_etag(world) -> None:
    from tests.support.world import HOLDER, org_id

    api = world.as_("identity", HOLDER)
    url = f"/api/v1/organisations/{org_id('blosne-avenir')}"
    etag = api.get(url).headers["etag"]
    unchanged = api.patch(url, json={}, headers={"If-Match": etag})
    assert unchanged.status_code == 200 and unchanged.headers["etag"] == etag
    changed = api.patch(url, json={"address": "12 rue de Bourgogne, Rennes"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
