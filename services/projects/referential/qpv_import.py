"""Import of the ANCT's national list of QPVs (CSV): column mapping, row checks, idempotent upsert, report.

The official file ("Liste des quartiers prioritaires de la politique de la ville 2024", data.gouv.fr) has one row
per QPV, `;`-separated, a commune column that may hold several INSEE codes (written `="13055;13070"` so that
spreadsheets keep the leading zeros) and the matching names (`Marseille; La Penne-sur-Huveaune`).

A QPV over several communes keeps its first commune's INSEE code in `insee_commune` and every commune's name,
joined by ", ", in `commune` (so a search by any of its communes finds it); likewise for a QPV over two EPCIs.
Rows are upserted by code; QPVs already stored but absent from the file are left as they are (never deleted:
projects refer to them).
"""

import csv
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from common.problems import Text
from services.projects.models import Qpv
from services.projects.referential import repository
from services.vocabulary import QPV_CODE_PATTERN

# The one place where the ANCT's column names live: our field -> the file's column.
COLUMNS: dict[str, str] = {
    "code": "code_qp",
    "name": "lib_qp",
    "department": "insee_dep",
    "insee_commune": "insee_com",
    "commune": "lib_com",
    "epci_siren": "siren_epci",
    "epci": "lib_epci",
}
# Columns of the official file that the table does not keep (accepted, ignored).
IGNORED_COLUMNS = ("insee_reg", "lib_reg", "lib_dep")
FIELDS = tuple(COLUMNS)
MAX_LENGTH = {"name": 200, "commune": 200, "epci": 200}
BATCH_SIZE = 500
JOIN = ", "

CODE = re.compile(QPV_CODE_PATTERN)  # the département is code[2:5]: 035, or 02A / 02B for Corsica
# The file writes the département on two characters (35, 2A) or three (035, 02A): stored as the code writes it.
DEPARTMENT = re.compile(r"[0-9]{2,3}|0?2[AB]")
INSEE_COMMUNE = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")
SIREN = re.compile(r"[0-9]{9}")
MANY = re.compile(r"\s*[;,]\s*")  # several communes or EPCIs in one cell


class QpvFileError(Exception):
    """The file cannot be imported at all: unreadable, not UTF-8, or not the expected columns."""

    def __init__(self, message: Text):
        super().__init__(message.en)
        self.message = message


@dataclass(frozen=True)
class Rejection:
    line: int
    code: str | None
    reason: Text


@dataclass
class ImportReport:
    dry_run: bool = False
    read: int = 0
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # code -> the fields that changed
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def lines(self, lang: str = "fr") -> list[str]:
        """The report as printed by the command."""
        en = lang == "en"
        out = [
            ("Dry run: nothing written." if en else "Essai à blanc : rien n'est écrit.") if self.dry_run else "",
            f"{'rows read' if en else 'lignes lues'}: {self.read}",
            f"{'added' if en else 'ajoutés'}: {len(self.added)}",
            f"{'changed' if en else 'modifiés'}: {len(self.changed)}",
            f"{'unchanged' if en else 'inchangés'}: {self.unchanged}",
            f"{'rejected' if en else 'rejetés'}: {len(self.rejected)}",
        ]
        out += [f"  ~ {code} ({', '.join(fields)})" for code, fields in self.changed.items()]
        out += [
            f"  ! {'line' if en else 'ligne'} {r.line}{f' ({r.code})' if r.code else ''}: {r.reason.pick(lang)}"
            for r in self.rejected
        ]
        out.append(
            "QPVs already stored but absent from the file are left as they are."
            if en
            else "Les QPV déjà enregistrés mais absents du fichier sont laissés tels quels."
        )
        return [line for line in out if line]


def _cell(value: str) -> str:
    """A cell without the spreadsheet guard `="…"`, trimmed, in composed Unicode."""
    value = value.strip()
    if value.startswith('="') and value.endswith('"'):
        value = value[2:-1].strip()
    return unicodedata.normalize("NFC", value)


def _header(first_line: str) -> tuple[str, dict[str, int]]:
    """The separator (`;` or `,`) and the position of each mapped column, or a file error."""
    candidates = []
    for delimiter in (";", ","):
        names = [_cell(name).lower() for name in next(csv.reader([first_line], delimiter=delimiter))]
        positions = {name: index for index, name in reversed(list(enumerate(names)))}
        missing = [column for column in COLUMNS.values() if column not in positions]
        candidates.append((len(missing), delimiter, positions, missing))
    _, delimiter, positions, missing = min(candidates, key=lambda candidate: candidate[0])
    if missing:
        wanted = ", ".join(COLUMNS.values())
        raise QpvFileError(
            Text(
                f"Colonnes absentes de l'en-tête : {', '.join(missing)} (attendues : {wanted}).",
                f"Columns missing from the header: {', '.join(missing)} (expected: {wanted}).",
            )
        )
    return delimiter, {field_name: positions[column] for field_name, column in COLUMNS.items()}


def _check(values: dict[str, str]) -> tuple[dict[str, str] | None, Text | None]:
    """A row's stored values, or the reason it is refused."""
    empty = [COLUMNS[name] for name in FIELDS if not values[name]]
    if empty:
        names = ", ".join(empty)
        return None, Text(f"Champs obligatoires vides : {names}.", f"Required fields empty: {names}.")
    code = values["code"]
    if CODE.fullmatch(code) is None:
        return None, Text(
            f"Code QPV « {code} » invalide : QN, le département sur 3 caractères, 2 chiffres, une lettre "
            "(ex. QN03501M, QN02A01B en Corse).",
            f"Invalid QPV code '{code}': QN, the département on 3 characters, 2 digits, a letter "
            "(e.g. QN03501M, QN02A01B in Corsica).",
        )
    departments = MANY.split(values["department"])
    if not all(DEPARTMENT.fullmatch(d) for d in departments):
        return None, Text(
            f"Département « {values['department']} » invalide (ex. 35, 035, 2A).",
            f"Invalid département '{values['department']}' (e.g. 35, 035, 2A).",
        )
    department = code[2:5]
    if department not in {d.zfill(3) for d in departments}:
        return None, Text(
            f"Le département {values['department']} ne correspond pas au code {code} (département {department}).",
            f"Département {values['department']} does not match code {code} (département {department}).",
        )
    communes = MANY.split(values["insee_commune"])
    if not all(INSEE_COMMUNE.fullmatch(c) for c in communes):
        return None, Text(
            f"Code INSEE de commune « {values['insee_commune']} » invalide (5 caractères).",
            f"Invalid INSEE commune code '{values['insee_commune']}' (5 characters).",
        )
    sirens = MANY.split(values["epci_siren"])
    if not all(SIREN.fullmatch(s) for s in sirens):
        return None, Text(
            f"SIREN d'EPCI « {values['epci_siren']} » invalide (9 chiffres).",
            f"Invalid EPCI SIREN '{values['epci_siren']}' (9 digits).",
        )
    row = {
        "code": code,
        "name": values["name"],
        "department": department,
        "insee_commune": communes[0],
        "commune": JOIN.join(name for name in (n.strip() for n in values["commune"].split(";")) if name),
        "epci_siren": sirens[0],
        "epci": JOIN.join(name for name in (n.strip() for n in values["epci"].split(";")) if name),
    }
    too_long = [COLUMNS[name] for name, limit in MAX_LENGTH.items() if len(row[name]) > limit]
    if too_long:
        return None, Text(
            f"Trop long (200 caractères au plus) : {', '.join(too_long)}.",
            f"Too long (200 characters at most): {', '.join(too_long)}.",
        )
    return row, None


def _records(reader: Any) -> Iterator[list[str]]:
    """The reader's records, a malformed CSV (an overlong field, a stray byte) becoming a file error."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            raise QpvFileError(
                Text(f"CSV illisible à la ligne {line} : {exc}.", f"Unreadable CSV at line {line}: {exc}.")
            ) from exc
        yield cells


def parse(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str] | Rejection]]:
    """Each data row with its line number: the values to store, or why it is rejected (header checked first)."""
    stream = iter(lines)
    try:
        first = next(stream)
    except StopIteration:
        raise QpvFileError(Text("Le fichier est vide.", "The file is empty.")) from None
    first = first.removeprefix("\ufeff")  # a BOM left by a caller that decoded without utf-8-sig
    delimiter, positions = _header(first)
    width = len(next(csv.reader([first], delimiter=delimiter)))
    reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter)
    next(reader)
    seen: dict[str, int] = {}
    for cells in _records(reader):
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        code = _cell(cells[positions["code"]]) if len(cells) > positions["code"] else ""
        if len(cells) != width:
            yield line, Rejection(
                line, code or None,
                Text(f"{len(cells)} colonnes au lieu de {width}.", f"{len(cells)} columns instead of {width}."),
            )
            continue
        if code in seen:
            yield line, Rejection(
                line, code,
                Text(f"Code en double : déjà ligne {seen[code]}.", f"Duplicate code: already on line {seen[code]}."),
            )
            continue
        if code:
            seen[code] = line
        row, reason = _check({name: _cell(cells[index]) for name, index in positions.items()})
        if reason is not None:
            yield line, Rejection(line, code or None, reason)
        elif row is not None:
            yield line, row


def read_lines(path: Path) -> Iterator[str]:
    """The file's lines, decoded as UTF-8 with or without a BOM, one at a time."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from handle
    except OSError as exc:
        raise QpvFileError(
            Text(f"Fichier illisible : {path} ({exc.strerror}).", f"Unreadable file: {path} ({exc.strerror}).")
        ) from exc
    except UnicodeDecodeError as exc:
        raise QpvFileError(
            Text(
                f"Le fichier n'est pas en UTF-8 (octet {exc.start}) : réenregistrez-le en UTF-8.",
                f"The file is not UTF-8 (byte {exc.start}): save it again as UTF-8.",
            )
        ) from exc


async def _apply(session: AsyncSession, batch: list[dict[str, str]], report: ImportReport) -> None:
    stored = await repository.qpvs_by_code(session, [row["code"] for row in batch])
    for row in batch:
        qpv = stored.get(row["code"])
        if qpv is None:
            report.added.append(row["code"])
            if not report.dry_run:
                session.add(Qpv(**row))
            continue
        fields = [name for name in FIELDS if getattr(qpv, name) != row[name]]
        if not fields:
            report.unchanged += 1
            continue
        report.changed[row["code"]] = fields
        if not report.dry_run:
            for name in fields:
                setattr(qpv, name, row[name])
    if not report.dry_run:
        await session.flush()


async def import_qpv(session: AsyncSession, lines: Iterable[str], *, dry_run: bool = False) -> ImportReport:
    """Upsert the file's valid rows by code, in batches; a dry run compares and writes nothing. Only flushes."""
    report = ImportReport(dry_run=dry_run)
    batch: list[dict[str, str]] = []
    for _line, outcome in parse(lines):
        report.read += 1
        if isinstance(outcome, Rejection):
            report.rejected.append(outcome)
            continue
        batch.append(outcome)
        if len(batch) >= BATCH_SIZE:
            await _apply(session, batch, report)
            batch = []
    if batch:
        await _apply(session, batch, report)
    return report


async def import_file(database_url: str, schema: str, path: Path, *, dry_run: bool = False) -> ImportReport:
    """Import a file into the projects database in one transaction: all of it, or nothing on a file error."""
    database = Database(database_url, schema=schema, pooled=False)
    try:
        async with (database.reader if dry_run else database.writer)() as session:
            report = await import_qpv(session, read_lines(path), dry_run=dry_run)
            if not dry_run:
                await session.commit()
        return report
    finally:
        await database.dispose()
