"""Import of the ANCT's national list of QPVs (CSV): column mapping, row checks, idempotent upsert, retirement, report.

The official file (`listeqp2024-cog2024.csv`, "Liste des quartiers prioritaires de la politique de la ville 2024",
data.gouv.fr) has one row per QPV, `;`-separated, UTF-8 with a BOM, trailing empty columns (some rows stop early),
the commune codes of a QPV over several communes in one cell (`"02571; 02691"`, names likewise), the INSEE codes
of départements below 10 on 4 digits (`1053` for 01053), and `ZZZZZZZZZ` or nothing as the EPCI of a commune in
none (Saint-Martin). Spreadsheet exports wrap cells as `="13055"`; both forms are read.

Every commune of a QPV is kept (table `qpv_communes`, so the INSEE code or name of any of them finds it); `qpv`
keeps the first commune's INSEE code and every commune's name joined by ", ". Rows are upserted by code; a QPV
stored but absent from the file is retired (never deleted: projects refer to it), and one listed again is back.
"""

import csv
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.clock import Clock
from common.db import Database
from common.problems import Text
from services.projects.models import Qpv, QpvCommune
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
REQUIRED = ("code", "name", "department", "insee_commune")
MAX_LENGTH = {"name": 200, "commune": 200, "epci": 200}
BATCH_SIZE = 500
JOIN = ", "
NO_EPCI = "ZZZZZZZZZ"  # the file's SIREN for a commune outside any EPCI

CODE = re.compile(QPV_CODE_PATTERN)  # the département is code[2:5]: 035, or 02A / 02B for Corsica
# The file writes the département on one to three characters (1, 35, 2A, 035, 02A): stored as the code writes it.
DEPARTMENT = re.compile(r"[0-9]{1,3}|0?2[AB]")
INSEE_COMMUNE = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")
SHORT_INSEE = re.compile(r"[0-9]{4}")  # a département below 10 whose leading zero a spreadsheet dropped
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


@dataclass(frozen=True)
class Row:
    """A row as stored: the `qpv` columns, and its communes in the file's order as (INSEE code, name)."""

    values: dict[str, str]
    communes: tuple[tuple[str, str], ...]

    @property
    def code(self) -> str:
        return self.values["code"]


@dataclass
class ImportReport:
    dry_run: bool = False
    accept_rejections: bool = False
    read: int = 0
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # code -> the fields that changed
    unchanged: int = 0
    retired: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Whether the import's changes are kept: not a dry run, and no rejected row unless rejections are accepted."""
        return not self.dry_run and (self.accept_rejections or not self.rejected)

    def lines(self, lang: str = "fr") -> list[str]:
        """The report as printed by the command."""
        en = lang == "en"
        out = [
            ("Dry run: nothing written." if en else "Essai à blanc : rien n'est écrit.") if self.dry_run else "",
            f"{'rows read' if en else 'lignes lues'}: {self.read}",
            f"{'added' if en else 'ajoutés'}: {len(self.added)}",
            f"{'changed' if en else 'modifiés'}: {len(self.changed)}",
            f"{'unchanged' if en else 'inchangés'}: {self.unchanged}",
            f"{'retired' if en else 'retirés'}: {len(self.retired)}",
            f"{'rejected' if en else 'rejetés'}: {len(self.rejected)}",
        ]
        out += [f"  ~ {code} ({', '.join(fields)})" for code, fields in self.changed.items()]
        out += [f"  - {code}" for code in self.retired]
        out += [
            f"  ! {'line' if en else 'ligne'} {r.line}{f' ({r.code})' if r.code else ''}: {r.reason.pick(lang)}"
            for r in self.rejected
        ]
        if self.rejected and not self.dry_run and not self.accept_rejections:
            out.append(
                "Nothing written: fix the file, or run again with --accept-rejections to import the other rows."
                if en
                else "Rien n'est écrit : corrigez le fichier, ou relancez avec --accept-rejections pour importer "
                "les autres lignes."
            )
        out.append(
            "QPVs absent from the file are retired, never deleted (projects keep them)."
            if en
            else "Les QPV absents du fichier sont retirés, jamais supprimés (les projets les gardent)."
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


def _insee(value: str) -> str:
    return value.zfill(5) if SHORT_INSEE.fullmatch(value) else value


def _insee_department(insee: str) -> str:
    """The département an INSEE commune code belongs to, as a QPV code writes it: 035, 02A, 974, 987."""
    return insee[:3] if insee[:2] in ("97", "98") else "0" + insee[:2]


def _names(cell: str) -> list[str]:
    return [name for name in (n.strip() for n in cell.split(";")) if name]


def _check(values: dict[str, str]) -> tuple[Row | None, Text | None]:
    """A row's stored values, or the reason it is refused."""
    empty = [COLUMNS[name] for name in REQUIRED if not values[name]]
    if empty:
        names = ", ".join(empty)
        return None, Text(f"Champs obligatoires vides : {names}.", f"Required fields empty: {names}.")
    code = values["code"]
    if CODE.fullmatch(code) is None:
        return None, Text(
            f"Code QPV « {code} » invalide : QN, le département sur 3 caractères, 2 chiffres, une lettre "
            "(ex. QN03504M, QN02A02M en Corse).",
            f"Invalid QPV code '{code}': QN, the département on 3 characters, 2 digits, a letter "
            "(e.g. QN03504M, QN02A02M in Corsica).",
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
    communes = [_insee(c) for c in MANY.split(values["insee_commune"])]
    if not all(INSEE_COMMUNE.fullmatch(c) for c in communes):
        return None, Text(
            f"Code INSEE de commune « {values['insee_commune']} » invalide (5 caractères, ou 4 chiffres pour "
            "un département avant 10).",
            f"Invalid INSEE commune code '{values['insee_commune']}' (5 characters, or 4 digits for a département "
            "below 10).",
        )
    elsewhere = [c for c in communes if _insee_department(c) != department]
    if elsewhere:
        return None, Text(
            f"Commune(s) {', '.join(elsewhere)} hors du département {department} du code {code}.",
            f"Commune(s) {', '.join(elsewhere)} outside département {department} of code {code}.",
        )
    if len(set(communes)) != len(communes):
        return None, Text(
            f"Commune en double dans « {values['insee_commune']} ».",
            f"Commune listed twice in '{values['insee_commune']}'.",
        )
    epci_names = _names(values["epci"])
    sirens = [s for s in MANY.split(values["epci_siren"]) if s and s != NO_EPCI]
    if not all(SIREN.fullmatch(s) for s in sirens):
        return None, Text(
            f"SIREN d'EPCI « {values['epci_siren']} » invalide (9 chiffres, ou {NO_EPCI} hors EPCI).",
            f"Invalid EPCI SIREN '{values['epci_siren']}' (9 digits, or {NO_EPCI} outside any EPCI).",
        )
    if sirens and not epci_names:
        return None, Text("SIREN d'EPCI sans nom (lib_epci).", "EPCI SIREN without a name (lib_epci).")
    if epci_names and not sirens and values["epci_siren"] != NO_EPCI:
        return None, Text("EPCI sans SIREN (siren_epci).", "EPCI without a SIREN (siren_epci).")
    commune_names = _names(values["commune"])
    # A name per code when the counts agree; otherwise the names are kept joined, each commune without its own.
    paired = commune_names if len(commune_names) == len(communes) else [""] * len(communes)
    row = {
        "code": code,
        "name": values["name"],
        "department": department,
        "insee_commune": communes[0],
        "commune": JOIN.join(commune_names),
        "epci_siren": sirens[0] if sirens else "",
        "epci": JOIN.join(epci_names) if sirens else "",
    }
    too_long = [COLUMNS[name] for name, limit in MAX_LENGTH.items() if len(row[name]) > limit]
    if too_long:
        return None, Text(
            f"Trop long (200 caractères au plus) : {', '.join(too_long)}.",
            f"Too long (200 characters at most): {', '.join(too_long)}.",
        )
    return Row(row, tuple(zip(communes, paired, strict=True))), None


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


def parse(lines: Iterable[str]) -> Iterator[tuple[int, Row | Rejection]]:
    """Each data row with its line number: the values to store, or why it is rejected (header checked first)."""
    stream = iter(lines)
    try:
        first = next(stream)
    except StopIteration:
        raise QpvFileError(Text("Le fichier est vide.", "The file is empty.")) from None
    first = first.removeprefix("\ufeff")  # a BOM left by a caller that decoded without utf-8-sig
    delimiter, positions = _header(first)
    names = next(csv.reader([first], delimiter=delimiter))
    # The header's trailing empty columns are padding, as are a row's: the width is the last named column's.
    width = max(index for index, name in enumerate(names) if _cell(name)) + 1
    reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter)
    next(reader)
    seen: dict[str, int] = {}
    for cells in _records(reader):
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        code = _cell(cells[positions["code"]]) if len(cells) > positions["code"] else ""
        extra = [cell for cell in cells[width:] if cell.strip()]
        if extra:
            yield line, Rejection(
                line, code or None,
                Text(
                    f"{len(cells)} colonnes au lieu de {width} : valeurs après la dernière colonne.",
                    f"{len(cells)} columns instead of {width}: values after the last column.",
                ),
            )
            continue
        # A row that stops early leaves its last columns empty (the file drops trailing separators on some rows).
        cells = cells[:width] + [""] * (width - len(cells))
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


async def _apply(session: AsyncSession, batch: list[Row], report: ImportReport) -> None:
    codes = [row.code for row in batch]
    stored = await repository.qpvs_by_code(session, codes)
    stored_communes = await repository.communes_of(session, codes)
    for row in batch:
        qpv = stored.get(row.code)
        if qpv is None:
            report.added.append(row.code)
            if not report.dry_run:
                session.add(Qpv.model_validate(row.values))
                session.add_all(_communes(row))
            continue
        fields = [name for name in FIELDS if getattr(qpv, name) != row.values[name]]
        before = tuple((c.insee_code, c.name) for c in stored_communes.get(row.code, []))
        if before != row.communes:
            fields.append("communes")
        if qpv.retired_at is not None:
            fields.append("retired_at")  # listed again: back in use
        if not fields:
            report.unchanged += 1
            continue
        report.changed[row.code] = fields
        if not report.dry_run:
            for name in FIELDS:
                setattr(qpv, name, row.values[name])
            qpv.retired_at = None
            if "communes" in fields:
                for commune in stored_communes.get(row.code, []):
                    await session.delete(commune)
                await session.flush()  # the old rows go before new ones take their keys
                session.add_all(_communes(row))
    if not report.dry_run:
        await session.flush()


def _communes(row: Row) -> list[QpvCommune]:
    return [
        QpvCommune(qpv_code=row.code, insee_code=insee, position=position, name=name)
        for position, (insee, name) in enumerate(row.communes)
    ]


async def import_qpv(
    session: AsyncSession, lines: Iterable[str], *, now: datetime, dry_run: bool = False,
    accept_rejections: bool = False, retire: bool = True,
) -> ImportReport:
    """Upsert the file's valid rows by code, in batches, then retire the stored QPVs the file no longer lists (a
    rejected row's code is not retired; `retire=False` for an extract, which retires nothing); a dry run compares
    and writes nothing. Only flushes: the caller commits when `report.written`."""
    report = ImportReport(dry_run=dry_run, accept_rejections=accept_rejections)
    listed: set[str] = set()
    batch: list[Row] = []
    for _line, outcome in parse(lines):
        report.read += 1
        if isinstance(outcome, Rejection):
            report.rejected.append(outcome)
            if outcome.code:
                listed.add(outcome.code)
            continue
        listed.add(outcome.code)
        batch.append(outcome)
        if len(batch) >= BATCH_SIZE:
            await _apply(session, batch, report)
            batch = []
    if batch:
        await _apply(session, batch, report)
    report.retired = sorted(set(await repository.active_qpv_codes(session)) - listed) if retire else []
    if report.retired and not dry_run:
        await repository.retire_qpvs(session, report.retired, at=now)
    return report


async def import_file(
    database_url: str, schema: str, path: Path, *, dry_run: bool = False, accept_rejections: bool = False,
    retire: bool = True, clock: Clock | None = None,
) -> ImportReport:
    """Import a file into the projects database in one transaction: written only when no row is rejected (or
    rejections are accepted); nothing on a file error or a dry run."""
    database = Database(database_url, schema=schema, pooled=False)
    try:
        async with (database.reader if dry_run else database.writer)() as session:
            report = await import_qpv(
                session, read_lines(path), now=(clock or Clock()).now(), dry_run=dry_run,
                accept_rejections=accept_rejections, retire=retire,
            )
            if report.written:
                await session.commit()
            else:
                await session.rollback()
        return report
    finally:
        await database.dispose()
