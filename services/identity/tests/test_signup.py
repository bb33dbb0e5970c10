"""POST /api/v1/organisations/signup and /signup/verify: an association registers itself with its first admin, who
proves the address by the link mailed to it; nothing exists, and nothing is held, until then."""

import asyncio
import uuid
from typing import Any

import pytest
from sqlmodel import col

from scripts import demo_data
from services.identity.models import AuditEvent, Membership, Organisation, PendingSignup, Person
from services.identity.tests.helpers import (
    SIGNUP_URL,
    SIGNUP_VERIFY_URL,
    claims,
    count_rows,
    fetch_rows,
    password_login,
    signed_up,
    signup_body,
)
from tests.support.stack import Api, Stack, problem
from tests.support.world import HOLDER, World


def _totals(stack: Stack) -> tuple[int, int, int]:
    return count_rows(stack, Organisation), count_rows(stack, Person), count_rows(stack, Membership)


def _ask(world: World, anonymous: Api, body: dict[str, Any], *, caller: str = "198.51.100.7") -> str:
    """The sign-up asked (by a client at that address, as the gateway names it); the token its mail carries."""
    response = anonymous.post(SIGNUP_URL, json=body, headers={"X-Forwarded-For": caller})
    assert response.status_code == 202, response.text
    return world.stack.identity_mail.token(body["admin"]["email"], "sgn_")


class TestTheSignupWaitsForTheAddress:
    def test_asking_creates_nothing_but_a_pending_signup_and_mails_its_link(
        self, world: World, anonymous: Api
    ) -> None:
        before = _totals(world.stack)
        body = signup_body(email="Presidente@Nouvelle.example")
        response = anonymous.post(SIGNUP_URL, json=body)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "verification_sent"
        assert response.json()["email"] == "presidente@nouvelle.example"
        assert response.json()["expires_at"] == "2026-06-17T09:00:00Z"  # TEST_NOW + 48 h
        assert _totals(world.stack) == before
        assert count_rows(world.stack, PendingSignup) == 1
        [mail] = world.stack.identity_mail.messages("presidente@nouvelle.example")
        token = world.stack.identity_mail.token("presidente@nouvelle.example", "sgn_")
        assert body["organisation"]["name"] in mail["Subject"]
        assert token not in response.text  # only the mailbox holds it
        [pending] = fetch_rows(world.stack, PendingSignup)
        assert token not in (pending.token_hash, pending.email) and pending.password_hash.startswith("$argon2id$")

    def test_an_unverified_signup_cannot_log_in(self, world: World, anonymous: Api) -> None:
        body = signup_body()
        _ask(world, anonymous, body)
        login = password_login(anonymous, body["admin"]["email"], body["admin"]["password"])
        assert login.status_code == 400 and problem(login)["code"] == "invalid_grant"

    def test_the_link_creates_the_association_and_its_admin(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        body = signup_body(siret="73282932000074", rna="W751234567")
        token = _ask(world, anonymous, body)
        response = anonymous.post(SIGNUP_VERIFY_URL, json={"token": token})
        assert response.status_code == 201, response.text
        organisation = response.json()["organisation"]
        assert (organisation["kind"], organisation["siret"], organisation["rna"]) == (
            "association", "73282932000074", "W751234567")
        assert organisation["status"] == "active"
        assert response.headers["location"] == f"/api/v1/organisations/{organisation['id']}"
        assert response.json()["admin"]["email"] == body["admin"]["email"]
        assert "password" not in response.text
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1, before[2] + 1)
        assert count_rows(world.stack, PendingSignup) == 0
        [person] = fetch_rows(world.stack, Person, Person.email == body["admin"]["email"])
        assert person.password_hash.startswith("$argon2id$") and body["admin"]["password"] not in person.password_hash
        actions = [e.action for e in fetch_rows(world.stack, AuditEvent, AuditEvent.email == body["admin"]["email"])]
        assert sorted(actions) == ["signup.requested", "signup.verified"]

    def test_the_admin_then_logs_in_as_holder_admin(self, world: World, anonymous: Api) -> None:
        body = signup_body(email="tresorier@nouvelle.example")
        created = signed_up(world, body)
        login = password_login(anonymous, "tresorier@nouvelle.example", body["admin"]["password"])
        assert login.status_code == 200, login.text
        token = claims(login.json()["access_token"])
        assert (token["sub"], token["org"], token["org_kind"], token["roles"], token["kind"]) == (
            created["admin"]["id"], created["organisation"]["id"], "association", ["holder_admin"], "user")
        read = anonymous.get(f"/api/v1/organisations/{created['organisation']['id']}",
                             token=login.json()["access_token"])
        assert read.status_code == 200 and read.json() == created["organisation"]

    def test_a_link_works_once(self, world: World, anonymous: Api) -> None:
        token = _ask(world, anonymous, signup_body())
        assert anonymous.post(SIGNUP_VERIFY_URL, json={"token": token}).status_code == 201
        before = _totals(world.stack)
        again = anonymous.post(SIGNUP_VERIFY_URL, json={"token": token})
        assert again.status_code == 404 and problem(again)["code"] == "token_unknown"
        assert _totals(world.stack) == before

    def test_an_unknown_token_is_404(self, world: World, anonymous: Api) -> None:
        response = anonymous.post(SIGNUP_VERIFY_URL, json={"token": "sgn_" + "x" * 43})
        assert response.status_code == 404 and problem(response)["code"] == "token_unknown"

    def test_an_unverified_signup_expires_after_48_hours(self, world: World, anonymous: Api) -> None:
        token = _ask(world, anonymous, signup_body())
        before = _totals(world.stack)
        world.stack.apps["identity"].state.clock.advance(hours=48, seconds=1)
        late = anonymous.post(SIGNUP_VERIFY_URL, json={"token": token})
        assert late.status_code == 410 and problem(late)["code"] == "token_expired"
        assert _totals(world.stack) == before
        # The next sign-up sweeps it away.
        _ask(world, anonymous, signup_body(siret=None, rna="W751234567", email="autre@nouvelle.example"))
        assert count_rows(world.stack, PendingSignup) == 1

    def test_nobody_squats_an_address_or_a_siret(self, world: World, anonymous: Api) -> None:
        """A stranger's unverified sign-up holds nothing: the real association signs up the same day with the
        same SIRET and address, and the first link opened wins."""
        squatter = _ask(world, anonymous, signup_body(password="le-mot-de-passe-de-l-intrus"), caller="203.0.113.66")
        world.stack.identity_mail.clear()
        owner = _ask(world, anonymous, signup_body())
        assert squatter != owner
        assert anonymous.post(SIGNUP_VERIFY_URL, json={"token": owner}).status_code == 201
        late = anonymous.post(SIGNUP_VERIFY_URL, json={"token": squatter})
        assert late.status_code == 409 and problem(late)["code"] == "organisation_exists"
        email = signup_body()["admin"]["email"]
        assert password_login(anonymous, email, "le-mot-de-passe-de-l-intrus").status_code == 400
        assert password_login(anonymous, email, signup_body()["admin"]["password"]).status_code == 200


class TestSignUpMailsAreNoFlood:
    def test_a_caller_asking_again_at_once_gets_the_same_answer_and_no_second_mail(
        self, world: World, anonymous: Api
    ) -> None:
        body = signup_body(siret=None, rna="W751234567", email="cible@exemple.org")
        answers = [anonymous.post(SIGNUP_URL, json=body, headers={"X-Forwarded-For": "203.0.113.66"})
                   for _ in range(5)]
        assert {a.status_code for a in answers} == {202}
        assert len({a.text for a in answers}) == 1
        world.stack.identity_mail.token("cible@exemple.org", "sgn_")  # the first one's mail
        assert len(world.stack.identity_mail.messages("cible@exemple.org")) == 1
        assert count_rows(world.stack, PendingSignup) == 1

    def test_a_stranger_s_sign_ups_never_hold_back_the_owner_s_mail(self, world: World, anonymous: Api) -> None:
        body = signup_body(siret=None, rna="W751234567", email="cible@exemple.org")
        anonymous.post(SIGNUP_URL, json=body, headers={"X-Forwarded-For": "203.0.113.66"})
        world.stack.identity_mail.token("cible@exemple.org", "sgn_")
        owner = anonymous.post(SIGNUP_URL, json=body, headers={"X-Forwarded-For": "198.51.100.7"})
        assert owner.status_code == 202
        import time

        deadline = time.monotonic() + 5
        while len(world.stack.identity_mail.messages("cible@exemple.org")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(world.stack.identity_mail.messages("cible@exemple.org")) == 2

    def test_a_minute_later_the_same_caller_is_mailed_again(self, world: World, anonymous: Api) -> None:
        body = signup_body(siret=None, rna="W751234567", email="cible@exemple.org")
        anonymous.post(SIGNUP_URL, json=body)
        world.stack.apps["identity"].state.clock.advance(seconds=61)
        anonymous.post(SIGNUP_URL, json=body)
        assert count_rows(world.stack, PendingSignup) == 2


class TestAnAddressThatHasAnAccount:
    def test_the_answer_is_the_one_a_new_address_gets(self, world: World, anonymous: Api) -> None:
        known = anonymous.post(SIGNUP_URL, json=signup_body(email=HOLDER))
        new = anonymous.post(SIGNUP_URL, json=signup_body(siret=None, rna="W751234567", email="neuve@nouvelle.example"))
        assert (known.status_code, new.status_code) == (202, 202)
        assert set(known.json()) == set(new.json()) and known.json()["status"] == new.json()["status"]
        assert known.headers.keys() == new.headers.keys()

    def test_its_owner_must_be_signed_in_to_confirm_and_keeps_the_password(
        self, world: World, anonymous: Api
    ) -> None:
        body = signup_body(email=HOLDER, password="un-autre-mot-de-passe-choisi")
        token = _ask(world, anonymous, body)
        [mail] = world.stack.identity_mail.messages(HOLDER)
        assert "déjà un compte" in mail.get_content()
        before = _totals(world.stack)
        anonymous_try = anonymous.post(SIGNUP_VERIFY_URL, json={"token": token})
        assert anonymous_try.status_code == 401 and problem(anonymous_try)["code"] == "sign_in_required"
        someone_else = anonymous.post(SIGNUP_VERIFY_URL, json={"token": token},
                                      token=world.login("presidence@maurepas-solidaire.example"))
        assert someone_else.status_code == 401
        assert _totals(world.stack) == before
        confirmed = anonymous.post(SIGNUP_VERIFY_URL, json={"token": token}, token=world.login(HOLDER))
        assert confirmed.status_code == 201, confirmed.text
        assert _totals(world.stack) == (before[0] + 1, before[1], before[2] + 1)
        assert password_login(anonymous, HOLDER).status_code == 200
        assert password_login(anonymous, HOLDER, "un-autre-mot-de-passe-choisi").status_code == 400
        chosen = password_login(anonymous, HOLDER, organisation_id=confirmed.json()["organisation"]["id"])
        assert claims(chosen.json()["access_token"])["roles"] == ["holder_admin"]


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
        assert count_rows(world.stack, PendingSignup) == 0
        assert world.stack.identity_mail.messages() == []

    def test_the_same_signup_verified_twice_is_refused_the_second_time(self, world: World, anonymous: Api) -> None:
        signed_up(world, signup_body())
        response = anonymous.post(SIGNUP_URL, json=signup_body())
        assert response.status_code == 409 and problem(response)["code"] == "organisation_exists"


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


STRASBOURG = {"court": "Tribunal judiciaire de Strasbourg", "volume": "72", "folio": "123"}


def _local(body: dict[str, Any], **organisation: Any) -> dict[str, Any]:
    """The sign-up body with these organisation fields (None removes one)."""
    for field, value in organisation.items():
        if value is None:
            body["organisation"].pop(field, None)
        else:
            body["organisation"][field] = value
    return body


def _refused(world: World, anonymous: Api, body: dict[str, Any], field: str, language: str = "fr") -> dict:
    before = _totals(world.stack)
    response = anonymous.post(SIGNUP_URL, json=body, headers={"Accept-Language": language})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    refused = problem(response)
    assert refused["code"] == "validation_failed"
    [error] = [e for e in refused["errors"] if e["field"] == field]
    assert _totals(world.stack) == before and count_rows(world.stack, PendingSignup) == 0
    return error


class TestAlsaceMoselleAssociations:
    """Moselle, Bas-Rhin and Haut-Rhin: associations are entered in the tribunal's register, not in the RNA."""

    @pytest.mark.parametrize(
        ("department", "court"),
        [("67", "Tribunal judiciaire de Strasbourg"), ("68", "Tribunal judiciaire de Colmar"),
         ("57", "Tribunal judiciaire de Metz")],
    )
    def test_an_association_signs_up_with_its_register_entry_alone(
        self, world: World, department: str, court: str
    ) -> None:
        register = {"court": court, "volume": "LXX", "folio": "123 bis"}
        body = _local(signup_body(siret=None), department=department, local_register=register)
        card = signed_up(world, body)["organisation"]
        assert (card["siret"], card["rna"], card["department"]) == (None, None, department)
        assert card["local_register"] == register and card["prefecture_receipt"] is None
        [row] = fetch_rows(world.stack, Organisation, col(Organisation.id) == uuid.UUID(card["id"]))
        assert (row.register_court, row.register_volume, row.register_folio) == (court, "LXX", "123 bis")
        read = world.as_("identity", HOLDER).get(f"/api/v1/organisations/{card['id']}")
        assert read.json()["local_register"] == register

    def test_an_association_signs_up_with_a_siret_alone(self, world: World) -> None:
        card = signed_up(world, _local(signup_body(), department="68"))["organisation"]
        assert (card["siret"], card["department"], card["local_register"]) == ("73282932000074", "68", None)

    def test_the_court_is_stored_with_single_spaces_and_an_entry_is_taken_once(
        self, world: World, anonymous: Api
    ) -> None:
        first = _local(signup_body(siret=None), department="67",
                       local_register=STRASBOURG | {"court": "  Tribunal  judiciaire de   Strasbourg "})
        assert signed_up(world, first)["organisation"]["local_register"] == STRASBOURG
        again = _local(signup_body(siret=None, email="autre@nouvelle.example"), department="67",
                       local_register=STRASBOURG)
        response = anonymous.post(SIGNUP_URL, json=again)
        assert response.status_code == 409 and problem(response)["code"] == "organisation_exists"
        other_folio = _local(signup_body(siret=None, email="autre@nouvelle.example"), department="67",
                             local_register=STRASBOURG | {"folio": "124"})
        assert signed_up(world, other_folio)["organisation"]["local_register"]["folio"] == "124"

    @pytest.mark.parametrize("department", ["35", "2A", None], ids=["ille-et-vilaine", "corse-du-sud", "none"])
    def test_a_register_entry_outside_alsace_moselle_is_422_on_the_department(
        self, world: World, anonymous: Api, department: str | None
    ) -> None:
        body = _local(signup_body(siret=None), department=department, local_register=STRASBOURG)
        error = _refused(world, anonymous, body, "body.organisation.department", "en")
        assert "57, 67 or 68" in error["message"]

    @pytest.mark.parametrize("missing", ["court", "volume", "folio"])
    def test_an_incomplete_register_entry_is_422_naming_the_part(
        self, world: World, anonymous: Api, missing: str
    ) -> None:
        register = {k: v for k, v in STRASBOURG.items() if k != missing}
        body = _local(signup_body(siret=None), department="67", local_register=register)
        _refused(world, anonymous, body, f"body.organisation.local_register.{missing}")

    @pytest.mark.parametrize(
        ("part", "value"), [("court", "   "), ("volume", ""), ("folio", "12;3"), ("volume", "1" * 17)],
        ids=["blank-court", "empty-volume", "punctuation", "too-long"],
    )
    def test_a_malformed_register_part_is_422(self, world: World, anonymous: Api, part: str, value: str) -> None:
        body = _local(signup_body(siret=None), department="67", local_register=STRASBOURG | {part: value})
        _refused(world, anonymous, body, f"body.organisation.local_register.{part}")

    @pytest.mark.parametrize("language", ["fr", "en"])
    def test_without_siret_or_register_entry_the_problem_names_what_counts_there(
        self, world: World, anonymous: Api, language: str
    ) -> None:
        error = _refused(world, anonymous, _local(signup_body(siret=None), department="57"),
                         "body.organisation.siret", language)
        assert ("registre des associations du tribunal" if language == "fr" else "tribunal's register") in (
            error["message"])
        assert "RNA" not in error["message"]

    @pytest.mark.parametrize("department", ["57", "67", "68"])
    def test_a_prefecture_receipt_in_alsace_moselle_is_422(
        self, world: World, anonymous: Api, department: str
    ) -> None:
        body = _local(signup_body(siret=None), department=department, prefecture_receipt="Récépissé n° 1987-0412")
        _refused(world, anonymous, body, "body.organisation.prefecture_receipt")

    @pytest.mark.parametrize("department", ["20", "2a", "99", "979", "6", "067"])
    def test_an_unknown_department_is_422(self, world: World, anonymous: Api, department: str) -> None:
        _refused(world, anonymous, _local(signup_body(), department=department), "body.organisation.department")


class TestOlderAssociations:
    @pytest.mark.parametrize("department", ["35", "971", None], ids=["ille-et-vilaine", "guadeloupe", "none"])
    def test_an_older_association_signs_up_with_its_prefecture_receipt(
        self, world: World, department: str | None
    ) -> None:
        body = _local(signup_body(siret=None), department=department, prefecture_receipt="  Récépissé n° 1987-0412 ")
        card = signed_up(world, body)["organisation"]
        assert (card["siret"], card["rna"], card["department"]) == (None, None, department)
        assert card["prefecture_receipt"] == "Récépissé n° 1987-0412"

    @pytest.mark.parametrize("language", ["fr", "en"])
    def test_without_any_identifier_the_problem_names_the_receipt(
        self, world: World, anonymous: Api, language: str
    ) -> None:
        error = _refused(world, anonymous, _local(signup_body(siret=None), department="35"),
                         "body.organisation.siret", language)
        assert ("récépissé" if language == "fr" else "prefecture receipt") in error["message"]

    @pytest.mark.parametrize("receipt", ["", "   ", "x" * 51])
    def test_a_blank_or_overlong_receipt_is_422(self, world: World, anonymous: Api, receipt: str) -> None:
        _refused(world, anonymous, _local(signup_body(siret=None), prefecture_receipt=receipt),
                 "body.organisation.prefecture_receipt")


class TestConcurrentVerifications:
    def _race(self, world: World, anonymous: Api, tokens: list[str]) -> list:
        async def race() -> list:
            return await asyncio.gather(
                *(anonymous.client.post(SIGNUP_VERIFY_URL, json={"token": token}) for token in tokens)
            )

        return world.stack.run(race)

    def test_the_same_siret_verified_at_once_is_created_once(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        tokens = [_ask(world, anonymous, signup_body(email=f"admin{n}@nouvelle.example")) for n in range(3)]
        responses = self._race(world, anonymous, tokens)
        assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
        assert {problem(r)["code"] for r in responses if r.status_code == 409} == {"organisation_exists"}
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1, before[2] + 1)

    def test_the_same_new_address_verified_at_once_gets_one_account(self, world: World, anonymous: Api) -> None:
        before = _totals(world.stack)
        # Two callers (one caller asking twice in a minute is mailed once).
        tokens = [_ask(world, anonymous, signup_body(siret="73282932000074")),
                  _ask(world, anonymous, signup_body(siret=None, rna="W751234567"), caller="203.0.113.66")]
        responses = self._race(world, anonymous, tokens)
        [refused] = [r for r in responses if r.status_code != 201]
        # PostgreSQL runs both at once (the unique address refuses the second); SQLite one after the other (the
        # second finds the account made, and asks its owner to sign in).
        assert (refused.status_code, problem(refused)["code"]) in {(409, "email_taken"), (401, "sign_in_required")}
        assert _totals(world.stack) == (before[0] + 1, before[1] + 1, before[2] + 1)
