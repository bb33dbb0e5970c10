"""Money shown to people, from integer cents (never through a float)."""

from common.problems import Text


def euros(cents: int) -> Text:
    """4800000 → "48 000,00 €" in French, "€48,000.00" in English."""
    sign = "-" if cents < 0 else ""
    units, hundredths = divmod(abs(cents), 100)
    french = f"{sign}{units:,}".replace(",", "\u202f") + f",{hundredths:02d} €"
    return Text(french, f"{sign}€{units:,}.{hundredths:02d}")
