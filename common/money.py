"""Money as integer cents: read strictly from clients, shown to people without ever going through a float."""

from pydantic import BeforeValidator

from common.problems import Text, bilingual


def euros(cents: int) -> Text:
    """4800000 → "48 000,00 €" in French, "€48,000.00" in English."""
    sign = "-" if cents < 0 else ""
    units, hundredths = divmod(abs(cents), 100)
    french = f"{sign}{units:,}".replace(",", "\u202f") + f",{hundredths:02d} €"
    return Text(french, f"{sign}€{units:,}.{hundredths:02d}")


def _integer_cents_only(value: object) -> object:
    """Money in JSON is integer cents and nothing else: `1500.0` is refused here, where the other integers of the
    API take it as 1500 (`common.schemas.WholeNumber`). A float amount means a client computed it in floats, and
    the cents it meant are not ours to guess; `"1500"` and `true` are refused by the strict integer itself."""
    if isinstance(value, float):
        raise ValueError(bilingual(
            "Montant en centimes entiers attendu (1500, non 1500.0 ni 15.00).",
            "An amount in whole cents is expected (1500, not 1500.0 nor 15.00).",
        ))
    return value


# Every amount a client sends: `Annotated[int, Field(strict=True, ge=0, le=…), IntegerCents]`, in the place of
# `WholeNumber`.
IntegerCents = BeforeValidator(_integer_cents_only)
