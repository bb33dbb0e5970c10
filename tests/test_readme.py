"""The README stays true: its curl story runs against the live desk, its table lists every variable."""

import re
import subprocess
from pathlib import Path

from scripts.settings_table import every_variable

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def walkthrough(name: str = "readme-walkthrough") -> str:
    block = README.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    return block.split("```bash", 1)[1].rsplit("```", 1)[0]


def run(script: str, live) -> list[str]:  # noqa: ANN001
    script = script.replace("BASE=http://127.0.0.1:8000", f"BASE={live.url()}")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_the_curl_story_works_against_the_live_desk(live) -> None:
    lines = run(walkthrough(), live)
    assert lines[0] == "budget balanced: True", lines
    reference = re.fullmatch(r"(GU-\d{4}-\d{6}) submitted", lines[1])
    assert reference, lines
    assert lines[2:6] == ["['required_documents']", "supplements_requested", "submitted", "in_instruction"]
    assert reference.group(1) in lines[6]  # the instructor's list
    assert lines[7] == f"{reference.group(1)} Aide aux devoirs au Blosne Association Blosne Avenir"
    assert lines[8:12] == [
        "report submitted", "ready_for_committee", "session open", "session closed partially_accepted"
    ]
    assert lines[12].startswith(f"Dossier {reference.group(1)} : réponse du comité des financeurs du "), lines[12]
    assert lines[13:] == ["decision_letter active", "payment 1500000 paid"]


def test_the_small_project_story_works_against_the_live_desk(live) -> None:
    assert run(walkthrough("readme-walkthrough-small"), live) == [
        "submitted clock running: True", "decided accepted", "payment paid", "light report due expected",
    ]


def test_the_seed_fund_story_works_against_the_live_desk(live) -> None:
    assert run(walkthrough("readme-walkthrough-seed"), live) == [
        "submitted", "grid average 4.25 accepted", "paid 840000", "learning review accepted", "paid 360000",
        "graduate draft True",
    ]


def test_the_cpo_story_works_against_the_live_desk(live) -> None:
    assert run(walkthrough("readme-walkthrough-cpo"), live) == [
        "submitted 3 years with targets: 3",
        "session closed accepted",
        "convention active [6000000, 6000000, 6000000]",
        "convention active [3000000, 3000000, 3000000]",
        "advance 3000000 paid",
        "running version 1 ['continue']",
        "balance 3000000 paid",
    ]


def test_the_configuration_table_names_every_variable() -> None:
    table = README.split("<!-- settings-table:start -->", 1)[1].split("<!-- settings-table:end -->", 1)[0]
    listed = set(re.findall(r"`([A-Z<>_]+)`", table))
    missing = set()
    for variable in every_variable():
        service, _, rest = variable.partition("_")
        if variable not in listed and f"<SERVICE>_{rest}" not in listed:
            missing.add(variable)
    assert not missing, f"variables missing from the README table: {sorted(missing)}"
