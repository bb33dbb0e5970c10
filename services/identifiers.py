"""French registry identifiers, shared by the services: SIREN/SIRET and RNA.

SIREN and SIRET are checked by `python-stdnum`, which knows the registries' rules (Luhn on the SIRET and on its
SIREN, La Poste's establishments by their digit sum, its head office by Luhn) and is what the official SCDL
validator uses: a number the desk accepts is one the open-data validator accepts.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from common.problems import bilingual

LA_POSTE_SIREN = "356000000"
# What people type between the digits: spaces (the no-break ones of formatted documents too) and dots. Nothing else
# is taken away: stdnum's own `compact` also strips surrounding whitespace and folds Unicode dashes.
_SEPARATORS = str.maketrans("", "", " .\u00a0\u202f")
# ASCII digits only: `\d` and str.isdigit() also accept other scripts' digits ("٣") and superscripts ("²").
_SIREN = re.compile(r"[0-9]{9}")
_SIRET = re.compile(r"[0-9]{14}")
# W and 9 digits or capital letters (Paris `W9P…`, Corsica `W2A…`/`W2B…`): ASCII first, so that upper-casing
# cannot turn another script's letter into a Latin one ("ı".upper() == "I").
_RNA = re.compile(r"[Ww][0-9A-Za-z]{9}")


def compact_siret(value: str) -> str | None:
    """The SIRET as 14 digits, separators typed by people taken away; None if it is not a valid SIRET."""
    digits = value.translate(_SEPARATORS)
    # fullmatch, not match with `$`: `$` also matches before a trailing newline.
    if not _SIRET.fullmatch(digits) or not stdnum_siret.is_valid(digits):
        return None
    return digits


def compact_siren(value: str) -> str | None:
    """The SIREN as 9 digits, separators taken away; None if it is not a valid SIREN."""
    digits = value.translate(_SEPARATORS)
    if not _SIREN.fullmatch(digits) or not stdnum_siren.is_valid(digits):
        return None
    return digits


def is_valid_siret(value: str) -> bool:
    return compact_siret(value) is not None


def is_valid_siren(value: str) -> bool:
    return compact_siren(value) is not None


def normal_rna(value: str) -> str | None:
    """The RNA in capitals (people type `w9p1002760` too); None if it is not an RNA."""
    if not _RNA.fullmatch(value):
        return None
    return value.upper()


def is_valid_rna(value: str) -> bool:
    return normal_rna(value) is not None


def _siret(value: str) -> str:
    digits = compact_siret(value)
    if digits is None:
        raise ValueError(bilingual("SIRET invalide (14 chiffres, clé de contrôle).",
                                   "Invalid SIRET (14 digits, check key)."))
    return digits


def _rna(value: str) -> str:
    normal = normal_rna(value)
    if normal is None:
        raise ValueError(bilingual("RNA invalide (W suivi de 9 chiffres ou lettres).",
                                   "Invalid RNA (W followed by 9 digits or letters)."))
    return normal


# API fields. The patterns are for the OpenAPI (the forms people type); the validators check the key with a
# message of their own and give back the stored form: 14 digits, an RNA in capitals.
Siret = Annotated[
    str,
    StringConstraints(min_length=14, max_length=27),
    AfterValidator(_siret),
    Field(
        json_schema_extra={"pattern": "^[0-9](?:[ .\u00a0\u202f]?[0-9]){13}$"},
        description="14 digits; spaces or dots between them are accepted and removed.",
        examples=["73282932000074"],
    ),
]
Rna = Annotated[
    str,
    StringConstraints(min_length=10, max_length=10),
    AfterValidator(_rna),
    Field(
        json_schema_extra={"pattern": "^[Ww][0-9A-Za-z]{9}$"},
        description="W and 9 digits or letters; stored in capitals.",
        examples=["W353012345"],
    ),
]
