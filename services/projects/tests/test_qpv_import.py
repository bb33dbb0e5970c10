"""The QPV import (ANCT CSV): the shipped sample, the national list at full size with the published file's quirks,
idempotence, retirement, rejected rows, file formats, dry run, the command."""

import asyncio
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from common.clock import FixedClock
from services.projects.referential.qpv_import import BATCH_SIZE, ImportReport, QpvFileError, import_file
from tests.support.migration_steps import service_database
from tests.support.stack import QPV_SAMPLE, REPO, migrate
from tests.support.world import HOLDER, World

HEADER = "code_qp;lib_qp;insee_reg;lib_reg;insee_dep;lib_dep;insee_com;lib_com;siren_epci;lib_epci"
NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
RENNES = {
    q["code"]: q
    for q in json.loads((REPO / "migrations/projects/data/reference_sample_2024.json").read_text("utf-8"))["qpv"]
}
FIELDS = ("code", "name", "commune", "insee_commune", "epci", "epci_siren", "department")
# The 2024 national list (code, name, INSEE codes joined by "; "), kept in the repository with its source.
NATIONAL_LIST = REPO / "migrations" / "projects" / "data" / "qpv_2024_codes.csv"
with NATIONAL_LIST.open(encoding="utf-8", newline="") as _handle:
    NATIONAL = list(csv.DictReader(_handle, delimiter=";"))
NATIONAL_BY_CODE = {row["code_qp"]: row for row in NATIONAL}
# Read with the csv module alone, not with the importer: what the sample holds, independently of the code under test.
with QPV_SAMPLE.open(encoding="utf-8-sig", newline="") as _handle:
    SAMPLE_ROWS = list(csv.DictReader(_handle, delimiter=";"))
SAMPLE_CODES = {row["code_qp"] for row in SAMPLE_ROWS}
NANTES = {"QN04405M", "QN04406M", "QN04413M"}
AJACCIO = dict(code="QN02A02M", name="Salines - Cannes", insee='"=""2A004"""', communes="Ajaccio",
               siren="242010056", epci="CA du Pays Ajaccien")


def line(code="QN04405M", name="Bellevue", dep="44", insee='"44109; 44162"', communes='"Nantes; Saint-Herblain"',
         siren="244400404", epci="Nantes Métropole") -> str:
    return f"{code};{name};52;Pays de la Loire;{dep};Loire-Atlantique;{insee};{communes};{siren};{epci}"


GOOD = line(code="QN04413M", name="Malakoff", insee="44109", communes="Nantes")
THIRD = line(code="QN04406M", name="Les Dervallières", insee="44109", communes="Nantes")


def published(row: dict[str, str], index: int = 0) -> str:
    """One row of the national list as the ANCT's file writes it: the département without its leading zero, the
    INSEE codes of départements below 10 on 4 digits, several communes quoted in one cell, the EPCI columns empty
    (the reference gives none) or `ZZZZZZZZZ` outside any EPCI (Saint-Martin), the names of région, département
    and communes left empty (the reference has none; Rennes' as migrated), two empty trailing columns; every
    seventh row stops early."""
    code = row["code_qp"]
    department = code[2:5]
    insee_dep = department[1:] if department.startswith("0") else department
    communes = "; ".join(c[1:] if c.startswith("0") else c for c in row["insee_com"].split("; "))
    cell = f'"{communes}"' if ";" in communes else communes
    siren = "ZZZZZZZZZ" if department == "978" else ""
    names, epci = "", ""
    if code in RENNES:  # the names this repository is sure of: Rennes' five as migrated
        names, siren, epci = RENNES[code]["commune"], RENNES[code]["epci_siren"], RENNES[code]["epci"]
    text = f"{code};{row['lib_qp']};;;{insee_dep};;{cell};{names};{siren};{epci}"
    return text if index % 7 == 6 else text + ";;"


def national_file(tmp_path: Path, rows: list[dict[str, str]] = NATIONAL, name: str = "listeqp2024-cog2024.csv") -> Path:
    """The national list in the published format: UTF-8 with a BOM, CRLF, a header with trailing empty columns."""
    text = "\r\n".join([HEADER + ";;", *(published(row, i) for i, row in enumerate(rows))]) + "\r\n"
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8-sig"))
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A projects database built by the real migrations only (Rennes' five QPVs), copied by each test."""
    path = tmp_path_factory.mktemp("qpv-template") / "projects.db"
    migrate("projects", f"sqlite:///{path}", samples=False)
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "projects.db"
    shutil.copy(template, path)
    return path


def run(db: Path, csv_file: Path, *, dry_run: bool = False, accept_rejections: bool = True) -> ImportReport:
    return asyncio.run(
        import_file(f"sqlite:///{db}", "projects", csv_file, dry_run=dry_run, accept_rejections=accept_rejections,
                    clock=FixedClock(NOW))
    )


def stored(db: Path) -> dict[str, dict[str, str]]:
    """The QPVs in service (not retired) as they are on disk, read without the code under test."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(f"SELECT {', '.join(FIELDS)} FROM qpv WHERE retired_at IS NULL").fetchall()
    return {row[0]: dict(zip(FIELDS, row, strict=True)) for row in rows}


def retired(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT code, retired_at FROM qpv WHERE retired_at IS NOT NULL").fetchall())


def communes(db: Path, code: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT insee_code, name FROM qpv_communes WHERE qpv_code = ? ORDER BY position", (code,)
        ).fetchall()


def write(tmp_path: Path, *lines: str, name: str = "qpv.csv", encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


def with_rennes(*lines: str) -> tuple[str, ...]:
    """Rows plus Rennes' five as the sample writes them, so that no migrated QPV is retired by the test."""
    return (*lines, *(row for row in QPV_SAMPLE.read_text("utf-8-sig").splitlines() if row.startswith("QN035")))


class TestTheNationalList:
    def test_the_reference_copy_is_the_whole_2024_list(self) -> None:
        assert len(NATIONAL) == len(NATIONAL_BY_CODE) == 1584
        assert sum(1 for row in NATIONAL if "; " in row["insee_com"]) > 100
        # The QPVs of départements 01 to 09, whose INSEE codes the published file writes on 4 digits.
        assert sum(1 for row in NATIONAL if row["insee_com"].startswith("0")) == 64

    def test_all_1584_are_imported_from_the_published_format_with_no_rejection(self, db: Path, tmp_path: Path) -> None:
        path = national_file(tmp_path)
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and b";1053;" in raw and b'"2571; 2691"' in raw
        assert b";ZZZZZZZZZ;" in raw and raw.count(b";;\r\n") > 1000
        report = run(db, path, accept_rejections=False)
        assert report.rejected == [], report.lines()[:20]
        assert report.read == 1584
        assert len(report.added) == 1584 - 5 and report.unchanged == 5 and report.retired == []
        table = stored(db)
        assert len(table) == 1584
        for row in NATIONAL:
            assert table[row["code_qp"]]["name"] == row["lib_qp"]
            assert [insee for insee, _ in communes(db, row["code_qp"])] == row["insee_com"].split("; ")
        assert table["QN00101M"]["insee_commune"] == "01053"
        assert table["QN97801M"]["epci_siren"] == table["QN97801M"]["epci"] == ""

    def test_the_command_imports_the_national_list_and_exits_0(self, db: Path, tmp_path: Path) -> None:
        done = command(db, str(national_file(tmp_path)))
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"ajoutés: {1584 - 5}" in done.stdout and "rejetés: 0" in done.stdout
        assert len(stored(db)) == 1584

    def test_nice_s_qpvs_written_on_4_digits_are_kept(self, db: Path, tmp_path: Path) -> None:
        nice = [row for row in NATIONAL if "06088" in row["insee_com"]]
        assert len(nice) >= 5
        report = run(db, national_file(tmp_path, nice), accept_rejections=False)
        assert report.rejected == [] and sorted(report.added) == sorted(row["code_qp"] for row in nice)
        ariane = NATIONAL_BY_CODE["QN00612M"]["insee_com"].split("; ")
        assert [insee for insee, _ in communes(db, "QN00612M")] == ariane == ["06088", "06114", "06149"]


class TestTheShippedSample:
    def test_the_sample_is_an_extract_of_the_national_list_in_its_format(self) -> None:
        raw = QPV_SAMPLE.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b";;")
        for row in SAMPLE_ROWS:
            national = NATIONAL_BY_CODE[row["code_qp"]]
            assert row["lib_qp"] == national["lib_qp"]
            assert [c.zfill(5) for c in row["insee_com"].split("; ")] == national["insee_com"].split("; ")
        assert {"1053", "6088"} <= {row["insee_com"] for row in SAMPLE_ROWS}  # the 4-digit quirk
        assert any("; " in row["insee_com"] for row in SAMPLE_ROWS)
        assert any(row["siren_epci"] == "ZZZZZZZZZ" for row in SAMPLE_ROWS)

    def test_the_sample_repeats_the_migrated_rennes_five_and_has_other_cities(self) -> None:
        rennes = [row for row in SAMPLE_ROWS if row["code_qp"] in RENNES]
        assert len(rennes) == 5 and len(SAMPLE_ROWS) > 5
        for row in rennes:
            q = RENNES[row["code_qp"]]
            assert (row["lib_qp"], row["lib_com"], row["insee_com"], row["siren_epci"], row["lib_epci"]) == (
                q["name"], q["commune"], q["insee_commune"], q["epci_siren"], q["epci"]
            )
        assert {row["lib_com"] for row in SAMPLE_ROWS} >= {
            "Lyon", "Vaulx-en-Velin", "Marseille", "Lille", "Roubaix", "Ajaccio", "Nice"
        }

    def test_first_import_adds_the_others_and_leaves_rennes_unchanged(self, db: Path) -> None:
        assert set(stored(db)) == set(RENNES)
        report = run(db, QPV_SAMPLE, accept_rejections=False)
        assert sorted(report.added) == sorted(SAMPLE_CODES - set(RENNES))
        assert report.unchanged == 5
        assert report.changed == {} and report.rejected == [] and report.retired == []
        assert report.read == len(SAMPLE_ROWS)
        table = stored(db)
        assert set(table) == SAMPLE_CODES
        for code, q in RENNES.items():
            assert table[code] == q
            assert communes(db, code) == [("35238", "Rennes")]

    def test_a_qpv_over_two_communes_keeps_both(self, db: Path) -> None:
        run(db, QPV_SAMPLE)
        assert stored(db)["QN04405M"] == {
            "code": "QN04405M", "name": "Bellevue", "commune": "Nantes, Saint-Herblain", "insee_commune": "44109",
            "epci": "Nantes Métropole", "epci_siren": "244400404", "department": "044",
        }
        assert communes(db, "QN04405M") == [("44109", "Nantes"), ("44162", "Saint-Herblain")]

    def test_the_corsican_qpv_keeps_its_departement_as_its_code_writes_it(self, db: Path) -> None:
        (corsican,) = [row for row in SAMPLE_ROWS if row["insee_dep"] == "2A"]
        assert corsican["code_qp"] == "QN02A02M"
        run(db, QPV_SAMPLE)
        assert stored(db)["QN02A02M"] == {
            "code": "QN02A02M", "name": "Salines - Cannes", "commune": "Ajaccio", "insee_commune": "2A004",
            "epci": "CA du Pays Ajaccien", "epci_siren": "242010056", "department": "02A",
        }

    def test_saint_martin_outside_any_epci_has_an_empty_epci(self, db: Path) -> None:
        run(db, QPV_SAMPLE)
        saint_martin = stored(db)["QN97801M"]
        assert (saint_martin["department"], saint_martin["epci_siren"], saint_martin["epci"]) == ("978", "", "")

    def test_a_second_run_adds_and_changes_nothing(self, db: Path) -> None:
        run(db, QPV_SAMPLE)
        before = stored(db)
        again = run(db, QPV_SAMPLE)
        assert (again.added, again.changed, again.retired, again.rejected) == ([], {}, [], [])
        assert again.unchanged == len(SAMPLE_CODES)
        assert stored(db) == before


class TestChanges:
    def test_a_changed_name_is_one_change_and_only_that_field_moves(self, db: Path, tmp_path: Path) -> None:
        sample = QPV_SAMPLE.read_text("utf-8-sig")
        assert sample.count(";Le Blosne;") == 1
        run(db, QPV_SAMPLE)
        report = run(db, write(tmp_path, sample.replace(";Le Blosne;", ";Le Blosne - Torigné;").rstrip("\r\n")))
        assert report.changed == {"QN03505M": ["name"]}
        assert report.added == [] and report.unchanged == len(SAMPLE_CODES) - 1
        assert stored(db)["QN03505M"] == {**RENNES["QN03505M"], "name": "Le Blosne - Torigné"}

    def test_a_commune_added_to_a_qpv_is_a_change_of_its_communes(self, db: Path, tmp_path: Path) -> None:
        moved = line(code="QN03504M", name="Maurepas", dep="35", insee='"35238; 35051"',
                     communes='"Rennes; Cesson-Sévigné"', siren="243500139", epci="Rennes Métropole")
        rennes = [row for row in with_rennes() if not row.startswith("QN03504M")]
        report = run(db, write(tmp_path, HEADER, moved, *rennes))
        assert report.changed == {"QN03504M": ["commune", "communes"]}  # the first INSEE code is still Rennes'
        assert stored(db)["QN03504M"]["commune"] == "Rennes, Cesson-Sévigné"
        assert communes(db, "QN03504M") == [("35238", "Rennes"), ("35051", "Cesson-Sévigné")]


class TestRetirement:
    def test_codes_absent_from_a_new_list_are_retired_never_deleted(self, db: Path, tmp_path: Path) -> None:
        run(db, QPV_SAMPLE)
        kept = [row for row in with_rennes(GOOD) if not row.startswith("QN03506I")]
        report = run(db, write(tmp_path, HEADER, *kept))
        assert report.retired == sorted(SAMPLE_CODES - {"QN04413M", *RENNES} | {"QN03506I"})
        assert set(stored(db)) == {"QN04413M", *RENNES} - {"QN03506I"}
        gone = retired(db)
        assert set(gone) == set(report.retired)
        assert gone["QN03506I"].startswith("2027-03-01 09:30:00")  # the clock's time
        assert communes(db, "QN03506I") == [("35238", "Rennes")]  # the row stays whole
        assert f"retirés: {len(report.retired)}" in report.lines()

    def test_a_retired_code_listed_again_is_back(self, db: Path, tmp_path: Path) -> None:
        run(db, write(tmp_path, HEADER, *with_rennes(GOOD)))
        run(db, write(tmp_path, HEADER, *with_rennes()))
        assert "QN04413M" in retired(db)
        report = run(db, write(tmp_path, HEADER, *with_rennes(GOOD)))
        assert report.changed == {"QN04413M": ["retired_at"]} and report.retired == []
        assert "QN04413M" in stored(db) and retired(db) == {}

    def test_a_rejected_row_s_code_is_not_retired(self, db: Path, tmp_path: Path) -> None:
        run(db, write(tmp_path, HEADER, *with_rennes(GOOD)))
        report = run(db, write(tmp_path, HEADER, *with_rennes(line(code="QN04413M", siren="1"))))
        assert [r.code for r in report.rejected] == ["QN04413M"] and report.retired == []
        assert "QN04413M" in stored(db)

    def test_an_extract_imported_without_retiring_retires_nothing(self, db: Path, tmp_path: Path) -> None:
        # The demo seed imports the sample this way over whatever a full import brought.
        report = asyncio.run(import_file(f"sqlite:///{db}", "projects", write(tmp_path, HEADER, GOOD),
                                         retire=False, clock=FixedClock(NOW)))
        assert report.added == ["QN04413M"] and report.retired == []
        assert set(stored(db)) == set(RENNES) | {"QN04413M"} and retired(db) == {}

    def test_a_dry_run_reports_retirements_and_writes_none(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, GOOD), dry_run=True)
        assert report.retired == sorted(RENNES) and retired(db) == {}


def test_import_change_retire_and_bring_back_on_each_database(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with service_database("projects", backend, tmp_path, monkeypatch, os.environ.get("TEST_POSTGRES_URL")) as db:
        db.upgrade()

        def imported(path: Path) -> ImportReport:
            return asyncio.run(import_file(db.url, db.schema, path, clock=FixedClock(NOW)))

        def table() -> tuple[dict[str, bool], list[tuple[str, str]]]:
            with db.engine.connect() as connection:
                retirement = connection.execute(text("SELECT code, retired_at FROM qpv")).all()
                bellevue = connection.execute(text(
                    "SELECT insee_code, name FROM qpv_communes WHERE qpv_code = 'QN04405M' ORDER BY position"
                )).all()
            return {code: at is not None for code, at in retirement}, [tuple(row) for row in bellevue]

        assert len(imported(QPV_SAMPLE).added) == len(SAMPLE_CODES) - 5
        swapped = line(insee='"44162; 44109"', communes='"Saint-Herblain; Nantes"')
        second = imported(write(tmp_path, HEADER, *with_rennes(swapped)))
        assert second.changed == {"QN04405M": ["insee_commune", "commune", "communes"]}
        assert second.retired == sorted(SAMPLE_CODES - {"QN04405M", *RENNES})
        retirement, bellevue = table()
        assert {code for code, is_retired in retirement.items() if is_retired} == set(second.retired)
        assert bellevue == [("44162", "Saint-Herblain"), ("44109", "Nantes")]
        third = imported(QPV_SAMPLE)
        assert set(third.changed) == set(second.retired) | {"QN04405M"} and third.retired == []
        retirement, bellevue = table()
        assert not any(retirement.values()) and bellevue == [("44109", "Nantes"), ("44162", "Saint-Herblain")]


BAD_ROWS = {
    "code too short": (line(code="QN4405M"), "Code QPV « QN4405M » invalide"),
    "code lower case": (line(code="qn04405m"), "Code QPV « qn04405m » invalide"),
    "code of an older generation": (line(code="QP044001"), "Code QPV « QP044001 » invalide"),
    "département mismatch": (line(dep="35"), "Le département 35 ne correspond pas au code QN04405M"),
    "département not a number": (line(dep="Loire"), "Département « Loire » invalide"),
    "code with non-ASCII digits": (line(code="QN\u0660\u0664\u066405M"), "Code QPV « QN\u0660\u0664\u066405M »"),
    "Corsican code with a two-character département": (
        line(**(AJACCIO | {"code": "QN2A002M"}), dep="2A"), "Code QPV « QN2A002M » invalide"
    ),
    "Corsican code with another letter": (line(**(AJACCIO | {"code": "QN02C02M"}), dep="2A"), "Code QPV « QN02C02M »"),
    "Corsican code in lower case": (line(**(AJACCIO | {"code": "QN02a02M"}), dep="2a"), "Code QPV « QN02a02M »"),
    "Corsican département of the other half": (
        line(**AJACCIO, dep="2B"), "Le département 2B ne correspond pas au code QN02A02M (département 02A)."
    ),
    "Corsican département in lower case": (line(**AJACCIO, dep="2a"), "Département « 2a » invalide"),
    "Corsican département padded twice": (line(**AJACCIO, dep="002A"), "Département « 002A » invalide"),
    "Corsica's old département 20": (line(**AJACCIO, dep="20"), "Le département 20 ne correspond pas au code"),
    "missing name": (line(name=""), "Champs obligatoires vides : lib_qp."),
    "missing communes": (line(insee=" "), "Champs obligatoires vides : insee_com."),
    "SIREN of 8 digits": (line(siren="24440040"), "SIREN d'EPCI « 24440040 » invalide"),
    "SIREN with a letter": (line(siren="24440040A"), "SIREN d'EPCI « 24440040A » invalide"),
    "second SIREN bad": (line(siren='"244400404;12"'), "SIREN d'EPCI « 244400404;12 » invalide"),
    "an EPCI name without its SIREN": (line(siren=""), "EPCI sans SIREN"),
    "an EPCI SIREN without its name": (line(epci=""), "SIREN d'EPCI sans nom"),
    "INSEE code of 3 digits": (line(insee="441"), "Code INSEE de commune « 441 » invalide"),
    # 4 digits are a département below 10 (4410 is 04410, in Alpes-de-Haute-Provence): not Nantes' QPV.
    "INSEE code of 4 digits outside the département": (line(insee="4410"), "Commune(s) 04410 hors du département 044"),
    "a commune of another département": (line(insee='"44109; 35238"'), "Commune(s) 35238 hors du département"),
    "a commune twice": (line(insee='"44109; 44109"'), "Commune en double"),
    "name too long": (line(name="B" * 201), "Trop long (200 caractères au plus) : lib_qp."),
    "a value after the last column": (line() + ";extra", "11 colonnes au lieu de 10 : valeurs après"),
    "the last column missing": (line().rsplit(";", 1)[0], "SIREN d'EPCI sans nom"),
}


class TestRejectedRows:
    @pytest.mark.parametrize("bad", list(BAD_ROWS.values()), ids=list(BAD_ROWS))
    def test_a_bad_row_is_reported_with_its_line_and_skipped_the_others_imported(
        self, db: Path, tmp_path: Path, bad: tuple[str, str]
    ) -> None:
        row, reason = bad
        report = run(db, write(tmp_path, HEADER, GOOD, row, THIRD, *with_rennes()))
        assert [r.line for r in report.rejected] == [3]
        assert report.rejected[0].reason.fr.startswith(reason), report.rejected[0].reason.fr
        assert sorted(report.added) == ["QN04406M", "QN04413M"]
        assert report.read == 3 + 5
        assert set(stored(db)) == set(RENNES) | {"QN04406M", "QN04413M"}

    def test_without_accepting_rejections_nothing_is_written(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, GOOD, line(siren="1")), accept_rejections=False)
        assert report.added == ["QN04413M"] and len(report.rejected) == 1 and report.retired == sorted(RENNES)
        assert not report.written
        assert set(stored(db)) == set(RENNES) and retired(db) == {}
        assert "Rien n'est écrit" in "\n".join(report.lines())

    @pytest.mark.parametrize("dep", ["2A", "02A", '"=""2A"""'])
    def test_a_corsican_row_is_imported_whichever_way_the_file_writes_its_departement(
        self, db: Path, tmp_path: Path, dep: str
    ) -> None:
        haute_corse = line(code="QN02B01M", name="Bastia Meridiunale", dep="2B", insee='"=""2B033"""',
                           communes="Bastia", siren="", epci="")
        report = run(db, write(tmp_path, HEADER, line(**AJACCIO, dep=dep), haute_corse, *with_rennes()))
        assert report.rejected == [] and sorted(report.added) == ["QN02A02M", "QN02B01M"]
        table = stored(db)
        assert (table["QN02A02M"]["department"], table["QN02A02M"]["insee_commune"]) == ("02A", "2A004")
        assert (table["QN02B01M"]["department"], table["QN02B01M"]["insee_commune"]) == ("02B", "2B033")
        again = run(db, write(tmp_path, HEADER, line(**AJACCIO, dep="02A"), haute_corse, *with_rennes()))
        assert again.unchanged == 2 + 5

    def test_a_duplicate_code_is_rejected_pointing_at_the_first_line(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, GOOD, line(), line(name="Bellevue bis")))
        assert [(r.line, r.code, r.reason.fr) for r in report.rejected] == [
            (4, "QN04405M", "Code en double : déjà ligne 3.")
        ]
        assert sorted(report.added) == ["QN04405M", "QN04413M"]
        assert stored(db)["QN04405M"]["name"] == "Bellevue"

    def test_reasons_come_in_english_too(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, line(dep="35"), line(code="QN04413M", siren="1")))
        assert [r.reason.en for r in report.rejected] == [
            "Département 35 does not match code QN04405M (département 044).",
            "Invalid EPCI SIREN '1' (9 digits, or ZZZZZZZZZ outside any EPCI).",
        ]
        printed = "\n".join(report.lines("en"))
        assert "line 2 (QN04405M): Département 35 does not match" in printed
        assert "rejected: 2" in printed

    def test_line_numbers_count_physical_lines(self, db: Path, tmp_path: Path) -> None:
        # A quoted name over two lines: the next rows' numbers still match what an editor shows.
        report = run(db, write(tmp_path, HEADER, line(name='"Bellevue\nOuest"'), "", line(code="QN04413M", dep="9")))
        assert [(r.line, r.code) for r in report.rejected] == [(5, "QN04413M")]
        assert report.added == ["QN04405M"]
        assert stored(db)["QN04405M"]["name"] == "Bellevue\nOuest"


class TestTheFile:
    @pytest.mark.parametrize(
        ("header", "missing"),
        [
            (HEADER.replace("lib_epci", "nom_epci"), "lib_epci"),
            ("code_qp;nom_qp;commune_qp;aire", "lib_qp, insee_dep, insee_com, lib_com, siren_epci, lib_epci"),
            ("", "code_qp, lib_qp, insee_dep, insee_com, lib_com, siren_epci, lib_epci"),
        ],
    )
    def test_a_wrong_header_is_a_clear_error_and_nothing_is_written(
        self, db: Path, tmp_path: Path, header: str, missing: str
    ) -> None:
        with pytest.raises(QpvFileError) as raised:
            run(db, write(tmp_path, header, GOOD))
        assert raised.value.message.fr.startswith(f"Colonnes absentes de l'en-tête : {missing} (attendues")
        assert raised.value.message.en.startswith(f"Columns missing from the header: {missing}")
        assert set(stored(db)) == set(RENNES)

    def test_a_malformed_csv_is_a_file_error_and_nothing_is_written(self, db: Path, tmp_path: Path) -> None:
        overlong = line(code="QN04406M", name='"' + "x" * (csv.field_size_limit() + 1) + '"')
        with pytest.raises(QpvFileError) as raised:
            run(db, write(tmp_path, HEADER, GOOD, overlong))
        assert raised.value.message.fr.startswith("CSV illisible à la ligne 3")
        assert set(stored(db)) == set(RENNES)

    def test_an_empty_file_is_an_error(self, db: Path, tmp_path: Path) -> None:
        empty = tmp_path / "empty.csv"
        empty.write_bytes(b"")
        with pytest.raises(QpvFileError) as raised:
            run(db, empty)
        assert raised.value.message.fr == "Le fichier est vide."

    def test_a_missing_file_is_an_error(self, db: Path, tmp_path: Path) -> None:
        with pytest.raises(QpvFileError) as raised:
            run(db, tmp_path / "absent.csv")
        assert raised.value.message.fr.startswith("Fichier illisible")

    def test_a_file_not_in_utf8_writes_nothing_even_after_good_rows(self, db: Path, tmp_path: Path) -> None:
        # More good rows than a batch: some were already flushed when the bad byte comes.
        latin1_names = [row for row in NATIONAL if row["lib_qp"].encode("latin-1", "replace").decode("latin-1")
                        == row["lib_qp"]]
        rows = [published(row) for row in latin1_names[: 2 * BATCH_SIZE + 100]]
        latin1 = write(tmp_path, HEADER, *rows, line(code="QN04406M", name="Les Dervallières"), encoding="latin-1")
        with pytest.raises(QpvFileError) as raised:
            run(db, latin1)
        assert "UTF-8" in raised.value.message.fr
        assert set(stored(db)) == set(RENNES)

    @pytest.mark.parametrize(
        ("encoding", "newline"),
        [("utf-8-sig", "\n"), ("utf-8-sig", "\r\n"), ("utf-8", "\r\n")],
        ids=["bom", "bom-crlf", "crlf"],
    )
    def test_bom_and_line_endings(self, db: Path, tmp_path: Path, encoding: str, newline: str) -> None:
        report = run(db, write(tmp_path, HEADER, line(), GOOD, encoding=encoding, newline=newline))
        assert sorted(report.added) == ["QN04405M", "QN04413M"] and report.rejected == []
        assert stored(db)["QN04405M"]["commune"] == "Nantes, Saint-Herblain"
        assert stored(db)["QN04413M"]["epci"] == "Nantes Métropole"

    def test_the_spreadsheet_guard_is_still_read(self, db: Path, tmp_path: Path) -> None:
        guarded = line(insee='"=""44109;44162"""', siren='"=""244400404"""')
        assert run(db, write(tmp_path, HEADER, guarded)).added == ["QN04405M"]
        assert communes(db, "QN04405M") == [("44109", "Nantes"), ("44162", "Saint-Herblain")]
        assert stored(db)["QN04405M"]["epci_siren"] == "244400404"

    def test_trailing_empty_columns_and_rows_that_stop_early(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER + ";;;", line() + ";;;", GOOD, THIRD + ";"))
        assert report.rejected == [] and sorted(report.added) == sorted(NANTES)

    def test_a_name_count_not_matching_the_communes_keeps_the_names_joined(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, line(communes="Nantes")))
        assert report.rejected == []
        assert communes(db, "QN04405M") == [("44109", ""), ("44162", "")]
        assert stored(db)["QN04405M"]["commune"] == "Nantes"

    def test_comma_separated_file_with_plain_cells_and_three_digit_department(self, db: Path, tmp_path: Path) -> None:
        report = run(
            db,
            write(
                tmp_path,
                "CODE_QP, lib_qp ,insee_dep,insee_com,lib_com,siren_epci,lib_epci,population",
                'QN04405M,Bellevue,044,"44109,44162","Nantes; Saint-Herblain",244400404,Nantes Métropole,17000',
                "QN06934M,Duchère,69,69123,Lyon,200046977,Métropole de Lyon,",
                encoding="utf-8-sig",
            ),
        )
        assert sorted(report.added) == ["QN04405M", "QN06934M"] and report.rejected == []
        table = stored(db)
        assert table["QN04405M"]["insee_commune"] == "44109"
        assert table["QN04405M"]["commune"] == "Nantes, Saint-Herblain"
        assert table["QN06934M"]["department"] == "069"

    def test_a_qpv_over_two_epcis_keeps_the_first_siren_and_both_names(self, db: Path, tmp_path: Path) -> None:
        two = line(siren='"244400404;243500139"', epci='"Nantes Métropole; Rennes Métropole"')
        report = run(db, write(tmp_path, HEADER, two))
        assert report.added == ["QN04405M"]
        assert (stored(db)["QN04405M"]["epci_siren"], stored(db)["QN04405M"]["epci"]) == (
            "244400404", "Nantes Métropole, Rennes Métropole"
        )

    def test_decomposed_accents_are_stored_composed_so_a_rerun_changes_nothing(self, db: Path, tmp_path: Path) -> None:
        decomposed = line(code="QN03503I", name="Bre\u0301quigny - Champs-Manceaux - Les Clo\u0302teaux", dep="35",
                          insee="35238", communes="Rennes", siren="243500139", epci="Rennes Me\u0301tropole")
        report = run(db, write(tmp_path, HEADER, decomposed, *with_rennes()))
        assert report.unchanged == 5 and report.changed == {}

    def test_more_rows_than_a_batch_are_all_imported_once(self, db: Path, tmp_path: Path) -> None:
        path = national_file(tmp_path, NATIONAL[:1200])
        first = run(db, path)
        assert {"QN03504M", "QN03506I"} < {row["code_qp"] for row in NATIONAL[:1200]}
        assert len(first.added) == 1200 - 5 and first.unchanged == 5 and first.rejected == []
        assert 1200 > 2 * BATCH_SIZE and len(stored(db)) == 1200
        second = run(db, path)
        assert (second.added, second.changed, second.unchanged) == ([], {}, 1200)


class TestDryRun:
    def test_a_dry_run_reports_what_would_change_and_writes_nothing(self, db: Path, tmp_path: Path) -> None:
        renamed = line(code="QN03506I", name="Cleunay - Arsenal", dep="35", insee="35238", communes="Rennes",
                       siren="243500139", epci="Rennes Métropole")
        report = run(db, write(tmp_path, HEADER, GOOD, renamed, line(code="bad")), dry_run=True)
        assert report.dry_run
        assert report.added == ["QN04413M"]
        assert report.changed == {"QN03506I": ["name"]}
        assert [r.line for r in report.rejected] == [4]
        assert stored(db) == {code: q for code, q in RENNES.items()}
        assert report.lines()[0] == "Essai à blanc : rien n'est écrit."


def command(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROJECTS_DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run(
        [sys.executable, "-m", "scripts.import_qpv", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )


class TestTheCommand:
    def test_imports_the_sample_prints_the_report_and_exits_0(self, db: Path) -> None:
        done = command(db, str(QPV_SAMPLE))
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert f"ajoutés: {len(SAMPLE_CODES) - 5}" in out
        assert "modifiés: 0" in out and "inchangés: 5" in out and "retirés: 0" in out and "rejetés: 0" in out
        assert "jamais supprimés" in out
        assert set(stored(db)) == SAMPLE_CODES

    def test_a_rejected_row_exits_non_zero_and_writes_nothing(self, db: Path, tmp_path: Path) -> None:
        done = command(db, str(write(tmp_path, HEADER, GOOD, line(siren="12"), *with_rennes())), "--lang", "en")
        assert done.returncode == 2, done.stderr
        assert "added: 1" in done.stdout and "rejected: 1" in done.stdout
        assert "line 3 (QN04405M): Invalid EPCI SIREN '12'" in done.stdout
        assert "Nothing written" in done.stdout
        assert set(stored(db)) == set(RENNES)

    def test_accepting_rejections_imports_the_other_rows_and_exits_0(self, db: Path, tmp_path: Path) -> None:
        path = write(tmp_path, HEADER, GOOD, line(siren="12"), *with_rennes())
        done = command(db, str(path), "--accept-rejections", "--lang", "en")
        assert done.returncode == 0, done.stderr
        assert "rejected: 1" in done.stdout and "Nothing written" not in done.stdout
        assert set(stored(db)) == set(RENNES) | {"QN04413M"}

    def test_retirements_are_listed(self, db: Path, tmp_path: Path) -> None:
        done = command(db, str(write(tmp_path, HEADER, GOOD)))
        assert done.returncode == 0, done.stderr
        assert "retirés: 5" in done.stdout and "  - QN03505M" in done.stdout
        assert set(retired(db)) == set(RENNES)

    def test_dry_run_writes_nothing(self, db: Path) -> None:
        done = command(db, str(QPV_SAMPLE), "--dry-run")
        assert done.returncode == 0, done.stderr
        assert "Essai à blanc" in done.stdout and f"ajoutés: {len(SAMPLE_CODES) - 5}" in done.stdout
        assert set(stored(db)) == set(RENNES)

    def test_a_database_not_migrated_exits_non_zero_without_a_traceback(self, tmp_path: Path) -> None:
        done = command(tmp_path / "blank.db", str(QPV_SAMPLE))
        assert done.returncode == 1
        assert "no such table: qpv" in done.stderr and "scripts.migrate" in done.stderr
        assert "Traceback" not in done.stderr

    @pytest.mark.parametrize("header", [HEADER.replace("code_qp", "code"), None], ids=["wrong-columns", "no-file"])
    def test_an_unusable_file_exits_non_zero_and_writes_nothing(self, db: Path, tmp_path: Path, header) -> None:
        path = write(tmp_path, header, GOOD) if header else tmp_path / "absent.csv"
        done = command(db, str(path))
        assert done.returncode == 1
        assert done.stdout == ""
        assert ("code_qp" if header else "Fichier illisible") in done.stderr
        assert set(stored(db)) == set(RENNES)


class TestTheApiServesTheSample:
    """The test stack imports the sample after its migrations, as `make run` does."""

    def test_a_search_for_nantes_finds_its_neighbourhoods(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"q": "nantes"})
        assert response.status_code == 200, response.text
        assert {item["code"] for item in response.json()["items"]} == NANTES

    @pytest.mark.parametrize(
        ("params", "codes"),
        [
            ({"q": "saint-herblain"}, ["QN04405M"]),  # the second commune's name
            ({"q": "44162"}, ["QN04405M"]),  # its INSEE code
            ({"insee_commune": "44162"}, ["QN04405M"]),
            ({"insee_commune": "13070"}, ["QN01341I"]),  # Les Escourtines, over Marseille and La Penne
            ({"q": "la penne"}, ["QN01341I"]),
        ],
    )
    def test_a_qpv_over_several_communes_is_found_by_any_of_them(
        self, world: World, params: dict[str, str], codes: list[str]
    ) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params=params)
        assert response.status_code == 200, response.text
        assert [item["code"] for item in response.json()["items"]] == codes

    def test_the_communes_are_listed_in_the_file_s_order(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"insee_commune": "44162"})
        (bellevue,) = response.json()["items"]
        assert bellevue["communes"] == [
            {"insee_code": "44109", "name": "Nantes"}, {"insee_code": "44162", "name": "Saint-Herblain"}
        ]
        assert (bellevue["retired"], bellevue["retired_at"]) == (False, None)

    def test_the_department_filter_sees_the_imported_ones(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"department": "069"})
        assert [(i["code"], i["commune"]) for i in response.json()["items"]] == [
            ("QN06916M", "Vaulx-en-Velin"), ("QN06934M", "Lyon")
        ]

    def test_a_4_digit_insee_code_is_found_on_5(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"insee_commune": "06088"})
        assert [(i["code"], i["insee_commune"], i["department"]) for i in response.json()["items"]] == [
            ("QN00611M", "06088", "006")
        ]
