"""The schemathesis run, operation by operation: who calls it, which phases, and a record of every answer.

schemathesis' own pytest integration is not used: its lazy (fixture-based) schemas touch a pytest
internal that pytest 9 removed (`Function._nodeid`), and its eager schemas would need the apps at import
time, before the test databases exist. So each operation runs the three generation phases of the CLI
through schemathesis' public API: the schema's examples, the deterministic coverage cases (boundaries,
missing and wrongly typed values), then Hypothesis fuzzing in positive and negative mode.
"""

import re
import string
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import ensure_resource_availability

from services.projects.tests.document_samples import ALLOWED as DOCUMENT_SAMPLES
from tests.support.world import CITY_MANAGER, COMMITTEE_MEMBER, DESK, HOLDER, PLATFORM, SERVICE

# The caller of each protected operation, by operationId: a person holding the role the route is written for.
CALLER_BY_OPERATION: dict[str, dict[str, str]] = {
    "identity": {
        # A platform admin registers funders, the desk, citizen councils, and administers every organisation:
        # the ones just signed up or registered included (an association's admin would get their 404).
        "create_organisation": PLATFORM,
        "update_organisation": PLATFORM,
        "list_members": PLATFORM,
        "get_member": PLATFORM,
        "update_member": PLATFORM,
        "remove_member": PLATFORM,
        "create_invitation": PLATFORM,
        "list_invitations": PLATFORM,
        "get_invitation": PLATFORM,
        "revoke_invitation": PLATFORM,
        "resend_invitation": PLATFORM,
        "suspend_organisation": PLATFORM,
        "reactivate_organisation": PLATFORM,
        "list_audit_events": PLATFORM,
        "list_every_audit_event": PLATFORM,
        # An association's admin reads the directory and manages its machine clients (a platform has none).
        "list_organisations": HOLDER,
        "get_organisation": HOLDER,
        "get_me": HOLDER,
        "change_password": HOLDER,
        "create_client": HOLDER,
        "list_clients": HOLDER,
        "revoke_client": HOLDER,
        # The platform admin fills in any association's profile and the desk reads every one: an association made
        # in the run (sign-up, registration) has a profile to read and write at once, which a holder would get a
        # 404 for (schemathesis' stateful check "created resource not found").
        "replace_profile": PLATFORM,
        "get_profile": DESK,
    },
    "projects": {
        "create_project": HOLDER,
        "list_projects": HOLDER,
        "get_project": HOLDER,
        "update_project": HOLDER,
        "get_project_budget": HOLDER,
        "replace_project_budget": HOLDER,
        "get_association_budget": HOLDER,
        "replace_association_budget": HOLDER,
        "list_qpv": HOLDER,
        "list_priorities": HOLDER,
        # The desk keeps the indicators' catalogue; everyone reads it.
        "create_indicator": DESK,
        "update_indicator": DESK,
        "list_indicators": HOLDER,
        "get_indicator": HOLDER,
        # A project's indicators and reports: the association writes, the desk reviews; aggregates for the desk.
        "get_project_indicators": HOLDER,
        "replace_project_indicators": HOLDER,
        "list_indicator_aggregates": DESK,
        "search_indicator_aggregates": DESK,
        "create_report": HOLDER,
        "list_reports": HOLDER,
        "get_report": HOLDER,
        "update_report": HOLDER,
        "submit_report": HOLDER,
        "accept_report": DESK,
        "request_report_changes": DESK,
        # The documents vault: the association keeps its documents; the desk asks for compliance; funding (a
        # service token, `world.SERVICE`) pins the versions of a submitted dossier.
        "create_document": HOLDER,
        "list_documents": HOLDER,
        "get_document": HOLDER,
        "add_document_version": HOLDER,
        "download_document_version": HOLDER,
        "delete_document_version": HOLDER,
        "document_compliance": DESK,
        "pin_document_versions": SERVICE,
        "confirm_document_pins": SERVICE,
        "release_document_pins": SERVICE,
    },
    "funding": {
        "create_programme": DESK,
        "list_programmes": HOLDER,
        "get_programme": HOLDER,
        "update_programme": DESK,
        "create_dossier": HOLDER,
        "list_dossiers": HOLDER,
        "get_dossier": HOLDER,
        "update_dossier": HOLDER,
        "submit_dossier": HOLDER,
        "dossier_required_documents": HOLDER,
        # The city's manager opens and changes its envelopes, and reads them with their ledger.
        "create_envelope": CITY_MANAGER,
        "list_envelopes": CITY_MANAGER,
        "get_envelope": CITY_MANAGER,
        "update_envelope": CITY_MANAGER,
        "list_envelope_ledger": CITY_MANAGER,
        # The desk checks and moves submitted dossiers; the holder withdraws its own and reads their trail.
        "check_admissibility": DESK,
        "decide_admissibility": DESK,
        "request_supplements": DESK,
        "allocate_share": DESK,
        "withdraw_dossier": HOLDER,
        "dossier_history": HOLDER,
        # Opinions: the run's dossier is a draft routed to nobody, so the city's manager gets its 404 (past the
        # token and role checks); the desk reads the (empty) list.
        "record_opinion": CITY_MANAGER,
        "list_opinions": DESK,
        "route_dossier": DESK,
        "decline_routing": CITY_MANAGER,
        "list_routings": HOLDER,
        # A small project's lead funder decides it alone: the run's dossiers are the annual call's (409).
        "decide_small_project": CITY_MANAGER,
        # A seed fund's learning review: the run's dossiers are the annual call's (409).
        "get_learning_review": HOLDER,
        "write_learning_review": HOLDER,
        "submit_learning_review": HOLDER,
        "accept_learning_review": DESK,
        "request_learning_review_changes": DESK,
        "give_verdict": DESK,
        # A CPO's life: the run's dossiers are the annual call's, no granted CPO (404), none evaluated (409).
        "get_cpo": HOLDER,
        "record_cpo_review": DESK,
        "commit_cpo_year": DESK,
        "evaluate_cpo": DESK,
        "renew_cpo": DESK,
        # Administrative support: the holder asks and ends it, the desk takes it.
        "ask_support": HOLDER,
        "take_support": DESK,
        "end_support": HOLDER,
        # Committee sessions: the desk runs them; the State's committee member declares and decides.
        "create_session": DESK,
        "list_sessions": DESK,
        "get_session": DESK,
        "update_session": DESK,
        "invite_funders": DESK,
        "set_agenda": DESK,
        "declare_conflict": COMMITTEE_MEMBER,
        "list_conflicts": DESK,
        "open_session": DESK,
        "record_decision": COMMITTEE_MEMBER,
        "record_score": COMMITTEE_MEMBER,
        "list_scores": DESK,
        "defer_item": DESK,
        "raise_plan": DESK,
        "close_session": DESK,
        "get_minutes": DESK,
        # The State's committee member lists its funder's decisions (the closed session's included).
        "list_decisions": COMMITTEE_MEMBER,
        "delete_session": DESK,
        # Agreements and payments: the city's manager runs its side; the holder reads, signs and asks.
        "list_agreements": HOLDER,
        "get_agreement": HOLDER,
        "agreement_document": HOLDER,
        "send_agreement": CITY_MANAGER,
        "sign_agreement": HOLDER,
        "activate_agreement": CITY_MANAGER,
        "end_agreement": CITY_MANAGER,
        "list_grants": HOLDER,
        "grant_totals": HOLDER,
        "list_payments": HOLDER,
        "list_events": HOLDER,
        "bulk_export": CITY_MANAGER,
        "funder_year": CITY_MANAGER,
        "funder_projects": CITY_MANAGER,
        "territory_year": CITY_MANAGER,
        "association_figures": HOLDER,
        "integrity": DESK,
        # Webhooks: the association's admin; the run's endpoint ids name none of its own (404).
        "register_webhook": HOLDER,
        "list_webhooks": HOLDER,
        "get_webhook": HOLDER,
        "update_webhook": HOLDER,
        "delete_webhook": HOLDER,
        "rotate_webhook_secret": HOLDER,
        "list_webhook_deliveries": HOLDER,
        "get_webhook_delivery": HOLDER,
        "replay_webhook_delivery": HOLDER,
        "get_payment": HOLDER,
        "request_payment": HOLDER,
        "pay_payment": CITY_MANAGER,
        "cancel_payment": CITY_MANAGER,
        # Financial reports: the holder fills its city report in and submits it; the city's manager reviews.
        "list_financial_reports": HOLDER,
        "get_financial_report": HOLDER,
        "update_financial_report": HOLDER,
        "submit_financial_report": HOLDER,
        "accept_financial_report": CITY_MANAGER,
        "request_financial_report_changes": CITY_MANAGER,
        # The holder reads the committee's answers; the desk sends one again.
        "list_notifications": HOLDER,
        "get_notification": HOLDER,
        "deliver_notification": DESK,
    },
}

# Operations anyone may call: sent without a token.
PUBLIC_OPERATIONS: dict[str, frozenset[str]] = {
    "identity": frozenset(
        {"issue_token", "refresh_token", "logout", "signup_association", "verify_signup", "accept_invitation",
         "request_password_reset", "confirm_password_reset", "jwks", "healthz", "readyz", "metrics"}
    ),
    "projects": frozenset({"healthz", "readyz", "metrics"}),
    "funding": frozenset({"healthz", "readyz", "metrics", "export_scdl", "excluded_scdl_rows"}),
}

OPERATIONS: dict[str, list[str]] = {
    service: sorted(CALLER_BY_OPERATION[service]) + sorted(PUBLIC_OPERATIONS[service]) for service in PUBLIC_OPERATIONS
}
REFUSED = frozenset({401, 403})
# Refusals that only a caller past the token and role checks gets: the read is about another organisation than
# the caller's (a funder_id or organisation_id taken from an earlier answer, in the stateful scenarios), or the
# caller's membership changed since its token was issued (a scenario that removed or demoted its own caller).
OBJECT_LEVEL_REFUSALS = frozenset({"not_your_funder", "not_your_association", "access_changed"})

# `format: email` allows any RFC 5321 address, and schemathesis draws some from `.test` on purpose; the desk
# (pydantic's EmailStr, email-validator) refuses the special-use domains of RFC 6761 (.test, .local, .invalid…),
# which can never receive mail. Addresses are drawn from domains that can; malformed ones stay negative cases.
_LOCAL_PART = string.ascii_lowercase + string.digits + "!#$%&'*+-/=?^_`{|}~"
_LABEL = string.ascii_lowercase + string.digits
schemathesis.openapi.format(
    "email",
    st.builds(
        "{}@{}.{}".format,
        st.text(_LOCAL_PART, min_size=1, max_size=10),
        st.text(_LABEL, min_size=1, max_size=8),
        st.sampled_from(["fr", "com", "org", "example"]),
    ),
)

# Files for the multipart parts whose `encoding` names these types (the documents vault judges a file by its
# bytes): a small valid file of the type, so that positive cases upload something the vault takes.
for _media_type, (_build, _name, _declared) in DOCUMENT_SAMPLES.items():
    schemathesis.openapi.media_type(_media_type, st.text(string.ascii_letters, max_size=12).map(_build))

# Refusals of schema-valid data that no JSON Schema can foresee. `positive_data_acceptance` is skipped for the
# one call so refused, never for a whole operation; every other check still runs on that call.
# 1. Problems whose reason is what the databases hold, by code.
STATE_DEPENDENT_REJECTIONS: dict[str, str] = {
    "invalid_cursor": "a cursor is opaque: only the strings the server issued decode",
    "invalid_grant": "well-formed credentials or refresh token that the database does not know (RFC 6749 5.2)",
    "token_unknown": "a single-use token (sign-up, invitation, reset) that was never mailed, or already used",
    "wrong_password": "the current password is checked against the one stored",
    "password_unchanged": "the new password differs from the current one (depends on `current_password`)",
    "already_member": "an address that is already a member of the organisation (409)",
    "invitation_pending": "an address already invited and not yet answered (409)",
    "invitation_closed": "an invitation accepted or revoked cannot be revoked or resent (409)",
    "last_admin": "an organisation keeps at least one admin (409)",
    "already_suspended": "a suspended organisation is suspended once (409)",
    "not_suspended": "only a suspended organisation is reactivated (409)",
    "platform_not_suspendable": "the platform does not suspend itself (409)",
    "unknown_reference": "a well-formed QPV or priority code missing from the reference lists",
    "unknown_funder": "a UUID that names no funder known to identity",
    "precondition_failed": "an If-Match that is not the resource's current ETag (RFC 9110 13.1.1: 412)",
    "funder_not_in_programme": "a funder that exists but does not take part in the programme",
    "dossier_not_ready": "a submission checked against the project's budget, the yearly budget and the profile",
    "envelope_exists": "a funder has one envelope per programme and year (409)",
    "envelope_below_committed": "an envelope's total never goes below what is already committed on it (409)",
    "envelope_exceeded": "a commitment beyond what the envelope has left (409)",
    "envelope_missing": "a commitment on an envelope the funder has not opened (409)",
    "envelope_release_exceeded": "a release of more than is committed and not paid, or than the dossier holds (409)",
    "admissibility_rules_failed": "admissible only when the vault, the territory and the plan say so (409)",
    "nothing_to_allocate": "a plan that leaves nothing to the desk (409)",
    "allocation_total_mismatch": "shares must add up to the amount the stored plan leaves to the desk",
    "funder_declined": "a funder that declined the dossier gets no share of it",
    "unallocated_share": "a dossier is routed once the desk's share is allocated (409)",
    "nothing_to_route": "every funder of the plan already has the dossier (409)",
    "routing_already_declined": "a funder declines a dossier once (409)",
    "indicator_code_taken": "an indicator code already in the catalogue (409)",
    "invalid_denominator": "a well-formed code that names no indicator, or names a ratio",
    "invalid_part_of": "a well-formed code that names no indicator, or no sum of the same unit",
    "invalid_targets": "indicators checked against the catalogue (unit, ratio, 'of whom') and the project's dates",
    "inconsistent_values": "values checked against the project's targets and the catalogue (unit, 'of whom', ratio)",
    "period_not_planned": "a period for which the project follows no indicator",
    "unknown_project": "a UUID that names no project of the caller's organisation",
    "unknown_evidence": "a UUID that names no document version of the caller's organisation",
    "unsupported_document_type": "a file is judged by its bytes (magic numbers, ZIP entries), not by its schema",
    "unknown_document_version": "a UUID that names no document version of that organisation",
    "document_version_pinned": "a version that a submitted dossier references cannot be deleted (409)",
    "document_version_in_report": "a version that a report cites as evidence cannot be deleted (409)",
    "precondition_required": "an If-Match optional on a blank profile's first PUT, required once filled in (428)",
    "not_an_association": "an organisation that exists but is not an association has no profile (409)",
    "unknown_programme": "a UUID that names no programme",
    "unknown_dossier": "a UUID that names no dossier",
    "unknown_item": "a UUID that names no item of the session's agenda",
    "session_not_planned": "invitations, agenda and conflicts change while the session is planned (409)",
    "session_not_open": "decisions, deferrals and closing happen while the session is open (409)",
    "quorum_not_met": "the funders present must make each programme's quorum (409)",
    "agenda_empty": "a session opens with something on its agenda (409)",
    "dossier_not_placeable": "an agenda takes ready dossiers of the session's programmes, on no other agenda (409)",
    "funder_not_invited": "the funders present are among those invited",
    "conflict_already_declared": "a member declares a conflict on an item once (409)",
    "item_not_pending": "an item is decided or deferred once (409)",
    "funder_not_present": "a funder decides in a session it sits in (409)",
    "recused": "a member who declared a conflict on an item takes no part in its decision (409)",
    "above_amount_asked": "a grant is at most what the stored plan asks of the funder",
    "not_a_raise": "a raise asks more than the stored plan does",
    "funder_not_in_plan": "a raise concerns a funder of the stored plan",
    "items_undecided": "a session closes once every funder asked has decided each item, or it is deferred (409)",
    "minutes_not_ready": "minutes exist once the session is closed (409)",
    "notification_already_sent": "a notification sent is not sent again (409)",
    "illegal_transition": "a move the resource's state does not allow (409, with the allowed ones)",
    "agreement_not_active": "a payment falls due once its agreement is in force (409)",
    "review_pending": "a payment that waits for a review to be accepted (409)",
    "payment_not_yet_due": "a payment before its date (409)",
    "bank_details_missing": "a payment needs the association's valid bank details in its vault (409)",
    "payments_outstanding": "an agreement ends once each payment is paid or cancelled (409)",
    "operating_not_on_track": "running costs are asked on the annual call or a CPO (the programme's track)",
    "simplified_dossier": "a small project asks an amount of the lead funder, not a co-funding plan (its programme)",
    "funding_plan_required": "every track but small projects asks for a co-funding plan (the programme's track)",
    "above_ceiling": "the amount asked is within the programme's ceiling (its track's rules)",
    "support_state": "support is asked, taken and ended in that order (409)",
    "not_the_helper": "the desk edits a draft only as the helper of an active support (409)",
    "no_verdict_yet": "a verdict ends a funded seed project whose mid-term review is accepted (409)",
    "verdict_given": "a seed project gets one verdict (409)",
    "not_a_graduation_programme": "a seed project graduates to a CPO or annual-call programme (its track)",
    "no_learning_review": "a learning review follows a funded seed-fund project (409)",
    "no_scoring_grid": "only a seed-fund item is scored on the grid (409)",
    "not_delegated": "only a small project is decided by one funder alone (409)",
    "report_lines_mismatch": "a financial report has one entry per line of the budget as planned",
    "report_incomplete": "a report is submitted with every actual amount and each gap over the programme's threshold "
                         "explained, its qualitative account, signatory and the annex its figures call for (409)",
    "signed_in_the_future": "a report's signature date is not after today (depends on the clock)",
    "not_a_financial_report": "unplanned lines belong to a CERFA 15059 report, not a small project's light one",
    "envelope_paid_exceeded": "a payment beyond what is committed and not yet paid, for the envelope or the dossier",
    "not_a_cpo": "yearly amounts, a length in years and objectives belong to the CPO track (the programme's)",
    "cpo_years_mismatch": "each line of a CPO plan gives an amount for each of the same years",
    "cpo_duration": "a CPO lasts 2 to 4 years (its programme's rules)",
    "cpo_not_running": "a CPO is reviewed while running or suspended, evaluated while running (409)",
    "not_a_cpo_year": "a review is held in one of the CPO's years (the programme's year and length)",
    "review_too_early": "a year's review is held in that year (409, depends on today)",
    "review_out_of_order": "each year's review after the one before (409)",
    "review_done": "a year goes on once (409)",
    "reports_missing": "a review needs the reports of the year before (409)",
    "not_a_cpo_funder": "an amendment changes the amounts of the CPO's funders",
    "not_a_later_year": "an amendment changes the years after the review's",
    "year_already_paid": "an amendment leaves a year whose payments were asked for or made (409)",
    "evaluation_too_early": "the final evaluation follows each year's review and the last year's end (409)",
    "not_evaluated": "a CPO is renewed once evaluated (409)",
    "not_a_cpo_programme": "a CPO is renewed on a CPO programme (its track)",
    "follow_on_exists": "a dossier is followed by one dossier (409)",
    "cpo_suspended": "a suspended CPO's payments stop (409)",
    "year_not_open": "a CPO's year is committed from 1 January of that year (409, depends on today)",
    "year_not_committed": "a CPO year's payments wait for the year to be committed on its envelope (409)",
    "not_your_share": "a funder commits its own share of a CPO's year",
    "webhook_target_refused": "a webhook target resolves to a public address, over https (SSRF)",
}
# 2. `validation_failed` on these fields only, per operation: a rule that ties a field to another one, or to rows.
# ("body" is where a model's own validator reports.)
_DATES = "the end date is not before the start date"
_PLAN = ("a funder appears once in the plan, one line at most is left to the desk, a document is attached once, "
         "an aid nature is named once")
_BUDGET = "one account 74 line per funder, one at most left to the desk, one forecast surplus or deficit at most"
_PARTNER = "a seed-fund partner is registered or named by SIRET or RNA"
_SIRET = "a SIRET has a valid check key (stdnum: Luhn on it and on its SIREN, La Poste's digit sum)"
_IDENTIFIED = "an association has a SIRET, an RNA, a register entry or a prefecture receipt"
_LOCAL_LAW = ("a register entry only in départements 57, 67, 68, a prefecture receipt only elsewhere "
              "(depends on `department`)")
_YEARLY = "a CPO line's yearly amounts add up to its amount"
_GRANT_LINE = ("only an account 74 line names a desk funder, an outside funder's type or the share left to the desk, "
               "and it says exactly one of the three")
RULES_BEYOND_SCHEMA: dict[str, dict[str, str]] = {
    "signup_association": {
        "body.organisation.siret": f"{_SIRET}; {_IDENTIFIED}",
        "body.organisation.department": _LOCAL_LAW,
        "body.organisation.prefecture_receipt": _LOCAL_LAW,
    },
    "create_organisation": {
        "body.qpv_codes": "a citizen council speaks for at least one QPV (depends on `kind`)",
        "body.funder_category": "only a funder has a funder category (depends on `kind`)",
        "body.siret": f"{_SIRET}; a funder has one (depends on `kind`); {_IDENTIFIED}",
        "body.department": _LOCAL_LAW,
        "body.prefecture_receipt": f"{_LOCAL_LAW}; an association's only (depends on `kind`)",
        "body.local_register": "an association's only (depends on `kind`)",
    },
    "create_invitation": {"body.roles": "the roles an organisation gives depend on its kind, read from the database"},
    "update_member": {"body.roles": "the roles an organisation gives depend on its kind, read from the database"},
    "create_project": {"body": _DATES},
    "update_project": {"body": _DATES, "body.end_date": f"{_DATES}, the one stored included"},
    "create_programme": {
        "body": "the closing date is not before the opening one, a funder appears once, the quorum names funders "
                "of the programme, a small-projects programme (and only one) names its lead funder among them, "
                "only a CPO has a default length in years"
    },
    "create_session": {"body": "a programme appears once", "body.held_on": "a session is not held in the past"},
    "update_session": {"body.held_on": "a session is not held in the past (depends on today)"},
    "invite_funders": {"body": "a funder appears once"},
    "set_agenda": {"body": "a dossier appears once on the agenda"},
    "open_session": {"body": "a funder appears once"},
    "record_decision": {"body": "no grant has a reason"},
    "decide_small_project": {"body": "no grant has a reason"},
    "give_verdict": {"body": "graduating, and only graduating, names the new dossier's programme"},
    "register_webhook": {"body": "an event type appears once"},
    "update_webhook": {"body": "an event type appears once"},
    "record_cpo_review": {
        "body": "an amendment, and only one, carries its changes; all but `continue` give a reason",
        "body.amendment": "an amendment changes amounts or objectives, each funder and year once",
    },
    "decide_admissibility": {"body": "an inadmissibility has a reason"},
    "request_supplements": {"body.due_on": "the due date is after today"},
    "allocate_share": {"body": "each share names a funder, once"},
    "record_opinion": {"body.proposed_amount_cents": "a funder proposes an amount, a citizen council none (who calls)"},
    "create_dossier": {
        "body": f"{_PLAN}; a co-funding plan or a small project's requested amount, one of them",
        "body.funding_plan[*]": _YEARLY,
        "body.programme_id": "a UUID that names no programme",
        "body.partners[*]": _PARTNER,
        "body.partners[*].siret": _SIRET,
    },
    "create_envelope": {"body.programme_id": "a UUID that names no programme"},
    "update_financial_report": {"body.unplanned_lines[*]": "an unplanned line's account is one of its side's"},
    "update_dossier": {
        "body": f"{_PLAN}; a co-funding plan or a small project's requested amount, not both",
        "body.funding_plan[*]": _YEARLY,
        "body.partners[*]": _PARTNER,
        "body.partners[*].siret": _SIRET,
    },
    "replace_project_budget": {"body": _BUDGET, "body.income[*]": _GRANT_LINE},
    "replace_association_budget": {
        "body": _BUDGET, "body.income[*]": _GRANT_LINE,
        "body.charges[*].account_group": "indirect charges are lines of a project's budget, not the association's",
        "body.income[*].account_group": "own resources given to a project are not a line of the association's budget",
        "path.year": "an association's budget is entered for last year, this year or the next two",
    },
    "create_indicator": {
        "body": "a ratio, and only a ratio, has a denominator other than itself; only a sum is a part of another one"
    },
    "create_document": {"body.year": "approved_accounts and activity_report have a year, other kinds none"},
    "replace_profile": {
        "body.people.paying_members": "paying members are members (depends on `members`)",
        "body.approvals[*].granted_on": "an approval is not granted in the future (depends on today)",
        "body.networks[*].siret": _SIRET,
        "body.public_aid[*].year": "public aid is declared for this year and the three before (depends on today)",
        "body.fiscal_year_start": "a fiscal year starts on a day every year has (MM-DD, not 29 February)",
        "body.public_utility_recognised_on": "a public-utility decree is not dated in the future (depends on today)",
        "body.republican_contract.signed_on": "the republican contract is signed between 2 January 2022 and today",
    },
}

# Where real identifiers go: with this probability, a generated value is replaced by one that names a row
# (the demo territory, and a project, dossier and machine client of the holder's made through the API), so
# that operations on one resource get past their 404 and creations past their references' 422.
KNOWN_VALUE_PROBABILITY = 0.5
KNOWN_VALUE_PARAMETERS: dict[str, str] = {
    "path.organisation_id": "organisations",
    "path.project_id": "projects",
    "path.dossier_id": "dossiers",
    "path.envelope_id": "envelopes",
    "path.programme_id": "programmes",
    "path.client_id": "clients",
    "body.project_id": "projects",
    "body.programme_id": "programmes",
    "body.funder_ids[*]": "funders",
    "body.funding_plan[*].funder_id": "funders",
    "body.public_aid[*].funder_organisation_id": "funders",
    "body.qpv_codes[*]": "qpv_codes",
    "path.report_id": "reports",
    "query.project_id": "projects",
    "body.period": "periods",
    "body.targets[*].period": "periods",
    "body.targets[*].indicator_code": "indicator_codes",
    "body.values[*].indicator_code": "indicator_codes",
    "path.document_id": "documents",
    "path.version_id": "document_versions",
    "body.version_ids[*]": "document_versions",
    "body.organisation_id": "organisations",
    "query.organisation_id": "organisations",
    "body.priorities[*]": "priorities",
    "body.quorum_funder_ids[*]": "funders",
    "body.partners[*].organisation_id": "organisations",
    "body.programme_ids[*]": "programmes",
    "body.present_funder_ids[*]": "funders",
    "body.funder_id": "funders",
    "body.items[*].dossier_id": "dossiers",
    "body.item_id": "items",
    "path.session_id": "sessions",
    "path.item_id": "items",
    "path.notification_id": "notifications",
    "path.agreement_id": "agreements",
    "path.payment_id": "payments",
    "query.agreement_id": "agreements",
    "query.session_id": "sessions",
    "query.dossier_id": "dossiers",
}


def config(
    known: dict[str, list[str]],
    *,
    seed: int,
    probability: float = KNOWN_VALUE_PROBABILITY,
    fixed: dict[str, Any] | None = None,
) -> schemathesis.Config:
    """schemathesis' settings for these services; `known` holds the real values, by dictionary name, and
    `fixed` values that are never generated (`body.<path>` or `<location>.<name>` keys)."""
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "generation": {
                # Unknown query parameters are ignored, as HTTP APIs do: the OpenAPI does not close the query
                # string, so an extra parameter is not invalid data here.
                "allow-extra-parameters": False,
                # The Authorization header is ours (a real token): schemathesis does not generate one. Calls
                # without a token or with a forged one: `ignored_auth` here, and tests/test_forged_tokens.py.
                "with-security-parameters": False,
            },
            "checks": {
                # A change without If-Match is 428 Precondition Required (RFC 6585), not one of the 4xx
                # schemathesis expects by default for a missing required header.
                "missing_required_header": {"expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]},
            },
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            "parameters": {
                **{
                    key: {"dictionary": name, "probability": probability}
                    for key, name in KNOWN_VALUE_PARAMETERS.items()
                },
                **(fixed or {}),
            },
        }
    )


def operation_id(operation: APIOperation) -> str:
    return operation.definition.raw["operationId"]


def operations_by_id(schema: BaseSchema) -> dict[str, APIOperation]:
    operations = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # a document our own apps wrote: every operation reads
        operations[operation_id(result.ok())] = result.ok()
    return operations


@dataclass
class Callers:
    """Bearer tokens from real logins through identity, and which one each operation gets."""

    service: str
    tokens: dict[str, str]

    def headers(self, operation: APIOperation) -> dict[str, str]:
        email = CALLER_BY_OPERATION[self.service].get(operation_id(operation))
        return {"Authorization": f"Bearer {self.tokens[email]}"} if email else {}


@dataclass
class Audit:
    """Every status each operation answered, so that a run in which auth silently failed cannot pass."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    # Answers that only a caller who got past the token check can get, by operation.
    through: Counter[str] = field(default_factory=Counter)
    # The first refusal of each operation, to say why when every call was refused.
    first_refusal: dict[str, str] = field(default_factory=dict)

    def record(self, case: Case, response: Response) -> None:
        if case.method.upper() != case.operation.method.upper():
            # The coverage phase also tries methods the path does not answer: not a call of this operation.
            return
        label = case.operation.label
        self.statuses[label][response.status_code] += 1
        if response.status_code in REFUSED and (_problem(response) or {}).get("code") not in OBJECT_LEVEL_REFUSALS:
            self.first_refusal.setdefault(label, response.text[:500])
        elif not _answered_before_auth(response):
            self.through[label] += 1

    def authorised(self, operation: APIOperation) -> bool:
        """At least one answer that is neither 401 nor 403, nor one given before the token is looked at."""
        return self.authorised_label(operation.label)

    def authorised_label(self, label: str) -> bool:
        return self.through[label] > 0


def _answered_before_auth(response: Response) -> bool:
    """A body too large or nested too deep (middleware), unreadable (`bad_request`: FastAPI could not parse it) or
    of a media type not taken is refused before any dependency runs, the token check included."""
    code = (_problem(response) or {}).get("code")
    return response.status_code in (413, 415) or code in (
        "bad_request", "malformed_json", "malformed_form", "json_too_deep")


@dataclass
class Fuzzer:
    """Runs the phases on one operation, calling it with its caller's token and collecting check failures."""

    schema: BaseSchema
    headers_for: Callable[[APIOperation], dict[str, str]]
    audit: Audit
    max_examples: int
    # Which data the coverage and fuzzing phases generate: valid data, and data the schema refuses.
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    failures: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def call(self, case: Case) -> Response:
        """Send the case with its caller's token and run every check; a failure raises."""
        _fresh_idempotency_key(case)
        _no_null_in_form(case)
        headers = self.headers_for(case.operation)
        response = case.call(headers=headers)
        self.calls += 1
        self.audit.record(case, response)
        excluded = []
        if _refused_beyond_schema(case, response):
            excluded.append(positive_data_acceptance)
        case.validate_response(
            response, headers=headers, excluded_checks=excluded, transport_kwargs={"headers": headers}
        )
        return response

    def call_collecting(self, case: Case) -> Response | None:
        """The same, with a failure collected instead of raised."""
        try:
            return self.call(case)
        except Exception as error:
            self._collect(error)
            return None

    def _collect(self, error: BaseException) -> None:
        for failure in _leaves(error):
            self.failures.setdefault(_title(failure), _report(failure))

    def run(self, operation: APIOperation) -> None:
        self.examples(operation)
        self.coverage(operation)
        for mode in self.modes:
            self.fuzz(operation, mode)

    def examples(self, operation: APIOperation) -> None:
        strategies = operation.get_strategies_from_examples()
        if strategies:
            self._hypothesis(st.one_of(strategies), max_examples=len(strategies) * 2)

    def coverage(self, operation: APIOperation) -> None:
        cases = self.schema.iter_coverage_cases(
            operation,
            generation_modes=list(self.modes),
            generation_config=self.schema.config.generation_for(operation=operation, phase="coverage"),
        )
        for case in cases:
            if _incomplete_custom_multipart(case):
                continue
            try:
                self.call(case)
            except Exception as error:  # check failures, and anything the app let escape
                self._collect(error)

    def fuzz(self, operation: APIOperation, mode: GenerationMode) -> None:
        try:
            self._hypothesis(operation.as_strategy(generation_mode=mode), max_examples=self.max_examples)
        except Unsatisfiable:
            # Nothing to break in an operation without parameters or body: there is no negative case.
            if mode is GenerationMode.POSITIVE:
                raise

    def _hypothesis(self, strategy: Any, *, max_examples: int) -> None:
        @hypothesis.settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            # Fuzzing an API is slow and filters a lot by design; shrinking a failure is worth its time.
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            report_multiple_bugs=True,
        )
        @given(case=strategy)
        def run(case: Case) -> None:
            self.call(case)

        try:
            run()
        except Unsatisfiable:
            raise
        except Exception as error:  # the shrunk failures, one group per distinct bug
            self._collect(error)


@dataclass
class LinkWalk:
    """Explicit chains along the OpenAPI links, each call checked by the `Fuzzer`: an operation is called with
    generated data (real identifiers always, see `config`), then one link of its answer is followed with the
    values the link names (id, ETag) and the rest generated, and so on, `depth` links deep. What each link
    reached is recorded: a link that never leads to a 2xx is a broken link or a broken chain."""

    fuzzer: Fuzzer
    operations: dict[str, APIOperation]
    depth: int = 3
    reached: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def successes(self, link: str) -> int:
        return sum(count for status, count in self.reached.get(link, {}).items() if 200 <= status < 300)

    def links(self) -> dict[str, tuple[APIOperation, int, dict[str, Any]]]:
        """Every link of the schema, by `<source operationId>.<link name>`."""
        found = {}
        for name, operation in self.operations.items():
            for status, response in operation.definition.raw["responses"].items():
                for link_name, link in response.get("links", {}).items():
                    found[f"{name}.{link_name}"] = (operation, int(status), link)
        return found

    def run(self, root: APIOperation, *, examples: int, seed: int) -> None:
        settings = hypothesis.settings(
            max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
            # Only generation: a replayed chain meets the rows its first run created, see `run_state_machine`.
            phases=[Phase.generate],
        )

        @hypothesis.seed(seed)
        @settings
        @given(data=st.data())
        def chain(data: st.DataObject) -> None:
            case = data.draw(root.as_strategy())
            self._follow(data, case, self.fuzzer.call_collecting(case), self.depth)

        try:
            chain()
        except Flaky:
            pass  # as in `run_state_machine`: the chains that ran stand

    def _follow(self, data: st.DataObject, case: Case, response: Response | None, depth: int) -> None:
        if response is None or depth == 0:
            return
        links = case.operation.definition.raw["responses"].get(str(response.status_code), {}).get("links", {})
        if not links:
            return
        # One link per answer: a chain, not a tree (a change made down one branch would leave the ETag another
        # branch carries stale, and its 412 would be right). The link that has led to a 2xx least often first.
        source = operation_id(case.operation)
        link_name = min(sorted(links), key=lambda name: self.successes(f"{source}.{name}"))
        link = links[link_name]
        values = {}
        for key, expression in link["parameters"].items():
            location, _, name = key.rpartition(".")
            values[(location or "path", name)] = _evaluate(expression, case, response)
        if any(value is None for value in values.values()):
            return
        strategy = self.operations[link["operationId"]].as_strategy(
            path_parameters={name: value for (where, name), value in values.items() if where == "path"},
            headers={name: value for (where, name), value in values.items() if where == "header"},
        )
        # Generated data breaks a rule beyond the schema now and then (a funder twice in a plan): like a
        # client, try again with other data before the chain ends.
        for _attempt in range(3):
            follow_up = data.draw(strategy)
            answer = self.fuzzer.call_collecting(follow_up)
            if answer is not None:
                self.reached[f"{source}.{link_name}"][answer.status_code] += 1
            if answer is None or answer.status_code != 422:
                break
        self._follow(data, follow_up, answer, depth - 1)


def _evaluate(expression: str, case: Case, response: Response) -> Any:
    """The value an OpenAPI runtime expression names, or None."""
    if expression.startswith("$response.body#/"):
        value: Any = response.json()
        for part in expression.removeprefix("$response.body#/").split("/"):
            value = value[int(part)] if isinstance(value, list) else (value or {}).get(part)
        return value
    if expression.startswith("$response.header."):
        found: list[str] | None = response.headers.get(expression.removeprefix("$response.header.").lower())
        return found[0] if found else None
    if expression.startswith("$request.path."):
        return case.path_parameters.get(expression.removeprefix("$request.path."))
    raise ValueError(f"runtime expression not handled here: {expression}")


def run_state_machine(
    schema: BaseSchema, callers: Callers, audit: Audit, *, scenarios: int, step_count: int, seed: int
) -> dict[str, str]:
    """schemathesis' stateful testing: scenarios that follow the OpenAPI links (create a resource, then read,
    change or submit it with the id and ETag the previous answer gave), each call checked as in `Fuzzer`,
    with the stateful checks on top (use after free, resource availability, object-level authorisation).

    Check failures are collected, not raised, as schemathesis' own engine does: a scenario replayed by
    Hypothesis meets the rows its first run created (409 where there was a 201), so replays and shrinking
    cannot reproduce it. Returns the failures found.
    """
    failures: dict[str, str] = {}
    ran = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            _fresh_idempotency_key(case)
            _no_null_in_form(case)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": callers.headers(case.operation)}

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            audit.record(case, response)

        def validate_response(
            self, response: Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            excluded = [positive_data_acceptance] if _refused_beyond_schema(case, response) else []
            if _gone_with_its_last_version(self.recorder, case, response):
                excluded.append(ensure_resource_availability)
            try:
                case.validate_response(
                    response, additional_checks=additional_checks, excluded_checks=excluded,
                    headers=kwargs.get("headers"), transport_kwargs=kwargs or None, recorder=self.recorder,
                )
            except FailureGroup as error:
                failures.setdefault(_title(error), _report(error))

        def teardown(self) -> None:
            nonlocal ran
            ran += 1
            super().teardown()

    suite = 0
    while ran < scenarios and suite < 10:
        settings = hypothesis.settings(
            max_examples=scenarios - ran,
            stateful_step_count=step_count,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        try:
            hypothesis.seed(seed + suite)(Workflow).run(settings=settings)
        except Flaky:
            # Hypothesis replayed a prefix and the server answered otherwise (the rows exist now): the
            # scenarios that ran stand, a new suite with another seed runs the rest.
            pass
        except Exception as error:  # anything the apps let escape
            failures.setdefault(_title(error), _report(error))
        suite += 1
    return failures


def _gone_with_its_last_version(recorder: Any, case: Case, response: Response) -> bool:
    """A document goes with its last version (DELETE …/documents/{id}/versions/{version}): schemathesis counts a
    DELETE against the paths below it only, so a 404 on the document after one would pass for a resource created
    and not found."""
    if response.status_code != 404 or case.operation.path != "/api/v1/documents/{document_id}":
        return False
    document = (case.path_parameters or {}).get("document_id")
    for prior in recorder.find_all_cases():
        if prior.operation.method.upper() != "DELETE" or (prior.path_parameters or {}).get("document_id") != document:
            continue
        answered = recorder.find_response(case_id=prior.id)
        if answered is not None and answered.status_code == 204:
            return True
    return False


def _fresh_idempotency_key(case: Case) -> None:
    """A well-formed Idempotency-Key becomes a new one for every call.

    The key is a nonce by contract: the same key with another body is 422 `idempotency_key_reused`. Left as
    generated, keys come from a small space and get reused with other bodies, and schema-valid requests are
    refused for a reason the schema cannot show. Malformed keys (empty, too long) are left for negative tests.
    """
    headers: MutableMapping[str, Any] = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and 1 <= len(headers[name]) <= 255:
            headers[name] = f"fuzz-{uuid.uuid4()}"


def _incomplete_custom_multipart(case: Case) -> bool:
    """schemathesis' coverage phase builds its multipart template from the registered media type strategies (see
    DOCUMENT_SAMPLES) with every other required field left empty (""), which an enum refuses, then varies the other
    parameters over that body as positive cases: they are not valid cases. The other phases send whole forms."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return False
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return False
    body = next((b for b in case.operation.body if b.media_type == case.media_type), None)
    properties = body.form_properties if body is not None else {}
    return any(
        value == "" and "" not in (properties.get(name) or {}).get("enum", [""]) for name, value in case.body.items()
    )


def _no_null_in_form(case: Case) -> None:
    """A form cannot carry a null: a nullable field is left out, as a browser or an OAuth2 client does.

    schemathesis would send the string "null", which is not what the schema's null means.
    """
    if case.media_type == "application/x-www-form-urlencoded" and isinstance(case.body, dict):
        case.body = {name: value for name, value in case.body.items() if value is not None}


def _refused_beyond_schema(case: Case, response: Response) -> bool:
    problem = _problem(response)
    if problem is None:
        return False
    if problem.get("code") in STATE_DEPENDENT_REJECTIONS:
        return True
    if response.status_code != 422 or problem.get("code") != "validation_failed":
        return False
    # List items are named by index ("body.public_aid.2.year"); the table names them "body.public_aid[*].year".
    fields = {_any_index(error.get("field")) for error in problem.get("errors") or [{}]}
    # 3. Text holding a NUL character (U+0000) is refused, PostgreSQL's text cannot hold it: only a pattern on
    # every string of the OpenAPI could say so. Refused on the strings of the case that hold one, and no other.
    nul_texts = {_any_index(path) for path in _nul_texts(case.body)}
    # 4. Money is integer cents written as an integer: JSON Schema's `integer` takes 1500.0, which the API refuses
    # (a float amount was computed in floats). Refused on the amounts of the case written so, and no other.
    float_cents = {_any_index(path) for path in _float_cents(case.body)}
    allowed = set(RULES_BEYOND_SCHEMA.get(operation_id(case.operation), {})) | nul_texts | float_cents
    # A list of strings is refused as a whole ("body.objectives" for a NUL in one of its items).
    return all(field in allowed or f"{field}[*]" in nul_texts or _names_a_nul_text(field, nul_texts)
               for field in fields)


def _names_a_nul_text(field: str | None, nul_texts: set[str | None]) -> bool:
    """pydantic names a field of a tagged union with the tag in between ("body.client_credentials.client_id" for
    the body's "client_id"): the same field, once the tag is left out."""
    if field is None:
        return False
    return any(path is not None and field.endswith(path.removeprefix("body")) and field.startswith("body.")
               for path in nul_texts if path != "body")


def _any_index(field: str | None) -> str | None:
    return None if field is None else re.sub(r"\.[0-9]+(?=\.|$)", "[*]", field)


def _nul_texts(value: Any, path: str = "body") -> Iterable[str]:
    if isinstance(value, str) and "\x00" in value:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_texts(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_texts(item, f"{path}.{index}")


def _float_cents(value: Any, path: str = "body") -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_cents") and isinstance(item, float):
                yield f"{path}.{key}"
            elif key.endswith("_cents") and isinstance(item, list) and any(isinstance(i, float) for i in item):
                yield from (f"{path}.{key}.{index}" for index, i in enumerate(item) if isinstance(i, float))
            else:
                yield from _float_cents(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _float_cents(item, f"{path}.{index}")


def _problem(response: Response) -> dict[str, Any] | None:
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _leaves(error: BaseException) -> Iterable[BaseException]:
    if isinstance(error, BaseExceptionGroup) and not isinstance(error, FailureGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _title(error: BaseException) -> str:
    if isinstance(error, FailureGroup):
        return "; ".join(sorted({f.title for f in error.exceptions}))
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def _report(error: BaseException) -> str:
    if isinstance(error, FailureGroup):
        return error.message
    notes = "\n".join(getattr(error, "__notes__", []))
    return "".join(traceback.format_exception(error)) + notes
