"""The README stays true: its curl story runs against the live desk, its table lists every variable."""

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx

from scripts.settings_table import every_variable
from tests.support.clock import TODAY

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def walkthrough(name: str = "readme-walkthrough") -> str:
    block = README.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    return block.split("```bash", 1)[1].rsplit("```", 1)[0]


def attempt(script: str, live, tmp_path: Path) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
    if live is not None:
        script = script.replace("BASE=http://127.0.0.1:8000", f"BASE={live.url()}")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": f"{desk_date(tmp_path)}:{os.environ['PATH']}"})


def run(script: str, live, tmp_path: Path) -> list[str]:  # noqa: ANN001
    done = attempt(script, live, tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def desk_date(folder: Path) -> Path:
    """A `date` that reads the live desk's clock (TEST_NOW), not the calendar, for the story's `$(date …)`:
    `date +%F` is that day, `date -d '+15 days' +%F` counts from it."""
    shim = folder / "bin" / "date"
    shim.parent.mkdir(exist_ok=True)
    day = TODAY.strftime("%Y%m%d")
    shim.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-d" ]; then shift; when="$1"; shift; exec {shutil.which("date")} -u -d "{day} $when" "$@"; fi\n'
        f'exec {shutil.which("date")} -u -d "{day}" "$@"\n'
    )
    shim.chmod(0o755)
    return shim.parent


def test_the_story_s_dates_are_the_desk_s(tmp_path: Path) -> None:
    assert run("date +%F; date -d '+15 days' +%F; echo $(( $(date +%Y) - 1 ))", None, tmp_path) == [
        TODAY.isoformat(), (TODAY + timedelta(days=15)).isoformat(), str(TODAY.year - 1)]


def check_curl_story(lines: list[str]) -> None:
    assert lines[0] == "budget balanced: True", lines
    reference = re.fullmatch(r"(GU-\d{4}-\d{6}) submitted", lines[1])
    assert reference, lines
    assert lines[2] == ("required: statutes board_members bank_details approved_accounts activity_report "
                        "insurance_certificate"), lines
    assert lines[3:6] == ["supplements_requested", "submitted", "in_instruction"]
    assert reference.group(1) in lines[6]  # the instructor's list
    assert lines[7] == f"{reference.group(1)} Aide aux devoirs au Blosne Association Blosne Avenir"
    assert lines[8:12] == [
        "report submitted", "ready_for_committee", "session open", "session closed partially_accepted"
    ]
    assert lines[12].startswith(f"Dossier {reference.group(1)} : réponse du comité des financeurs du "), lines[12]
    assert lines[13:] == ["agreement active", "payment 1500000 paid"]


SMALL_STORY = ["submitted clock running: True", "decided accepted", "payment paid", "light report due expected"]
SEED_STORY = ["submitted", "grid average 4.25 accepted", "paid 840000", "learning review accepted", "paid 360000",
              "graduate draft True"]
CPO_STORY = [
    "submitted 3 years with targets: 3",
    "session closed accepted",
    "convention active [6000000, 6000000, 6000000]",
    "convention active [3000000, 3000000, 3000000]",
    "advance 3000000 paid",
    "running version 1 ['continue']",
    "balance 3000000 paid",
]


def test_the_curl_story_works_against_the_live_desk(live, tmp_path: Path) -> None:
    check_curl_story(run(walkthrough(), live, tmp_path))


def test_the_small_project_story_works_against_the_live_desk(live, tmp_path: Path) -> None:
    assert run(walkthrough("readme-walkthrough-small"), live, tmp_path) == SMALL_STORY


def test_the_seed_fund_story_works_against_the_live_desk(live, tmp_path: Path) -> None:
    assert run(walkthrough("readme-walkthrough-seed"), live, tmp_path) == SEED_STORY


def test_the_cpo_story_works_against_the_live_desk(live, tmp_path: Path) -> None:
    assert run(walkthrough("readme-walkthrough-cpo"), live, tmp_path) == CPO_STORY


def test_each_money_story_runs_again_on_the_same_desk(live, tmp_path: Path) -> None:
    """A second `make run` keeps var/: each story, run twice in a row on one desk (not an empty one: the other
    tests of the worker share it), says the same both times. The second curl story's 15,000 € from the city
    makes 30,000 € that year, so its agreement is a convention (the seed story's second 12,000 € from the
    métropole, 24,000 €): both kinds of agreement are put in force."""
    for _ in range(2):
        check_curl_story(run(walkthrough(), live, tmp_path))
    city = httpx.post(f"{live.url()}/api/v1/auth/token", data={
        "grant_type": "password", "username": "direction@ville-rennes.example", "password": "demo-password-2026"})
    token = {"Authorization": f"Bearer {city.json()['access_token']}"}
    agreements, cursor = [], None
    while True:  # every page, in creation order
        page = httpx.get(f"{live.url()}/api/v1/agreements", headers=token,
                         params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        agreements += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    blosne = [a["kind"] for a in agreements if a["object"] == "Aide aux devoirs au Blosne"]
    assert len(blosne) >= 2 and blosne[-1] == "convention", blosne  # the second run: 30,000 € that year
    for name, expected in (("readme-walkthrough-small", SMALL_STORY), ("readme-walkthrough-seed", SEED_STORY),
                           ("readme-walkthrough-cpo", CPO_STORY)):
        assert run(walkthrough(name), live, tmp_path) == expected, name
        assert run(walkthrough(name), live, tmp_path) == expected, name


def test_the_joining_story_works_against_the_live_desk(live, tmp_path: Path) -> None:
    story = walkthrough("readme-walkthrough-joining").replace("MAIL=var/mail", f"MAIL={live.identity_mail_folder}")
    assert run(story, live, tmp_path) == [
        "verification_sent",
        "login before the check: 400",
        "Les Jardins partagés de Villejean",
        "pending",
        "Les Jardins partagés de Villejean ['holder_member']",
        "[('bureau@jardins-villejean.example', ['holder_admin']), "
        "('tresorerie@jardins-villejean.example', ['holder_member'])]",
        "['signup.verified', 'invitation.created', 'invitation.accepted']",
    ]
    # One SIRET, one organisation: run again, the story stops at its sign-up, the desk's refusal said plainly
    again = attempt(story, live, tmp_path)
    assert again.returncode != 0
    assert again.stdout == ""
    assert again.stderr.startswith("409 organisation_exists: "), again.stderr
    assert "Traceback" not in again.stderr


def test_the_configuration_table_names_every_variable() -> None:
    table = README.split("<!-- settings-table:start -->", 1)[1].split("<!-- settings-table:end -->", 1)[0]
    listed = set(re.findall(r"`([A-Z<>_]+)`", table))
    missing = set()
    for variable in every_variable():
        service, _, rest = variable.partition("_")
        if variable not in listed and f"<SERVICE>_{rest}" not in listed:
            missing.add(variable)
    assert not missing, f"variables missing from the README table: {sorted(missing)}"


def json_helper() -> str:
    """The `json` helper every story defines, the same in each."""
    helpers = set(re.findall(r"^json\(\) \{.*?; \}$", README, flags=re.MULTILINE | re.DOTALL))
    assert len(helpers) == 1, helpers
    return helpers.pop()


def test_the_json_helper_pulls_a_field() -> None:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", json_helper() + "\necho '{\"id\": 7}' | json 'd[\"id\"]'"],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "7\n", "")


def test_the_json_helper_says_the_desk_s_problem_and_stops_the_story() -> None:
    problem = ('{"type": "about:blank", "title": "Enveloppe insuffisante", "status": 409, "code": "envelope_exceeded",'
               ' "detail": "Il reste 1 000 € sur l\'enveloppe.", "request_id": "r-1"}')
    script = json_helper() + f"\nGOT=$(echo '{problem.replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'" \
        " | json 'd[\"id\"]')\necho \"never reached: $GOT\""
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr == "409 envelope_exceeded: Enveloppe insuffisante Il reste 1 000 € sur l'enveloppe.\n"
    assert "Traceback" not in done.stderr


ROOT = Path(__file__).resolve().parent.parent
# What the README names that is no path of a clone: files made or read at run time, a notation of the open data.
NOT_IN_THE_CLONE = {"var/", "var/mail", "var/documents", "var/keys/signing.pem", "listeqp2024-cog2024.csv",
                    "bench/results/scale.json", "bench/results/quick.json", "date/date"}


def named_paths() -> set[str]:
    """Every relative link target, and every code span that looks like a file or folder (`1/minute` is a rate)."""
    links = {target for target in re.findall(r"\]\(([^)#\s]+)", README) if "://" not in target}
    spans = set()
    for span in re.findall(r"`([^`\s]+)`", README):
        if re.fullmatch(r"(\.\./)*\.?[A-Za-z_][\w.-]*(/[\w.*-]+)*/?", span) and (
            "/" in span or re.search(r"\.(md|py|toml|json|csv|yml|txt|ini)$", span)
        ):
            spans.add(span)
    return links | spans


def in_the_repository(name: str) -> bool:
    """A path from the root; else a bare name (`cpo/`, `routes.py`: a room, a room's module) inside a package."""
    if name.startswith("../"):
        return False  # beside the clone, not in it
    if any(ROOT.glob(name.rstrip("/"))) or "/" in name.rstrip("/"):
        return any(ROOT.glob(name.rstrip("/")))
    return any(any(package.glob(f"**/{name.rstrip('/')}")) for package in (ROOT / "services", ROOT / "gateway"))


def test_every_path_the_readme_names_is_in_the_repository() -> None:
    names = named_paths()
    assert {"docs/architecture.md", "migrations/projects/data/", "tests/access_matrix.py", "cpo/"} <= names
    missing = {name for name in names - NOT_IN_THE_CLONE if not in_the_repository(name)}
    assert not missing, f"the README names what a clone lacks: {sorted(missing)}"
    assert "shared/" not in README, "the design notes beside the repository are not in a clone"
