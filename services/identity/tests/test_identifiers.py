"""SIREN/SIRET (Luhn key, La Poste's exception) and RNA: the rules, then the same rules seen through the API."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col

from services.identifiers import LA_POSTE_SIREN, is_valid_rna, is_valid_siren, is_valid_siret, luhn_valid
from services.identity.models import Organisation, Person
from services.identity.tests.helpers import SIGNUP_URL, count_rows, signed_up, signup_body
from tests.support.stack import Api, problem
from tests.support.world import World

ASCII_DIGITS = "0123456789"
digits = st.text(alphabet=ASCII_DIGITS, min_size=1, max_size=20)


def reference_luhn(number: str) -> bool:
    """Textbook Luhn, written independently: double every second digit from the right, add the digits."""
    doubled = "".join(str(int(d) * 2) if position % 2 else d for position, d in enumerate(reversed(number)))
    return sum(int(c) for c in doubled) % 10 == 0


def digit_sum(number: str) -> int:
    return sum(int(c) for c in number)


def la_poste_siret(tail: int) -> str:
    return LA_POSTE_SIREN + f"{tail:05d}"


# Real registry numbers, valid by Luhn.
REAL_SIRENS = ["732829320", "443061841", "542051180", LA_POSTE_SIREN]
REAL_SIRETS = ["73282932000074", "44306184100047", "54205118000066"]
LA_POSTE_HEAD_OFFICE = "35600000000048"


class TestLuhn:
    @given(digits)
    def test_agrees_with_the_textbook_algorithm(self, number: str) -> None:
        assert luhn_valid(number) is reference_luhn(number)

    @given(st.text(alphabet=ASCII_DIGITS, min_size=8, max_size=8))
    def test_exactly_one_check_digit_completes_any_siren(self, prefix: str) -> None:
        completing = [d for d in ASCII_DIGITS if is_valid_siren(prefix + d)]
        assert len(completing) == 1


class TestSiren:
    @pytest.mark.parametrize("siren", REAL_SIRENS)
    def test_real_sirens_are_valid(self, siren: str) -> None:
        assert is_valid_siren(siren)

    @pytest.mark.parametrize("siren", REAL_SIRENS)
    def test_any_single_wrong_digit_is_caught(self, siren: str) -> None:
        for position, original in enumerate(siren):
            for replacement in ASCII_DIGITS.replace(original, ""):
                mutated = siren[:position] + replacement + siren[position + 1 :]
                assert not is_valid_siren(mutated), mutated

    @pytest.mark.parametrize(
        "value",
        ["73282932", "7328293200", "", "73282932O", "732 82932", "-73282932", "٧٣٢٨٢٩٣٢٠", "²" * 9],
        ids=["too-short", "too-long", "empty", "letter-o", "space", "sign", "arabic-indic-digits", "superscripts"],
    )
    def test_anything_but_nine_ascii_digits_is_refused(self, value: str) -> None:
        assert is_valid_siren(value) is False


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

    @given(st.text(alphabet=ASCII_DIGITS, min_size=13, max_size=13).filter(lambda p: not p.startswith(LA_POSTE_SIREN)))
    def test_outside_la_poste_exactly_one_check_digit_completes_a_siret(self, prefix: str) -> None:
        completing = [d for d in ASCII_DIGITS if is_valid_siret(prefix + d)]
        assert completing == [d for d in ASCII_DIGITS if reference_luhn(prefix + d)]
        assert len(completing) == 1

    @pytest.mark.parametrize(
        "value",
        [
            "7328293200007",
            "732829320000744",
            "",
            "7328293200007A",
            "73282932 00074",
            "٧٣٢٨٢٩٣٢٠٠٠٠٧٤",
            "73282932000074\n",
            "²" * 14,
        ],
        ids=[
            "13-digits",
            "15-digits",
            "empty",
            "letter",
            "space",
            "arabic-indic-digits",
            "trailing-newline",
            "superscripts",
        ],
    )
    def test_anything_but_fourteen_ascii_digits_is_refused(self, value: str) -> None:
        assert is_valid_siret(value) is False

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

    @pytest.mark.parametrize("tail", range(0, 400, 7))
    def test_an_establishment_is_valid_exactly_when_luhn_or_its_digit_sum_says_so(self, tail: int) -> None:
        siret = la_poste_siret(tail)
        expected = reference_luhn(siret) or digit_sum(siret) % 5 == 0
        assert is_valid_siret(siret) is expected

    def test_establishments_that_fail_luhn_but_add_up_to_a_multiple_of_five_are_valid(self) -> None:
        only_by_sum = [
            s for s in (la_poste_siret(t) for t in range(1, 300)) if digit_sum(s) % 5 == 0 and not reference_luhn(s)
        ]
        assert len(only_by_sum) > 20
        assert all(is_valid_siret(s) for s in only_by_sum)

    def test_establishments_that_fail_both_rules_are_refused(self) -> None:
        neither = [
            s for s in (la_poste_siret(t) for t in range(1, 300)) if digit_sum(s) % 5 != 0 and not reference_luhn(s)
        ]
        assert len(neither) > 100
        assert not any(is_valid_siret(s) for s in neither)

    def test_the_exception_needs_the_whole_la_poste_siren(self) -> None:
        # Same first eight digits as La Poste, another ninth: ordinary Luhn applies.
        near = [f"35600000{ninth}{tail:05d}" for ninth in "123456789" for tail in range(60)]
        only_by_sum = [s for s in near if digit_sum(s) % 5 == 0 and not reference_luhn(s)]
        assert only_by_sum
        assert not any(is_valid_siret(s) for s in only_by_sum)


class TestRna:
    @pytest.mark.parametrize("rna", ["W353012345", "W000000000", "W751234567"])
    def test_w_and_nine_digits_is_valid(self, rna: str) -> None:
        assert is_valid_rna(rna)

    @pytest.mark.parametrize(
        "value",
        [
            "w353012345",
            "W35301234",
            "W3530123456",
            "353012345",
            "WW35301234",
            "W35301234A",
            "W 353012345",
            "",
            "W353012345\n",
            " W353012345",
            "W٣٥٣٠١٢٣٤٥",
        ],
        ids=[
            "lowercase-w",
            "8-digits",
            "10-digits",
            "no-w",
            "two-w",
            "letter",
            "space",
            "empty",
            "trailing-newline",
            "leading-space",
            "arabic-indic-digits",
        ],
    )
    def test_anything_else_is_refused(self, value: str) -> None:
        assert is_valid_rna(value) is False


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
        ["73282932000075", "7328293200007", "7328293200007A", "٧٣٢٨٢٩٣٢٠٠٠٠٧٤"],
        ids=["bad-luhn-key", "13-digits", "letter", "arabic-indic-digits"],
    )
    def test_a_bad_siret_is_a_422_problem_and_writes_nothing(self, world: World, anonymous: Api, siret: str) -> None:
        _assert_refused_without_writes(world, anonymous, signup_body(siret=siret), "siret")

    @pytest.mark.parametrize("rna", ["W35301234", "X353012345", "w353012345"])
    def test_a_bad_rna_is_a_422_problem_and_writes_nothing(self, world: World, anonymous: Api, rna: str) -> None:
        _assert_refused_without_writes(world, anonymous, signup_body(siret=None, rna=rna), "rna")

    def test_the_field_error_is_explained_in_english_on_request(self, anonymous: Api) -> None:
        response = anonymous.post(
            SIGNUP_URL, json=signup_body(siret="73282932000075"), headers={"Accept-Language": "en"}
        )
        errors = problem(response)["errors"]
        siret_errors = [e for e in errors if e["field"].endswith("siret")]
        assert siret_errors and "Luhn" in siret_errors[0]["message"]
        assert "invalide" not in siret_errors[0]["message"]

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
