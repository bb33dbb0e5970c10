"""Who may call what: the one written table of role × route. `tests/test_access_matrix.py` walks it
against every route of every app and fails when a route is missing here or answers otherwise.

PUBLIC: no token needed. A set of roles: a token carrying one of them passes the role check (the object
may still be out of sight: 404). Machine clients act with their organisation's member role and need the
route's scope too; service tokens reach only the routes marked `services=True` in code.
"""

HOLDERS = {"holder_admin", "holder_member"}
FUNDERS = {"funder_instructor", "funder_manager", "committee_member"}
DESK = {"desk_coordinator"}
ADMINS = {"holder_admin", "funder_manager", "desk_coordinator", "platform_admin"}
EVERYONE = HOLDERS | FUNDERS | DESK | {"citizen_reviewer", "platform_admin"}
PUBLIC = "public"
# An organisation's admin manages its webhook endpoints (the platform's admin has no events of its own).
WEBHOOK_ADMINS = {"holder_admin", "funder_manager", "desk_coordinator", "citizen_reviewer"}

ACCESS: dict[str, dict[tuple[str, str], str | set[str]]] = {
    "identity": {
        ("POST", "/api/v1/auth/token"): PUBLIC,
        ("POST", "/api/v1/auth/refresh"): PUBLIC,
        ("POST", "/api/v1/auth/logout"): PUBLIC,
        ("POST", "/api/v1/auth/password-reset"): PUBLIC,
        ("POST", "/api/v1/auth/password-reset/confirm"): PUBLIC,
        ("POST", "/api/v1/organisations/signup"): PUBLIC,
        ("POST", "/api/v1/organisations/signup/verify"): PUBLIC,
        # The token mailed to the invitee is the key; an address with an account signs in as well.
        ("POST", "/api/v1/invitations/accept"): PUBLIC,
        ("POST", "/api/v1/organisations"): {"platform_admin"},
        ("GET", "/api/v1/organisations"): EVERYONE,
        ("GET", "/api/v1/organisations/{organisation_id}"): EVERYONE,
        ("PATCH", "/api/v1/organisations/{organisation_id}"): ADMINS,
        ("POST", "/api/v1/organisations/{organisation_id}/suspend"): {"platform_admin"},
        ("POST", "/api/v1/organisations/{organisation_id}/reactivate"): {"platform_admin"},
        ("GET", "/api/v1/organisations/{organisation_id}/audit-events"): ADMINS,
        ("GET", "/api/v1/audit-events"): {"platform_admin"},
        ("GET", "/api/v1/organisations/{organisation_id}/members"): ADMINS,
        ("GET", "/api/v1/organisations/{organisation_id}/members/{person_id}"): ADMINS,
        ("PATCH", "/api/v1/organisations/{organisation_id}/members/{person_id}"): ADMINS,
        # Anyone leaves their own organisation; only its admins remove someone else (others: 403, or 404 outside).
        ("DELETE", "/api/v1/organisations/{organisation_id}/members/{person_id}"): EVERYONE,
        ("POST", "/api/v1/organisations/{organisation_id}/invitations"): ADMINS,
        ("GET", "/api/v1/organisations/{organisation_id}/invitations"): ADMINS,
        ("GET", "/api/v1/organisations/{organisation_id}/invitations/{invitation_id}"): ADMINS,
        ("POST", "/api/v1/organisations/{organisation_id}/invitations/{invitation_id}/revoke"): ADMINS,
        ("POST", "/api/v1/organisations/{organisation_id}/invitations/{invitation_id}/resend"): ADMINS,
        # Read by the association's members, the desk and the platform admin; anyone else gets the 404.
        ("GET", "/api/v1/organisations/{organisation_id}/profile"): EVERYONE,
        ("PUT", "/api/v1/organisations/{organisation_id}/profile"): {"holder_admin", "platform_admin"},
        ("GET", "/api/v1/me"): EVERYONE,
        ("POST", "/api/v1/me/password"): EVERYONE,
        ("POST", "/api/v1/clients"): ADMINS,
        ("GET", "/api/v1/clients"): ADMINS,
        ("DELETE", "/api/v1/clients/{client_id}"): ADMINS,
        ("GET", "/.well-known/jwks.json"): PUBLIC,
    },
    "projects": {
        ("POST", "/api/v1/projects"): HOLDERS,
        ("GET", "/api/v1/projects"): HOLDERS | DESK,  # the desk: any association's, or the one it names
        ("GET", "/api/v1/projects/{project_id}"): HOLDERS,
        ("PATCH", "/api/v1/projects/{project_id}"): HOLDERS,
        # CERFA budgets: the project's is the association's alone (and the desk's services read it); the yearly
        # budget of an association is read by the desk too.
        ("GET", "/api/v1/projects/{project_id}/budget"): HOLDERS,
        ("PUT", "/api/v1/projects/{project_id}/budget"): HOLDERS,
        ("GET", "/api/v1/association-budgets/{organisation_id}/{year}"): HOLDERS | DESK,
        ("PUT", "/api/v1/association-budgets/{organisation_id}/{year}"): HOLDERS,
        # The documents vault: the association writes; its members, the desk and the desk's services read.
        ("POST", "/api/v1/documents"): HOLDERS,
        ("GET", "/api/v1/documents"): HOLDERS | DESK,
        ("GET", "/api/v1/documents/{document_id}"): HOLDERS | DESK,
        ("POST", "/api/v1/documents/{document_id}/versions"): HOLDERS,
        ("GET", "/api/v1/documents/{document_id}/versions/{version_id}/content"): HOLDERS | DESK,
        ("DELETE", "/api/v1/documents/{document_id}/versions/{version_id}"): HOLDERS,
        ("GET", "/api/v1/documents/compliance"): DESK,  # and services (projects:read)
        ("POST", "/api/v1/documents/pins"): set(),  # service tokens only (documents:pin)
        ("POST", "/api/v1/documents/pins/confirm"): set(),  # service tokens only (documents:pin)
        ("POST", "/api/v1/documents/pins/release"): set(),  # service tokens only (documents:pin)
        ("GET", "/api/v1/referential/qpv"): EVERYONE,
        ("GET", "/api/v1/referential/priorities"): EVERYONE,
        ("POST", "/api/v1/indicators"): DESK,
        ("GET", "/api/v1/indicators"): EVERYONE,
        ("GET", "/api/v1/indicators/{indicator_id}"): EVERYONE,
        ("PATCH", "/api/v1/indicators/{indicator_id}"): DESK,
        # A project's indicators and reports: the association writes, the desk reads and reviews (and the desk's
        # services read, projects:read); the shared aggregates are every organisation's (small cells suppressed for
        # associations and councils), the impact of projects named one by one the desk's and the funders'.
        ("GET", "/api/v1/projects/{project_id}/indicators"): HOLDERS | DESK,
        ("PUT", "/api/v1/projects/{project_id}/indicators"): HOLDERS,
        ("GET", "/api/v1/indicators/aggregates"): EVERYONE,
        ("POST", "/api/v1/indicators/aggregates/search"): FUNDERS | DESK,
        ("POST", "/api/v1/reports"): HOLDERS,
        ("GET", "/api/v1/reports"): HOLDERS | DESK,
        ("GET", "/api/v1/reports/{report_id}"): HOLDERS | DESK,
        ("PATCH", "/api/v1/reports/{report_id}"): HOLDERS,
        ("POST", "/api/v1/reports/{report_id}/submit"): HOLDERS,
        ("POST", "/api/v1/reports/{report_id}/accept"): DESK,
        ("POST", "/api/v1/reports/{report_id}/request-changes"): DESK,
    },
    "funding": {
        ("POST", "/api/v1/programmes"): DESK,
        ("GET", "/api/v1/programmes"): EVERYONE,
        ("GET", "/api/v1/programmes/{programme_id}"): EVERYONE,
        ("PATCH", "/api/v1/programmes/{programme_id}"): DESK,
        ("POST", "/api/v1/dossiers"): HOLDERS,
        # A citizen council lists the examined dossiers of its QPVs and those it gave its opinion on.
        ("GET", "/api/v1/dossiers"): HOLDERS | FUNDERS | DESK | {"citizen_reviewer"},
        # A citizen council reads the examined dossiers of its QPVs and those it gave its opinion on (404 for others).
        ("GET", "/api/v1/dossiers/{dossier_id}"): HOLDERS | FUNDERS | DESK | {"citizen_reviewer"},
        ("PATCH", "/api/v1/dossiers/{dossier_id}"): HOLDERS | DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/submit"): HOLDERS,
        ("GET", "/api/v1/dossiers/{dossier_id}/required-documents"): HOLDERS | FUNDERS | DESK,
        # Envelopes: a funder's managers open and change their organisation's; its people and the desk read them.
        ("POST", "/api/v1/envelopes"): {"funder_manager"},
        ("GET", "/api/v1/envelopes"): FUNDERS | DESK,
        ("GET", "/api/v1/envelopes/{envelope_id}"): FUNDERS | DESK,
        ("PATCH", "/api/v1/envelopes/{envelope_id}"): {"funder_manager"},
        ("GET", "/api/v1/envelopes/{envelope_id}/ledger"): FUNDERS | DESK,
        # Admissibility: the desk checks and decides, the holder reads the rules and may withdraw.
        ("GET", "/api/v1/dossiers/{dossier_id}/admissibility"): HOLDERS | DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/admissibility"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/request-supplements"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/allocate"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/withdraw"): HOLDERS,
        ("GET", "/api/v1/dossiers/{dossier_id}/history"): HOLDERS | FUNDERS | DESK,
        # Opinions: a routed funder's instructors or managers and the QPV's citizen council give theirs; the desk
        # and routed funders read all, a council its own; holders never.
        ("PUT", "/api/v1/dossiers/{dossier_id}/opinions/mine"): {
            "funder_instructor", "funder_manager", "citizen_reviewer",
        },
        ("GET", "/api/v1/dossiers/{dossier_id}/opinions"): FUNDERS | DESK | {"citizen_reviewer"},
        # Routing: the desk sends, a funder's instructors or managers decline what was sent to them.
        ("POST", "/api/v1/dossiers/{dossier_id}/route"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/decline-routing"): {"funder_instructor", "funder_manager"},
        ("GET", "/api/v1/dossiers/{dossier_id}/routings"): HOLDERS | FUNDERS | DESK,
        # Notifications: the committee's answer to the association, read by its people and the desk; the desk sends
        # a failed one again.
        # Administrative support: the holder asks and ends it, one of the desk's people takes it (and may then
        # edit the draft: PATCH /dossiers/{id} above).
        ("POST", "/api/v1/dossiers/{dossier_id}/support"): HOLDERS,
        ("POST", "/api/v1/dossiers/{dossier_id}/support/take"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/support/end"): HOLDERS,
        # A seed fund's mid-term learning review: the collective writes it, the desk accepts it.
        ("GET", "/api/v1/dossiers/{dossier_id}/learning-review"): HOLDERS | FUNDERS | DESK,
        ("PUT", "/api/v1/dossiers/{dossier_id}/learning-review"): HOLDERS,
        ("POST", "/api/v1/dossiers/{dossier_id}/learning-review/submit"): HOLDERS,
        ("POST", "/api/v1/dossiers/{dossier_id}/learning-review/accept"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/learning-review/request-changes"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/verdict"): DESK,
        ("GET", "/api/v1/dossiers/{dossier_id}/cpo"): HOLDERS | FUNDERS | DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/cpo/reviews"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/cpo/years/{year}/commit"): DESK | {"funder_manager"},
        ("POST", "/api/v1/dossiers/{dossier_id}/cpo/final-evaluation"): DESK,
        ("POST", "/api/v1/dossiers/{dossier_id}/cpo/renewal"): DESK | {"holder_admin"},
        # A small project: its lead funder's manager decides alone.
        ("POST", "/api/v1/dossiers/{dossier_id}/decide"): {"funder_manager"},
        # Committee sessions: the desk plans, opens, defers, raises and closes; the invited funders' people read
        # (others get the 404); their committee members and managers declare conflicts and decide.
        ("POST", "/api/v1/sessions"): DESK,
        ("GET", "/api/v1/sessions"): FUNDERS | DESK,
        ("GET", "/api/v1/sessions/{session_id}"): FUNDERS | DESK,
        ("PATCH", "/api/v1/sessions/{session_id}"): DESK,
        ("DELETE", "/api/v1/sessions/{session_id}"): DESK,
        ("PUT", "/api/v1/sessions/{session_id}/funders"): DESK,
        ("PUT", "/api/v1/sessions/{session_id}/agenda"): DESK,
        ("POST", "/api/v1/sessions/{session_id}/conflicts"): {"committee_member", "funder_manager"},
        ("GET", "/api/v1/sessions/{session_id}/conflicts"): FUNDERS | DESK,
        ("POST", "/api/v1/sessions/{session_id}/open"): DESK,
        ("PUT", "/api/v1/sessions/{session_id}/items/{item_id}/decisions/mine"): {"committee_member", "funder_manager"},
        ("PUT", "/api/v1/sessions/{session_id}/items/{item_id}/scores/mine"): {"committee_member", "funder_manager"},
        ("GET", "/api/v1/sessions/{session_id}/items/{item_id}/scores"): DESK,
        ("POST", "/api/v1/sessions/{session_id}/items/{item_id}/defer"): DESK,
        ("POST", "/api/v1/sessions/{session_id}/items/{item_id}/raise-plan"): DESK,
        ("POST", "/api/v1/sessions/{session_id}/close"): DESK,
        ("GET", "/api/v1/sessions/{session_id}/minutes"): FUNDERS | DESK,
        # The funders' decisions as a list: a funder's people read their own, the desk all, a citizen council the
        # final ones of the dossiers it gave its opinion on; the association gets its answer with the committee's
        # notification, never this list.
        ("GET", "/api/v1/decisions"): FUNDERS | DESK | {"citizen_reviewer"},
        # Agreements and payments: the parties and the desk read; the funder's manager sends, signs, activates,
        # ends, pays and cancels; the association's admin signs its side, its members ask for a payment due.
        ("GET", "/api/v1/agreements"): HOLDERS | FUNDERS | DESK,
        ("GET", "/api/v1/agreements/{agreement_id}"): HOLDERS | FUNDERS | DESK,
        ("GET", "/api/v1/agreements/{agreement_id}/document"): HOLDERS | FUNDERS | DESK,
        ("POST", "/api/v1/agreements/{agreement_id}/send"): {"funder_manager"},
        ("POST", "/api/v1/agreements/{agreement_id}/sign"): {"funder_manager", "holder_admin"},
        ("POST", "/api/v1/agreements/{agreement_id}/activate"): {"funder_manager"},
        ("POST", "/api/v1/agreements/{agreement_id}/end"): {"funder_manager"},
        ("GET", "/api/v1/grants"): HOLDERS | FUNDERS | DESK,
        ("GET", "/api/v1/grants/totals"): HOLDERS | DESK,
        ("GET", "/api/v1/payments"): HOLDERS | FUNDERS | DESK,
        ("GET", "/api/v1/events"): HOLDERS | FUNDERS | DESK | {"citizen_reviewer"},
        ("GET", "/api/v1/exports/scdl"): PUBLIC,
        ("GET", "/api/v1/exports/scdl/excluded"): PUBLIC,
        ("GET", "/api/v1/exports/{kind}"): FUNDERS | DESK,
        # The money's integrity check: the desk's.
        ("GET", "/api/v1/integrity"): DESK,
        ("GET", "/api/v1/stats/funder"): FUNDERS | DESK,
        ("GET", "/api/v1/stats/funder/projects"): FUNDERS | DESK,
        # A territory's figures: every funder's money on it (the open data says as much), for every organisation
        # (what rests on too few projects suppressed for associations and councils).
        ("GET", "/api/v1/stats/territory"): EVERYONE,
        # An association's home: its own people; the desk names the association it helps.
        ("GET", "/api/v1/stats/association"): HOLDERS | DESK,
        ("POST", "/api/v1/webhooks"): WEBHOOK_ADMINS,
        ("GET", "/api/v1/webhooks"): WEBHOOK_ADMINS,
        ("GET", "/api/v1/webhooks/{endpoint_id}"): WEBHOOK_ADMINS,
        ("PATCH", "/api/v1/webhooks/{endpoint_id}"): WEBHOOK_ADMINS,
        ("DELETE", "/api/v1/webhooks/{endpoint_id}"): WEBHOOK_ADMINS,
        ("POST", "/api/v1/webhooks/{endpoint_id}/rotate-secret"): WEBHOOK_ADMINS,
        ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries"): WEBHOOK_ADMINS,
        ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}"): WEBHOOK_ADMINS,
        ("POST", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"): WEBHOOK_ADMINS,
        ("GET", "/api/v1/payments/{payment_id}"): HOLDERS | FUNDERS | DESK,
        ("POST", "/api/v1/payments/{payment_id}/request"): HOLDERS,
        ("POST", "/api/v1/payments/{payment_id}/pay"): {"funder_manager"},
        ("POST", "/api/v1/payments/{payment_id}/cancel"): {"funder_manager"},
        # Financial reports: the association fills in and submits; the funder's instructors and managers review.
        ("GET", "/api/v1/financial-reports"): HOLDERS | FUNDERS | DESK,
        ("GET", "/api/v1/financial-reports/{report_id}"): HOLDERS | FUNDERS | DESK,
        ("PUT", "/api/v1/financial-reports/{report_id}"): HOLDERS,
        ("POST", "/api/v1/financial-reports/{report_id}/submit"): HOLDERS,
        ("POST", "/api/v1/financial-reports/{report_id}/accept"): {"funder_instructor", "funder_manager"},
        ("POST", "/api/v1/financial-reports/{report_id}/request-changes"): {"funder_instructor", "funder_manager"},
        ("GET", "/api/v1/notifications"): HOLDERS | DESK,
        ("GET", "/api/v1/notifications/{notification_id}"): HOLDERS | DESK,
        ("POST", "/api/v1/notifications/{notification_id}/deliver"): DESK,
    },
}
# Every service also serves /healthz, /readyz and /metrics to anyone (operations, not data).
OPERATIONS = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
