"""POST /api/v1/organisations/signup: an association registers itself with its first admin."""

import asyncio
from typing import Any

import pytest

from scripts import demo_data
from services.identity.models import Membership, Organisation, Person
from services.identity.tests.helpers import SIGNUP_URL, claims, count_rows, fetch_rows, password_login, signup_body
from tests.support.stack import Api, Stack, problem
from tests.support.world import HOLDER, World


def _totals(stack: Stack) -> tuple[int, int, int]:
    return count_rows(stack, Organisation), count_rows(stack, Person), count_rows(stack, Membership)


class TestSignupHappyPath:
    def test_creates_the_association_and_its_admin(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        body = signup_body(siret="73282932000074", rna="W751234567", email="Presidente@Nouvelle.example")
        response = anonymous.post(SIGNUP_URL, json=body)

        assert response.status_code == 201, response.text
        created = response.json()
        organisation = created["organisation"]
        assert organisation["kind"] == "association"
        assert organisation["name"] == body["organisation"]["name"]
        assert organisation["siret"] == "73282932000074"
        assert organisation["rna"] == "W751234567"
        assert response.headers["location"] == f"/api/v1/organisations/{organisation['id']}"
        assert created["admin"]["email"] == "presidente@nouvelle.example"
        assert created["admin"]["full_name"] == body["admin"]["full_name"]
        assert "password" not in response.text
        assert "password_hash" not in response.text
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1, before[2] + 1)

    def test_the_password_is_stored_as_an_argon2id_hash(self, world: World, anonymous: Api) -> None:
        body = signup_body()
        assert anonymous.post(SIGNUP_URL, json=body).status_code == 201
        [person] = fetch_rows(world.stack, Person, Person.email == body["admin"]["email"])
        assert person.password_hash.startswith("$argon2id$")
        assert body["admin"]["password"] not in person.password_hash

    def test_the_admin_logs_in_as_holder_admin_of_the_new_association(self, world: World, anonymous: Api) -> None:
        body = signup_body(email="tresorier@nouvelle.example")
        created = anonymous.post(SIGNUP_URL, json=body).json()

        login = password_login(anonymous, "tresorier@nouvelle.example", body["admin"]["password"])
        assert login.status_code == 200, login.text
        token = claims(login.json()["access_token"])
        assert token["sub"] == created["admin"]["id"]
        assert token["org"] == created["organisation"]["id"]
        assert token["org_kind"] == "association"
        assert token["roles"] == ["holder_admin"]
        assert token["kind"] == "user"

    def test_the_location_is_readable_by_the_new_admin(self, world: World, anonymous: Api) -> None:
        body = signup_body()
        response = anonymous.post(SIGNUP_URL, json=body)
        token = password_login(anonymous, body["admin"]["email"], body["admin"]["password"]).json()["access_token"]
        read = anonymous.get(response.headers["location"], token=token)
        assert read.status_code == 200
        assert read.json() == response.json()["organisation"]
        assert read.headers["etag"] == response.headers["etag"]

    @pytest.mark.parametrize(
        ("siret", "rna"), [("73282932000074", None), (None, "W751234567")], ids=["siret-only", "rna-only"]
    )
    def test_one_registry_identifier_is_enough(
        self, world: World, anonymous: Api, siret: str | None, rna: str | None
    ) -> None:
        response = anonymous.post(SIGNUP_URL, json=signup_body(siret=siret, rna=rna))
        assert response.status_code == 201, response.text
        assert response.json()["organisation"]["siret"] == siret
        assert response.json()["organisation"]["rna"] == rna


class TestSignupConflicts:
    @pytest.mark.parametrize(
        "identifiers",
        [
            {"siret": demo_data.organisation("blosne-avenir").siret, "rna": None},
            {"siret": None, "rna": demo_data.organisation("blosne-avenir").rna},
            {"siret": "73282932000074", "rna": demo_data.organisation("maurepas-solidaire").rna},
            {"siret": demo_data.organisation("ville").siret, "rna": None},
        ],
        ids=["same-siret", "same-rna", "new-siret-taken-rna", "a-funder-siret"],
    )
    def test_a_taken_siret_or_rna_is_409_and_writes_nothing(
        self, world: World, anonymous: Api, identifiers: dict[str, Any]
    ) -> None:
        before = _totals(world.stack)
        response = anonymous.post(SIGNUP_URL, json=signup_body(**identifiers))
        assert response.status_code == 409, response.text
        assert problem(response)["code"] == "organisation_exists"
        assert _totals(world.stack) == before

    @pytest.mark.parametrize("email", [HOLDER, HOLDER.upper()], ids=["same-case", "other-case"])
    def test_an_email_that_already_has_an_account_is_409_and_writes_nothing(
        self, world: World, anonymous: Api, email: str
    ) -> None:
        before = _totals(world.stack)
        response = anonymous.post(SIGNUP_URL, json=signup_body(email=email))
        assert response.status_code == 409, response.text
        assert problem(response)["code"] == "email_taken"
        assert _totals(world.stack) == before

    def test_the_same_signup_twice_is_refused_the_second_time(self, world: World, anonymous: Api) -> None:
        body = signup_body()
        assert anonymous.post(SIGNUP_URL, json=body).status_code == 201
        before = _totals(world.stack)
        again = anonymous.post(SIGNUP_URL, json=body)
        assert again.status_code == 409
        assert _totals(world.stack) == before


def _with(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


class TestSignupRefusedPayloads:
    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("kind",), "funder"),
            (("organisation", "kind"), "funder"),
            (("organisation", "kind"), "platform"),
            (("organisation", "id"), "6b1d2c7e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"),
            (("organisation", "funder_category"), "state"),
            (("admin", "roles"), ["platform_admin"]),
            (("admin", "id"), "6b1d2c7e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"),
            (("admin", "is_active"), True),
            (("admin", "password_hash"), "$argon2id$v=19$m=8,t=1,p=1$x$y"),
        ],
        ids=lambda v: ".".join(v) if isinstance(v, tuple) else None,
    )
    def test_privileged_or_unknown_fields_are_422_and_write_nothing(
        self, world: World, anonymous: Api, path: tuple[str, ...], value: Any
    ) -> None:
        before = _totals(world.stack)
        response = anonymous.post(SIGNUP_URL, json=_with(signup_body(), path, value))
        assert response.status_code == 422, response.text
        refused = problem(response)
        assert refused["code"] == "validation_failed"
        assert any(error["field"] == "body." + ".".join(path) for error in refused["errors"]), refused["errors"]
        assert _totals(world.stack) == before

    def test_neither_siret_nor_rna_is_422_and_writes_nothing(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        response = anonymous.post(SIGNUP_URL, json=signup_body(siret=None, rna=None))
        assert response.status_code == 422, response.text
        refused = problem(response)
        assert refused["errors"] and refused["errors"][0]["field"].startswith("body.organisation")
        assert _totals(world.stack) == before

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("admin", "password"), "court"),
            (("admin", "email"), "pas-une-adresse"),
            (("admin", "full_name"), "   "),
            (("organisation", "name"), ""),
            (("organisation", "email"), "pas-une-adresse"),
            (("organisation", "siret"), 73282932000074),
        ],
        ids=lambda v: ".".join(v) if isinstance(v, tuple) else None,
    )
    def test_invalid_fields_are_422_naming_the_field(
        self, world: World, anonymous: Api, path: tuple[str, ...], value: Any
    ) -> None:
        before = _totals(world.stack)
        response = anonymous.post(SIGNUP_URL, json=_with(signup_body(), path, value))
        assert response.status_code == 422, response.text
        assert "body." + ".".join(path) in [error["field"] for error in problem(response)["errors"]]
        assert _totals(world.stack) == before

    @pytest.mark.parametrize("missing", ["organisation", "admin"])
    def test_a_missing_part_is_422(self, world: World, anonymous: Api, missing: str) -> None:
        body = signup_body()
        del body[missing]
        response = anonymous.post(SIGNUP_URL, json=body)
        assert response.status_code == 422
        assert f"body.{missing}" in [error["field"] for error in problem(response)["errors"]]

    def test_malformed_json_is_400(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        response = anonymous.post(
            SIGNUP_URL, content=b'{"organisation": {', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert problem(response)["code"] == "malformed_json"
        assert _totals(world.stack) == before


class TestConcurrentSignups:
    def _race(self, world: World, anonymous: Api, bodies: list[dict[str, Any]]) -> list:
        async def race() -> list:
            return await asyncio.gather(*(anonymous.client.post(SIGNUP_URL, json=body) for body in bodies))

        return world.stack.run(race)

    def test_the_same_siret_signed_up_at_once_is_created_once(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        bodies = [signup_body(email=f"admin{n}@nouvelle.example") for n in range(3)]
        responses = self._race(world, anonymous, bodies)
        assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
        assert {problem(r)["code"] for r in responses if r.status_code == 409} == {"organisation_exists"}
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1, before[2] + 1)

    def test_the_same_email_signed_up_at_once_gets_one_account(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        bodies = [signup_body(siret="73282932000074"), signup_body(siret=None, rna="W751234567")]
        responses = self._race(world, anonymous, bodies)
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        [refused] = [r for r in responses if r.status_code == 409]
        assert problem(refused)["code"] == "email_taken"
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1, before[2] + 1)
