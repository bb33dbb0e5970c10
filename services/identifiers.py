"""French registry identifiers, shared by the services: SIREN/SIRET (Luhn, with La Poste's exception) and RNA."""

import re

LA_POSTE_SIREN = "356000000"
# ASCII digits only: `\d` and str.isdigit() also accept other scripts' digits ("٣") and superscripts ("²").
_SIREN = re.compile(r"[0-9]{9}")
_SIRET = re.compile(r"[0-9]{14}")
_RNA = re.compile(r"W[0-9]{9}")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_valid_siren(value: str) -> bool:
    return bool(_SIREN.fullmatch(value)) and luhn_valid(value)


def is_valid_siret(value: str) -> bool:
    if not _SIRET.fullmatch(value):
        return False
    if value.startswith(LA_POSTE_SIREN):
        # La Poste's establishments break Luhn; their digits add up to a multiple of 5 instead.
        return luhn_valid(value) or sum(int(c) for c in value) % 5 == 0
    return luhn_valid(value)


def is_valid_rna(value: str) -> bool:
    # fullmatch, not match with `$`: `$` also matches before a trailing newline.
    return bool(_RNA.fullmatch(value))
