"""What an earlier run of the seed left in the schemas: found by its marks, removed by `--replace`.

Removal deletes the seeded rows and what hangs off them (also what the API added to them since, e.g. a payment
made on a seeded grant). The QPVs stay: they are reference data, which the QPV import never deletes either.
"""

from scripts.country import MARKER, MARKER_DOMAIN
from scripts.country.bulk import Loader

SEEDED_ORGANISATIONS = f"SELECT id FROM organisations WHERE email LIKE '%%.{MARKER_DOMAIN}'"
SEEDED_DOSSIERS = ("SELECT id FROM dossiers WHERE programme_id IN "
                   f"(SELECT id FROM programmes WHERE created_by = '{MARKER}')")

# Children first; each statement deletes the rows of one table hanging off the seeded ones.
FUNDING = (
    "DELETE FROM open_data_rows WHERE grant_id IN (SELECT id FROM grants WHERE dossier_id IN "
    "(SELECT id FROM seeded_dossiers))",
    "DELETE FROM agreement_parties WHERE agreement_id IN (SELECT id FROM agreements WHERE dossier_id IN "
    "(SELECT id FROM seeded_dossiers))",
    *(f"DELETE FROM {table} WHERE dossier_id IN (SELECT id FROM seeded_dossiers)" for table in (
        "payments", "financial_reports", "agreements", "grant_years", "grants", "decision_amendments",
        "committee_decisions", "learning_reviews",
        "cpo_reviews", "cpo_versions", "dossier_opinions", "dossier_routings", "dossier_history", "dossier_tags",
        "funding_lines", "notifications", "envelope_movements")),
    "DELETE FROM envelope_movements WHERE envelope_id IN (SELECT id FROM envelopes WHERE created_by = %(marker)s)",
    *(f"DELETE FROM {table} WHERE session_id IN (SELECT id FROM committee_sessions WHERE created_by = %(marker)s)"
      for table in ("committee_scores", "committee_recusals")),
    "DELETE FROM committee_decisions WHERE item_id IN (SELECT id FROM committee_agenda_items WHERE session_id IN "
    "(SELECT id FROM committee_sessions WHERE created_by = %(marker)s))",
    "DELETE FROM committee_agenda_items WHERE dossier_id IN (SELECT id FROM seeded_dossiers) OR session_id IN "
    "(SELECT id FROM committee_sessions WHERE created_by = %(marker)s)",
    "DELETE FROM dossiers WHERE id IN (SELECT id FROM seeded_dossiers)",
    *(f"DELETE FROM {table} WHERE session_id IN (SELECT id FROM committee_sessions WHERE created_by = %(marker)s)"
      for table in ("committee_session_funders", "committee_session_programmes")),
    "DELETE FROM committee_sessions WHERE created_by = %(marker)s",
    "DELETE FROM envelopes WHERE created_by = %(marker)s",
    "DELETE FROM programme_funders WHERE programme_id IN (SELECT id FROM programmes WHERE created_by = %(marker)s)",
    "DELETE FROM programmes WHERE created_by = %(marker)s",
)
PROJECTS = (
    "CREATE TEMP TABLE seeded_projects ON COMMIT DROP AS SELECT id FROM projects WHERE created_by = %(marker)s",
    "DELETE FROM budget_lines WHERE budget_id IN (SELECT id FROM budgets WHERE updated_by = %(marker)s "
    "OR project_id IN (SELECT id FROM seeded_projects))",
    "DELETE FROM budgets WHERE updated_by = %(marker)s OR project_id IN (SELECT id FROM seeded_projects)",
    "DELETE FROM project_qpv WHERE project_id IN (SELECT id FROM seeded_projects)",
    "DELETE FROM project_priorities WHERE project_id IN (SELECT id FROM seeded_projects)",
    "DELETE FROM projects WHERE id IN (SELECT id FROM seeded_projects)",
)
IDENTITY = (
    f"CREATE TEMP TABLE seeded_organisations ON COMMIT DROP AS {SEEDED_ORGANISATIONS}",
    *(f"DELETE FROM {table} WHERE organisation_id IN (SELECT id FROM seeded_organisations)" for table in (
        "organisation_public_aid", "organisation_approvals", "organisation_networks", "organisation_profiles",
        "memberships")),
    "DELETE FROM organisations WHERE id IN (SELECT id FROM seeded_organisations)",
)


def found(loaders: dict[str, Loader]) -> dict[str, int]:
    """How many seeded rows of each kind are there (all zero on a fresh desk)."""
    return {
        "organisations": loaders["identity"].execute(f"SELECT count(*) FROM ({SEEDED_ORGANISATIONS}) s")[0][0],
        "projects": loaders["projects"].execute("SELECT count(*) FROM projects WHERE created_by = %s",
                                                (MARKER,))[0][0],
        "dossiers": loaders["funding"].execute(f"SELECT count(*) FROM ({SEEDED_DOSSIERS}) s")[0][0],
        "programmes": loaders["funding"].execute("SELECT count(*) FROM programmes WHERE created_by = %s",
                                                 (MARKER,))[0][0],
    }


def remove(loaders: dict[str, Loader]) -> None:
    """Inside the loaders' transactions: nothing is gone until they commit."""
    funding = loaders["funding"]
    funding.execute(f"CREATE TEMP TABLE seeded_dossiers ON COMMIT DROP AS {SEEDED_DOSSIERS}")
    for statement in FUNDING:
        funding.execute(statement, {"marker": MARKER})
    for statement in PROJECTS:
        loaders["projects"].execute(statement, {"marker": MARKER})
    for statement in IDENTITY:
        loaders["identity"].execute(statement, {"marker": MARKER})
