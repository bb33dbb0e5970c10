"""The README's story, in process: log in, create a project, a dossier, submit it; the desk admits and routes
it; a funder sees it."""

from tests.support.world import CITY_INSTRUCTOR, World


def test_a_routed_dossier_is_seen_by_the_funder_named_in_its_plan(world: World) -> None:
    dossier = world.create_dossier()
    assert dossier["reference"].startswith("GU-")
    assert dossier["state"] == "draft"
    submitted = world.submit(dossier)
    assert submitted["state"] == "submitted"
    assert submitted["project_snapshot"]["title"] == "Aide aux devoirs au Blosne"

    funder = world.as_("funding", CITY_INSTRUCTOR)
    assert funder.get(f"/api/v1/dossiers/{dossier['id']}").status_code == 404  # not routed yet
    assert world.route(submitted)["state"] == "in_instruction"
    listed = funder.get("/api/v1/dossiers")
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["items"]] == [dossier["id"]]
    assert funder.get(f"/api/v1/dossiers/{dossier['id']}").status_code == 200
