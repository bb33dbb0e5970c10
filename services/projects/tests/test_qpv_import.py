"""The QPV import (ANCT CSV): the shipped sample, idempotence, rejected rows, file formats, dry run, the command."""

import asyncio
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from services.projects.referential.qpv_import import BATCH_SIZE, ImportReport, QpvFileError, import_file
from tests.support.stack import QPV_SAMPLE, REPO, migrate
from tests.support.world import HOLDER, World

HEADER = "code_qp;lib_qp;insee_reg;lib_reg;insee_dep;lib_dep;insee_com;lib_com;siren_epci;lib_epci"
RENNES = {
    q["code"]: q
    for q in json.loads((REPO / "migrations/projects/data/reference_sample_2024.json").read_text("utf-8"))["qpv"]
}
FIELDS = ("code", "name", "commune", "insee_commune", "epci", "epci_siren", "department")
# Read with the csv module alone, not with the importer: what the sample holds, independently of the code under test.
with QPV_SAMPLE.open(encoding="utf-8", newline="") as _handle:
    SAMPLE_ROWS = list(csv.DictReader(_handle, delimiter=";"))
SAMPLE_CODES = {row["code_qp"] for row in SAMPLE_ROWS}
NANTES = {"QN04491A", "QN04492B", "QN04493C"}
AJACCIO = dict(code="QN02A91K", name="Les Cannes - Les Salines", insee='"=""2A004"""', communes="Ajaccio",
               siren="242010056", epci="CA du Pays Ajaccien")


def line(code="QN04491A", name="Bellevue", dep="44", insee='"=""44109;44162"""', communes='"Nantes; Saint-Herblain"',
         siren="244400404", epci="Nantes Métropole") -> str:
    return f"{code};{name};52;Pays de la Loire;{dep};Loire-Atlantique;{insee};{communes};{siren};{epci}"


GOOD = line(code="QN04492B", name="Malakoff", insee='"=""44109"""', communes="Nantes")


def many_rows(count: int) -> list[str]:
    """Well-formed rows with distinct codes over several départements."""
    codes = [f"QN{d:03d}{n:02d}{letter}" for d in range(1, 20) for n in range(1, 100) for letter in "AB"][:count]
    return [line(code=c, dep=c[2:5], insee="01001", communes="Commune", siren="200000172", epci="CC") for c in codes]


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


def run(db: Path, csv_file: Path, *, dry_run: bool = False) -> ImportReport:
    return asyncio.run(import_file(f"sqlite:///{db}", "projects", csv_file, dry_run=dry_run))


def stored(db: Path) -> dict[str, dict[str, str]]:
    """The qpv table as it is on disk, read without the code under test."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(f"SELECT {', '.join(FIELDS)} FROM qpv").fetchall()
    return {row[0]: dict(zip(FIELDS, row, strict=True)) for row in rows}


def write(tmp_path: Path, *lines: str, name: str = "qpv.csv", encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


class TestTheShippedSample:
    def test_the_sample_repeats_the_migrated_rennes_five_and_has_other_cities(self) -> None:
        rennes = [row for row in SAMPLE_ROWS if row["code_qp"] in RENNES]
        assert len(rennes) == 5 and len(SAMPLE_ROWS) > 5
        for row in rennes:
            q = RENNES[row["code_qp"]]
            assert (row["lib_qp"], row["lib_com"], row["insee_com"], row["siren_epci"], row["lib_epci"]) == (
                q["name"], q["commune"], f'="{q["insee_commune"]}"', q["epci_siren"], q["epci"]
            )
        assert {row["lib_com"] for row in SAMPLE_ROWS} >= {
            "Lyon", "Vaulx-en-Velin", "Marseille", "Lille", "Roubaix", "Ajaccio"
        }

    def test_first_import_adds_the_others_and_leaves_rennes_unchanged(self, db: Path) -> None:
        assert set(stored(db)) == set(RENNES)
        report = run(db, QPV_SAMPLE)
        assert sorted(report.added) == sorted(SAMPLE_CODES - set(RENNES))
        assert report.unchanged == 5
        assert report.changed == {} and report.rejected == []
        assert report.read == len(SAMPLE_ROWS)
        table = stored(db)
        assert set(table) == SAMPLE_CODES
        for code, q in RENNES.items():
            assert table[code] == q

    def test_a_qpv_over_two_communes_keeps_the_first_insee_code_and_every_name(self, db: Path) -> None:
        run(db, QPV_SAMPLE)
        assert stored(db)["QN04491A"] == {
            "code": "QN04491A", "name": "Bellevue", "commune": "Nantes, Saint-Herblain", "insee_commune": "44109",
            "epci": "Nantes Métropole", "epci_siren": "244400404", "department": "044",
        }

    def test_the_corsican_qpv_keeps_its_departement_as_its_code_writes_it(self, db: Path) -> None:
        (corsican,) = [row for row in SAMPLE_ROWS if row["insee_dep"] == "2A"]
        assert corsican["code_qp"] == "QN02A91K"
        run(db, QPV_SAMPLE)
        assert stored(db)["QN02A91K"] == {
            "code": "QN02A91K", "name": "Les Cannes - Les Salines", "commune": "Ajaccio", "insee_commune": "2A004",
            "epci": "CA du Pays Ajaccien", "epci_siren": "242010056", "department": "02A",
        }

    def test_a_second_run_adds_and_changes_nothing(self, db: Path) -> None:
        run(db, QPV_SAMPLE)
        before = stored(db)
        again = run(db, QPV_SAMPLE)
        assert (again.added, again.changed, again.rejected) == ([], {}, [])
        assert again.unchanged == len(SAMPLE_CODES)
        assert stored(db) == before


class TestChanges:
    def test_a_changed_name_is_one_change_and_only_that_field_moves(self, db: Path, tmp_path: Path) -> None:
        sample = QPV_SAMPLE.read_text("utf-8")
        assert sample.count(";Le Blosne;") == 1
        run(db, QPV_SAMPLE)
        report = run(db, write(tmp_path, sample.replace(";Le Blosne;", ";Le Blosne - Torigné;").rstrip("\n")))
        assert report.changed == {"QN03502B": ["name"]}
        assert report.added == [] and report.unchanged == len(SAMPLE_CODES) - 1
        assert stored(db)["QN03502B"] == {**RENNES["QN03502B"], "name": "Le Blosne - Torigné"}

    def test_rows_absent_from_the_file_are_left_alone(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, GOOD))
        assert report.added == ["QN04492B"]
        table = stored(db)
        assert set(table) == set(RENNES) | {"QN04492B"}
        for code, q in RENNES.items():
            assert table[code] == q

    def test_several_fields_changed_are_all_named(self, db: Path, tmp_path: Path) -> None:
        moved = line(code="QN03501M", name="Maurepas", dep="35", insee='"=""35238;35051"""',
                     communes='"Rennes; Cesson-Sévigné"', siren="243500139", epci="Rennes Métropole")
        report = run(db, write(tmp_path, HEADER, moved))
        assert report.changed == {"QN03501M": ["commune"]}  # the first commune, Rennes, is still the INSEE code kept
        assert stored(db)["QN03501M"]["commune"] == "Rennes, Cesson-Sévigné"


BAD_ROWS = {
    "code too short": (line(code="QN4491A"), "Code QPV « QN4491A » invalide"),
    "code lower case": (line(code="qn04491a"), "Code QPV « qn04491a » invalide"),
    "code of an older generation": (line(code="QP044001"), "Code QPV « QP044001 » invalide"),
    "département mismatch": (line(dep="35"), "Le département 35 ne correspond pas au code QN04491A"),
    "département not a number": (line(dep="Loire"), "Département « Loire » invalide"),
    "code with non-ASCII digits": (line(code="QN\u0660\u0664\u066491A"), "Code QPV « QN\u0660\u0664\u066491A »"),
    "Corsican code with a two-character département": (
        line(**(AJACCIO | {"code": "QN2A091K"}), dep="2A"), "Code QPV « QN2A091K » invalide"
    ),
    "Corsican code with another letter": (line(**(AJACCIO | {"code": "QN02C91K"}), dep="2A"), "Code QPV « QN02C91K »"),
    "Corsican code in lower case": (line(**(AJACCIO | {"code": "QN02a91K"}), dep="2a"), "Code QPV « QN02a91K »"),
    "Corsican département of the other half": (
        line(**AJACCIO, dep="2B"), "Le département 2B ne correspond pas au code QN02A91K (département 02A)."
    ),
    "Corsican département in lower case": (line(**AJACCIO, dep="2a"), "Département « 2a » invalide"),
    "Corsican département padded twice": (line(**AJACCIO, dep="002A"), "Département « 002A » invalide"),
    "Corsica's old département 20": (line(**AJACCIO, dep="20"), "Le département 20 ne correspond pas au code"),
    "missing name": (line(name=""), "Champs obligatoires vides : lib_qp."),
    "missing communes and EPCI": (line(insee="", epci=" "), "Champs obligatoires vides : insee_com, lib_epci."),
    "SIREN of 8 digits": (line(siren="24440040"), "SIREN d'EPCI « 24440040 » invalide"),
    "SIREN with a letter": (line(siren="24440040A"), "SIREN d'EPCI « 24440040A » invalide"),
    "second SIREN bad": (line(siren='"244400404;12"'), "SIREN d'EPCI « 244400404;12 » invalide"),
    "INSEE code of 4 digits": (line(insee="4410"), "Code INSEE de commune « 4410 » invalide"),
    "name too long": (line(name="B" * 201), "Trop long (200 caractères au plus) : lib_qp."),
    "a column too many": (line() + ";extra", "11 colonnes au lieu de 10."),
    "a column short": (line().rsplit(";", 1)[0], "9 colonnes au lieu de 10."),
}


class TestRejectedRows:
    @pytest.mark.parametrize("bad", list(BAD_ROWS.values()), ids=list(BAD_ROWS))
    def test_a_bad_row_is_reported_with_its_line_and_skipped_the_others_imported(
        self, db: Path, tmp_path: Path, bad: tuple[str, str]
    ) -> None:
        row, reason = bad
        report = run(db, write(tmp_path, HEADER, GOOD, row, line(code="QN04493C", name="Nantes Nord")))
        assert [r.line for r in report.rejected] == [3]
        assert report.rejected[0].reason.fr.startswith(reason), report.rejected[0].reason.fr
        assert sorted(report.added) == ["QN04492B", "QN04493C"]
        assert report.read == 3
        assert set(stored(db)) == set(RENNES) | {"QN04492B", "QN04493C"}

    @pytest.mark.parametrize("dep", ["2A", "02A", '"=""2A"""'])
    def test_a_corsican_row_is_imported_whichever_way_the_file_writes_its_departement(
        self, db: Path, tmp_path: Path, dep: str
    ) -> None:
        haute_corse = line(code="QN02B91L", name="Lupino", dep="2B", insee='"=""2B033"""', communes="Bastia",
                           siren="200000172", epci="EPCI de test")
        report = run(db, write(tmp_path, HEADER, line(**AJACCIO, dep=dep), haute_corse))
        assert report.rejected == [] and sorted(report.added) == ["QN02A91K", "QN02B91L"]
        table = stored(db)
        assert (table["QN02A91K"]["department"], table["QN02A91K"]["insee_commune"]) == ("02A", "2A004")
        assert (table["QN02B91L"]["department"], table["QN02B91L"]["insee_commune"]) == ("02B", "2B033")
        assert run(db, write(tmp_path, HEADER, line(**AJACCIO, dep="02A"), haute_corse)).unchanged == 2

    def test_a_duplicate_code_is_rejected_pointing_at_the_first_line(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, GOOD, line(), line(name="Bellevue bis")))
        assert [(r.line, r.code, r.reason.fr) for r in report.rejected] == [
            (4, "QN04491A", "Code en double : déjà ligne 3.")
        ]
        assert sorted(report.added) == ["QN04491A", "QN04492B"]
        assert stored(db)["QN04491A"]["name"] == "Bellevue"

    def test_reasons_come_in_english_too(self, db: Path, tmp_path: Path) -> None:
        report = run(db, write(tmp_path, HEADER, line(dep="35"), line(code="QN04492B", siren="1")))
        assert [r.reason.en for r in report.rejected] == [
            "Département 35 does not match code QN04491A (département 044).",
            "Invalid EPCI SIREN '1' (9 digits).",
        ]
        printed = "\n".join(report.lines("en"))
        assert "line 2 (QN04491A): Département 35 does not match" in printed
        assert "rejected: 2" in printed

    def test_line_numbers_count_physical_lines(self, db: Path, tmp_path: Path) -> None:
        # A quoted name over two lines: the next rows' numbers still match what an editor shows.
        report = run(db, write(tmp_path, HEADER, line(name='"Bellevue\nOuest"'), "", line(code="QN04492B", dep="9")))
        assert [(r.line, r.code) for r in report.rejected] == [(5, "QN04492B")]
        assert report.added == ["QN04491A"]
        assert stored(db)["QN04491A"]["name"] == "Bellevue\nOuest"


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
        overlong = line(code="QN04493C", name='"' + "x" * (csv.field_size_limit() + 1) + '"')
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
        rows = many_rows(2 * BATCH_SIZE + 100)
        latin1 = write(tmp_path, HEADER, *rows, line(code="QN04499Z", name="Bréquigny-sur-Loire"), encoding="latin-1")
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
        assert sorted(report.added) == ["QN04491A", "QN04492B"] and report.rejected == []
        assert stored(db)["QN04491A"]["commune"] == "Nantes, Saint-Herblain"
        assert stored(db)["QN04492B"]["epci"] == "Nantes Métropole"

    def test_comma_separated_file_with_plain_cells_and_three_digit_department(self, db: Path, tmp_path: Path) -> None:
        report = run(
            db,
            write(
                tmp_path,
                "CODE_QP, lib_qp ,insee_dep,insee_com,lib_com,siren_epci,lib_epci,population",
                'QN04491A,Bellevue,044,"44109,44162","Nantes; Saint-Herblain",244400404,Nantes Métropole,17000',
                "QN06991D,La Duchère,69,69123,Lyon,200046977,Métropole de Lyon,",
                encoding="utf-8-sig",
            ),
        )
        assert sorted(report.added) == ["QN04491A", "QN06991D"] and report.rejected == []
        table = stored(db)
        assert table["QN04491A"]["insee_commune"] == "44109"
        assert table["QN04491A"]["commune"] == "Nantes, Saint-Herblain"
        assert table["QN06991D"]["department"] == "069"

    def test_a_qpv_over_two_epcis_keeps_the_first_siren_and_both_names(self, db: Path, tmp_path: Path) -> None:
        two = line(siren='"244400404;200067999"', epci='"Nantes Métropole; CC Exemple"')
        report = run(db, write(tmp_path, HEADER, two))
        assert report.added == ["QN04491A"]
        assert (stored(db)["QN04491A"]["epci_siren"], stored(db)["QN04491A"]["epci"]) == (
            "244400404", "Nantes Métropole, CC Exemple"
        )

    def test_decomposed_accents_are_stored_composed_so_a_rerun_changes_nothing(self, db: Path, tmp_path: Path) -> None:
        decomposed = line(code="QN03504C", name="Bre\u0301quigny", dep="35", insee='"=""35238"""', communes="Rennes",
                          siren="243500139", epci="Rennes Me\u0301tropole")
        report = run(db, write(tmp_path, HEADER, decomposed))
        assert report.unchanged == 1 and report.changed == {}

    def test_more_rows_than_a_batch_are_all_imported_once(self, db: Path, tmp_path: Path) -> None:
        path = write(tmp_path, HEADER, *many_rows(1200))
        first = run(db, path)
        assert len(first.added) == 1200 > 2 * BATCH_SIZE and first.rejected == []
        assert len(stored(db)) == 1200 + 5
        second = run(db, path)
        assert (second.added, second.changed, second.unchanged) == ([], {}, 1200)


class TestDryRun:
    def test_a_dry_run_reports_what_would_change_and_writes_nothing(self, db: Path, tmp_path: Path) -> None:
        renamed = line(code="QN03505K", name="Cleunay - Arsenal", dep="35", insee='"=""35238"""', communes="Rennes",
                       siren="243500139", epci="Rennes Métropole")
        report = run(db, write(tmp_path, HEADER, GOOD, renamed, line(code="bad")), dry_run=True)
        assert report.dry_run
        assert report.added == ["QN04492B"]
        assert report.changed == {"QN03505K": ["name"]}
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
        assert "modifiés: 0" in out and "inchangés: 5" in out and "rejetés: 0" in out
        assert "laissés tels quels" in out
        assert set(stored(db)) == SAMPLE_CODES

    def test_rejected_rows_are_listed_and_the_exit_code_is_still_0(self, db: Path, tmp_path: Path) -> None:
        done = command(db, str(write(tmp_path, HEADER, GOOD, line(siren="12"))), "--lang", "en")
        assert done.returncode == 0, done.stderr
        assert "added: 1" in done.stdout and "rejected: 1" in done.stdout
        assert "line 3 (QN04491A): Invalid EPCI SIREN '12' (9 digits)." in done.stdout
        assert "QN04492B" in stored(db)

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

    def test_a_search_by_the_second_commune_of_a_qpv_finds_it(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"q": "saint-herblain"})
        assert [item["code"] for item in response.json()["items"]] == ["QN04491A"]

    def test_the_department_filter_sees_the_imported_ones(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"department": "069"})
        assert [(i["code"], i["commune"]) for i in response.json()["items"]] == [
            ("QN06991D", "Lyon"), ("QN06992E", "Vaulx-en-Velin")
        ]
