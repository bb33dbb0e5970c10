"""common.csv_cells: text a spreadsheet would run as a formula is written as text; figures are written as they are."""

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest

from common.csv_cells import csv_line, neutralise


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_a_formula_is_quoted_and_reads_back_as_the_same_text_after_a_single_quote(text: str) -> None:
    line = csv_line(["Nom", text])
    assert line == 'Nom,"' + ("'" + text).replace('"', '""') + '"\r\n'
    assert next(csv.reader(io.StringIO(line, newline=""))) == ["Nom", "'" + text]


def test_plain_text_is_left_alone_and_quoted_only_when_it_must_be() -> None:
    assert neutralise("Blosne = avenir") == "Blosne = avenir"
    assert csv_line(["Blosne Avenir", "a,b", 'dit "oui"', "", None]) == 'Blosne Avenir,"a,b","dit ""oui""",,\r\n'


def test_figures_are_written_as_they_are_even_negative() -> None:
    class State(StrEnum):
        paid = "paid"

    day, moment, key = date(2027, 3, 1), datetime(2027, 3, 1, 12, tzinfo=UTC), uuid.UUID(int=1)
    assert csv_line([-250, Decimal("-2.50"), Decimal("25000.00"), day, moment, key, State.paid]) == (
        f"-250,-2.50,25000.00,2027-03-01,2027-03-01T12:00:00+00:00,{key},paid\r\n")
    # The same characters as text are neutralised: only the type says that a cell is a figure.
    assert csv_line(["-250"]) == "\"'-250\"\r\n"
