"""SIREN/SIRET (stdnum's rules: Luhn on the SIRET and its SIREN, La Poste's exception) and RNA: the rules, then the
same rules seen through the API."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col

from scripts import demo_data
from scripts.seed_demo import seed_identity
from services.identifiers import (
    LA_POSTE_SIREN,
    compact_siren,
    compact_siret,
    is_valid_rna,
    is_valid_siren,
    is_valid_siret,
    normal_rna,
)
from services.identity.models import Organisation, Person
from services.identity.passwords import Passwords
from services.identity.tests.helpers import SIGNUP_URL, count_rows, fetch_rows, signed_up, signup_body, update_rows
from tests.support.stack import Api, problem
from tests.support.world import World

ASCII_DIGITS = "0123456789"


def reference_luhn(number: str) -> bool:
    """Textbook Luhn, written independently: double every second digit from the right, add the digits."""
    doubled = "".join(str(int(d) * 2) if position % 2 else d for position, d in enumerate(reversed(number)))
    return sum(int(c) for c in doubled) % 10 == 0


def digit_sum(number: str) -> int:
    return sum(int(c) for c in number)


def la_poste_siret(tail: int) -> str:
    return LA_POSTE_SIREN + f"{tail:05d}"


# Real registry numbers (the issue's and the registries' own test vectors).
REAL_SIRENS = ["732829320", "443061841", "542051180", LA_POSTE_SIREN]
REAL_SIRETS = ["73282932000074", "44306184100047", "54205118000066"]
LA_POSTE_HEAD_OFFICE = "35600000000048"
# Luhn-valid as 14 digits, but their first nine digits are no valid SIREN.
SIRETS_WITH_A_BAD_SIREN = ["83456789400003", "73282932100007"]


class TestSiren:
    @pytest.mark.parametrize("siren", REAL_SIRENS)
    def test_real_sirens_are_valid(self, siren: str) -> None:
        assert is_valid_siren(siren)

    @given(st.text(alphabet=ASCII_DIGITS, min_size=8, max_size=8))
    def test_exactly_one_check_digit_completes_any_siren(self, prefix: str) -> None:
        completing = [d for d in ASCII_DIGITS if is_valid_siren(prefix + d)]
        assert completing == [d for d in ASCII_DIGITS if reference_luhn(prefix + d)]
        assert len(completing) == 1

    @pytest.mark.parametrize("siren", REAL_SIRENS)
    def test_any_single_wrong_digit_is_caught(self, siren: str) -> None:
        for position, original in enumerate(siren):
            for replacement in ASCII_DIGITS.replace(original, ""):
                mutated = siren[:position] + replacement + siren[position + 1 :]
                assert not is_valid_siren(mutated), mutated

    @pytest.mark.parametrize("typed", ["732 829 320", "732.829.320", "732\u00a0829\u00a0320"])
    def test_spaces_and_dots_are_taken_away(self, typed: str) -> None:
        assert compact_siren(typed) == "732829320"

    @pytest.mark.parametrize(
        "value",
        ["73282932", "7328293200", "", "73282932O", "732 82932", "-732829320", "٧٣٢٨٢٩٣٢٠", "²" * 9, "732-829-320"],
        ids=["too-short", "too-long", "empty", "letter-o", "8-digits-spaced", "sign", "arabic-indic-digits",
             "superscripts", "dashes"],
    )
    def test_anything_but_nine_ascii_digits_is_refused(self, value: str) -> None:
        assert is_valid_siren(value) is False
        assert compact_siren(value) is None


class TestSiret:
    @pytest.mark.parametrize("siret", REAL_SIRETS)
    def test_real_sirets_are_valid(self, siret: str) -> None:
        assert is_valid_siret(siret)

    @pytest.mark.parametrize("siret", REAL_SIRETS)
    def test_any_single_wrong_digit_is_caught(self, siret: str) -> None:
        for position, original in enumerate(siret):
            for replacement in ASCII_DIGITS.replace(original, ""):
                mutated = siret[:position] + replacement + siret[position + 1 :]
                assert not is_valid_siret(mutated), mutated

    @pytest.mark.parametrize("siret", SIRETS_WITH_A_BAD_SIREN)
    def test_a_luhn_valid_siret_whose_siren_fails_luhn_is_refused(self, siret: str) -> None:
        assert reference_luhn(siret) and not reference_luhn(siret[:9])
        assert is_valid_siret(siret) is False

    @given(st.text(alphabet=ASCII_DIGITS, min_size=13, max_size=13).filter(lambda p: not p.startswith(LA_POSTE_SIREN)))
    def test_outside_la_poste_a_siret_is_valid_exactly_when_it_and_its_siren_pass_luhn(self, prefix: str) -> None:
        completing = [d for d in ASCII_DIGITS if is_valid_siret(prefix + d)]
        if reference_luhn(prefix[:9]):
            assert completing == [d for d in ASCII_DIGITS if reference_luhn(prefix + d)]
            assert len(completing) == 1
        else:
            assert completing == []

    @pytest.mark.parametrize(
        "typed",
        ["732 829 320 00074", "732.829.320.00074", "732829320 00074", "732\u00a0829\u00a0320\u00a000074",
         "732\u202f829\u202f320\u202f00074", " 73282932000074 "],
        ids=["spaces", "dots", "siren-and-nic", "no-break-spaces", "narrow-no-break-spaces", "surrounding-spaces"],
    )
    def test_spaces_and_dots_typed_by_people_are_taken_away(self, typed: str) -> None:
        assert is_valid_siret(typed)
        assert compact_siret(typed) == "73282932000074"

    @pytest.mark.parametrize(
        "value",
        [
            "7328293200007",
            "732829320000744",
            "",
            "7328293200007A",
            "732-829-320-00074",
            "٧٣٢٨٢٩٣٢٠٠٠٠٧٤",
            "73282932000074\n",
            "²" * 14,
            "732 829 320 0007",
        ],
        ids=[
            "13-digits",
            "15-digits",
            "empty",
            "letter",
            "dashes",
            "arabic-indic-digits",
            "trailing-newline",
            "superscripts",
            "13-digits-spaced",
        ],
    )
    def test_anything_but_fourteen_ascii_digits_is_refused(self, value: str) -> None:
        assert is_valid_siret(value) is False
        assert compact_siret(value) is None

    def test_a_digit_sum_multiple_of_five_does_not_save_an_ordinary_siret(self) -> None:
        # The La Poste rule must not leak to other SIRENs.
        candidates = [f"73282932{tail:06d}" for tail in range(200)]
        only_by_sum = [c for c in candidates if digit_sum(c) % 5 == 0 and not reference_luhn(c)]
        assert only_by_sum, "the search should find such numbers"
        assert not any(is_valid_siret(c) for c in only_by_sum)


class TestLaPosteSiret:
    def test_the_head_office_is_valid_by_luhn_not_by_its_digit_sum(self) -> None:
        assert reference_luhn(LA_POSTE_HEAD_OFFICE)
        assert digit_sum(LA_POSTE_HEAD_OFFICE) % 5 != 0
        assert is_valid_siret(LA_POSTE_HEAD_OFFICE)

    def test_luhn_does_not_save_another_establishment(self) -> None:
        # Accepted by the hand-written rule this replaced (Luhn or digit sum): only the head office follows Luhn.
        assert reference_luhn("35600000000014") and digit_sum("35600000000014") % 5 != 0
        assert is_valid_siret("35600000000014") is False

    @pytest.mark.parametrize("tail", range(0, 400, 7))
    def test_an_establishment_is_valid_exactly_when_its_digit_sum_is_a_multiple_of_five(self, tail: int) -> None:
        siret = la_poste_siret(tail)
        assert siret != LA_POSTE_HEAD_OFFICE
        assert is_valid_siret(siret) is (digit_sum(siret) % 5 == 0)

    def test_establishments_that_fail_luhn_but_add_up_to_a_multiple_of_five_are_valid(self) -> None:
        only_by_sum = [
            s for s in (la_poste_siret(t) for t in range(1, 300)) if digit_sum(s) % 5 == 0 and not reference_luhn(s)
        ]
        assert len(only_by_sum) > 20
        assert all(is_valid_siret(s) for s in only_by_sum)

    def test_establishments_whose_digit_sum_is_no_multiple_of_five_are_refused(self) -> None:
        others = [s for s in (la_poste_siret(t) for t in range(1, 300)) if digit_sum(s) % 5 != 0]
        assert any(reference_luhn(s) for s in others), "Luhn-valid ones among them"
        assert not any(is_valid_siret(s) for s in others if s != LA_POSTE_HEAD_OFFICE)

    def test_the_exception_needs_the_whole_la_poste_siren(self) -> None:
        # Same first eight digits as La Poste, another ninth: ordinary Luhn applies.
        near = [f"35600000{ninth}{tail:05d}" for ninth in "123456789" for tail in range(60)]
        only_by_sum = [s for s in near if digit_sum(s) % 5 == 0 and not reference_luhn(s)]
        assert only_by_sum
        assert not any(is_valid_siret(s) for s in only_by_sum)


class TestRna:
    @pytest.mark.parametrize(
        "rna", ["W353012345", "W000000000", "W751234567", "W9P1002760", "W2A1000123", "W2B2000456"]
    )
    def test_w_and_nine_digits_or_capitals_is_valid(self, rna: str) -> None:
        assert is_valid_rna(rna)
        assert normal_rna(rna) == rna

    @pytest.mark.parametrize(
        ("typed", "stored"),
        [("w9p1002760", "W9P1002760"), ("W2a1000123", "W2A1000123"), ("w353012345", "W353012345")],
    )
    def test_lowercase_is_put_in_capitals(self, typed: str, stored: str) -> None:
        assert normal_rna(typed) == stored

    @pytest.mark.parametrize(
        "value",
        [
            "W35301234",
            "W3530123456",
            "353012345",
            "X353012345",
            "W35301234-",
            "W 353012345",
            "",
            "W353012345\n",
            " W353012345",
            "W٣٥٣٠١٢٣٤٥",
            "W9P10027ı0",
            "W9P10027ſ0",
            "W9P10027É0",
        ],
        ids=[
            "8-characters",
            "10-characters",
            "no-w",
            "another-letter-first",
            "dash",
            "space",
            "empty",
            "trailing-newline",
            "leading-space",
            "arabic-indic-digits",
            "dotless-i-whose-capital-is-ascii",
            "long-s-whose-capital-is-ascii",
            "accented-letter",
        ],
    )
    def test_anything_else_is_refused(self, value: str) -> None:
        assert is_valid_rna(value) is False
        assert normal_rna(value) is None


def _assert_refused_without_writes(world: World, anonymous: Api, body: dict, field_part: str) -> None:
    organisations, people = count_rows(world.stack, Organisation), count_rows(world.stack, Person)
    response = anonymous.post(SIGNUP_URL, json=body)
    assert response.status_code == 422, response.text
    refused = problem(response)
    assert refused["code"] == "validation_failed"
    assert any(field_part in error["field"] for error in refused["errors"]), refused["errors"]
    assert all(error["message"] for error in refused["errors"])
    assert count_rows(world.stack, Organisation) == organisations
    assert count_rows(world.stack, Person) == people


class TestIdentifiersThroughSignup:
    @pytest.mark.parametrize(
        "siret",
        ["73282932000075", "7328293200007", "7328293200007A", "٧٣٢٨٢٩٣٢٠٠٠٠٧٤", *SIRETS_WITH_A_BAD_SIREN,
         "35600000000014", "732-829-320-00074"],
        ids=["bad-luhn-key", "13-digits", "letter", "arabic-indic-digits", "bad-siren-834", "bad-siren-732",
             "la-poste-by-luhn", "dashes"],
    )
    def test_a_bad_siret_is_a_422_problem_and_writes_nothing(self, world: World, anonymous: Api, siret: str) -> None:
        _assert_refused_without_writes(world, anonymous, signup_body(siret=siret), "siret")

    @pytest.mark.parametrize("rna", ["W35301234", "X353012345", "W9P10027ı0"])
    def test_a_bad_rna_is_a_422_problem_and_writes_nothing(self, world: World, anonymous: Api, rna: str) -> None:
        _assert_refused_without_writes(world, anonymous, signup_body(siret=None, rna=rna), "rna")

    def test_the_field_error_is_explained_in_english_on_request(self, anonymous: Api) -> None:
        response = anonymous.post(
            SIGNUP_URL, json=signup_body(siret="73282932000075"), headers={"Accept-Language": "en"}
        )
        errors = problem(response)["errors"]
        siret_errors = [e for e in errors if e["field"].endswith("siret")]
        assert siret_errors and "check key" in siret_errors[0]["message"]
        assert "invalide" not in siret_errors[0]["message"]

    @pytest.mark.parametrize("typed", ["732 829 320 00074", "732.829.320.00074"])
    def test_a_siret_typed_with_spaces_or_dots_is_stored_as_fourteen_digits(
        self, world: World, anonymous: Api, typed: str
    ) -> None:
        assert signed_up(world, signup_body(siret=typed))["organisation"]["siret"] == "73282932000074"
        [stored] = [o.siret for o in _organisations(world, col(Organisation.name) == "Association Nouvelle Vague")]
        assert stored == "73282932000074"

    def test_the_same_siret_typed_otherwise_is_taken(self, world: World, anonymous: Api) -> None:
        signed_up(world, signup_body(siret="73282932000074"))
        again = anonymous.post(SIGNUP_URL, json=signup_body(siret="732 829 320 00074", email="autre@nouvelle.example"))
        assert again.status_code == 409 and problem(again)["code"] == "organisation_exists"

    @pytest.mark.parametrize(
        ("typed", "stored"), [("W9P1002760", "W9P1002760"), ("W2A1000123", "W2A1000123"), ("w2b2000456", "W2B2000456")]
    )
    def test_an_rna_with_letters_is_accepted_and_stored_in_capitals(
        self, world: World, anonymous: Api, typed: str, stored: str
    ) -> None:
        assert signed_up(world, signup_body(siret=None, rna=typed))["organisation"]["rna"] == stored
        assert count_rows(world.stack, Organisation, col(Organisation.rna) == stored) == 1

    def test_the_same_rna_in_lowercase_is_taken(self, world: World, anonymous: Api) -> None:
        signed_up(world, signup_body(siret=None, rna="W9P1002760"))
        body = signup_body(siret=None, rna="w9p1002760", email="autre@nouvelle.example")
        again = anonymous.post(SIGNUP_URL, json=body)
        assert again.status_code == 409 and problem(again)["code"] == "organisation_exists"

    def test_a_la_poste_establishment_valid_only_by_digit_sum_is_accepted(self, world: World, anonymous: Api) -> None:
        siret = next(
            s for s in (la_poste_siret(t) for t in range(1, 100)) if digit_sum(s) % 5 == 0 and not reference_luhn(s)
        )
        assert signed_up(world, signup_body(siret=siret))["organisation"]["siret"] == siret
        assert count_rows(world.stack, Organisation, col(Organisation.siret) == siret) == 1

    def test_a_la_poste_establishment_failing_both_rules_is_refused(self, world: World, anonymous: Api) -> None:
        siret = next(
            s for s in (la_poste_siret(t) for t in range(1, 100)) if digit_sum(s) % 5 != 0 and not reference_luhn(s)
        )
        _assert_refused_without_writes(world, anonymous, signup_body(siret=siret), "siret")


def _organisations(world: World, *where: Any) -> list[Organisation]:
    return fetch_rows(world.stack, Organisation, *where)


class TestTheDemosIdentifiers:
    @pytest.mark.parametrize("demo", demo_data.ORGANISATIONS, ids=lambda demo: demo.key)
    def test_every_demo_organisation_has_valid_identifiers(self, demo: demo_data.DemoOrganisation) -> None:
        assert demo.siret is None or (is_valid_siret(demo.siret) and compact_siret(demo.siret) == demo.siret)
        assert demo.rna is None or normal_rna(demo.rna) == demo.rna

    def test_a_database_seeded_with_a_former_invalid_siret_gets_the_valid_one(self, world: World) -> None:
        jardins = demo_data.organisation("jardins-gros-chene")
        update_rows(world.stack, Organisation, [col(Organisation.id) == jardins.id], siret="83456789400003")

        async def reseed() -> int:
            async with world.stack.apps["identity"].state.db.writer() as session:
                added = await seed_identity(session, Passwords(world.stack.settings["identity"]))
                await session.commit()
                return added

        assert world.stack.run(reseed) == 0
        [row] = _organisations(world, col(Organisation.id) == jardins.id)
        assert row.siret == jardins.siret and row.siret is not None and is_valid_siret(row.siret)
