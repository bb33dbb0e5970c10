"""Races, on both databases: references, idempotency keys, If-Match and state changes under concurrent calls."""

import re

from services.funding.tests.helpers import DOSSIERS, PROGRAMME_ID, VILLE, at_once, history_count, listed_ids, url_of
from tests.support.stack import problem
from tests.support.world import DESK, HOLDER, World

CALLS = 10
REFERENCE = re.compile(r"^GU-\d{4}-(\d{6})$")


def test_dossiers_created_at_once_all_get_distinct_references(world: World) -> None:
    project = world.create_project()
    api = world.as_("funding", HOLDER)
    body = {
        "programme_id": PROGRAMME_ID, "project_id": project["id"],
        "funding_plan": [{"funder_id": VILLE, "amount_cents": 100_000}],
    }
    answers = at_once(api, [("POST", DOSSIERS, {"json": body})] * CALLS)
    assert [a.status_code for a in answers] == [201] * CALLS, [a.text for a in answers if a.status_code != 201]
    references = [a.json()["reference"] for a in answers]
    assert all(REFERENCE.fullmatch(r) for r in references), references
    assert len(set(references)) == CALLS, references
    assert sorted(listed_ids(world.as_("funding", DESK))) == sorted(a.json()["id"] for a in answers)
    # the counter did not skip: the numbers given are consecutive
    numbers = sorted(int(REFERENCE.fullmatch(r).group(1)) for r in references)  # type: ignore[union-attr]
    assert numbers == list(range(numbers[0], numbers[0] + CALLS))
    # and the next dossier carries on after them
    following = REFERENCE.fullmatch(world.create_dossier(project=project)["reference"])
    assert following is not None
    assert int(following.group(1)) == numbers[-1] + 1


def test_creations_at_once_under_one_idempotency_key_make_one_dossier(world: World) -> None:
    project = world.create_project()
    api = world.as_("funding", HOLDER)
    body = {
        "programme_id": PROGRAMME_ID, "project_id": project["id"],
        "funding_plan": [{"funder_id": VILLE, "amount_cents": 100_000}],
    }
    answers = at_once(api, [("POST", DOSSIERS, {"json": body, "headers": {"Idempotency-Key": "once"}})] * CALLS)
    originals = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(originals) == 1, [(a.status_code, a.headers.get("idempotent-replayed")) for a in answers]
    for answer in answers:
        if answer is originals[0]:
            continue
        if answer.status_code == 201:
            assert answer.headers["idempotent-replayed"] == "true"
            assert answer.json() == originals[0].json()
        else:
            assert answer.status_code == 409, answer.text
            assert problem(answer)["code"] == "idempotency_in_progress"
    assert listed_ids(world.as_("funding", DESK)) == [originals[0].json()["id"]]


def test_submits_at_once_under_one_idempotency_key_submit_once(world: World) -> None:
    dossier = world.create_dossier()
    api = world.as_("funding", HOLDER)
    answers = at_once(
        api, [("POST", f"{url_of(dossier)}/submit", {"headers": {"Idempotency-Key": "submit-once"}})] * CALLS
    )
    originals = [a for a in answers if a.status_code == 200 and "idempotent-replayed" not in a.headers]
    assert len(originals) == 1, [(a.status_code, a.text[:120]) for a in answers]
    submitted = originals[0].json()
    for answer in answers:
        if answer is originals[0]:
            continue
        if answer.status_code == 200:
            assert answer.headers["idempotent-replayed"] == "true"
            assert answer.json() == submitted
        else:
            assert answer.status_code == 409, answer.text
            assert problem(answer)["code"] == "idempotency_in_progress"
    read = api.get(url_of(dossier)).json()
    assert read == submitted
    assert read["version"] == dossier["version"] + 1
    assert history_count(world, dossier["id"], "submitted") == 1


def test_submits_at_once_without_a_key_let_exactly_one_through(world: World) -> None:
    dossier = world.create_dossier()
    api = world.as_("funding", HOLDER)
    answers = at_once(api, [("POST", f"{url_of(dossier)}/submit", {})] * CALLS)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * (CALLS - 1), statuses
    for answer in answers:
        if answer.status_code == 409:
            assert problem(answer)["code"] == "illegal_transition"
    assert api.get(url_of(dossier)).json()["version"] == dossier["version"] + 1
    assert history_count(world, dossier["id"], "submitted") == 1


def test_plan_changes_at_once_with_the_same_if_match_let_exactly_one_through(world: World) -> None:
    dossier = world.create_dossier()
    api = world.as_("funding", HOLDER)
    etag = api.get(url_of(dossier)).headers["etag"]
    calls = [
        ("PATCH", url_of(dossier),
         {"json": {"funding_plan": [{"funder_id": VILLE, "amount_cents": 100_000 + n}]}, "headers": {"If-Match": etag}})
        for n in range(CALLS)
    ]
    answers = at_once(api, calls)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [412] * (CALLS - 1), statuses
    winner = next(a for a in answers if a.status_code == 200).json()
    read = api.get(url_of(dossier)).json()
    assert read == winner
    assert read["version"] == dossier["version"] + 1
    assert history_count(world, dossier["id"], "plan_updated") == 1


def test_a_plan_change_racing_the_submission_never_changes_a_submitted_plan(world: World) -> None:
    dossier = world.create_dossier()
    api = world.as_("funding", HOLDER)
    etag = api.get(url_of(dossier)).headers["etag"]
    new_plan = [{"funder_id": VILLE, "amount_cents": 42}]
    patch, submit = at_once(api, [
        ("PATCH", url_of(dossier), {"json": {"funding_plan": new_plan}, "headers": {"If-Match": etag}}),
        ("POST", f"{url_of(dossier)}/submit", {}),
    ])
    read = api.get(url_of(dossier)).json()
    if patch.status_code == 200:  # the change came first (before the checks, or between them and the lock)
        assert submit.status_code == 409, submit.text
        assert problem(submit)["code"] in ("dossier_not_ready", "dossier_changed"), submit.text
        assert read["state"] == "draft" and read["funding_plan"] == new_plan
    else:  # the submission came first: the change is refused, the plan is the one submitted
        assert submit.status_code == 200, submit.text
        assert patch.status_code in (409, 412), patch.text
        assert read["state"] == "submitted" and read["funding_plan"] == dossier["funding_plan"]
        assert read == submit.json()
