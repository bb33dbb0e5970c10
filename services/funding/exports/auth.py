"""Who may take the exports: the SCDL open data is public (no token); a bulk export is read by a funder's people
(their own funder's) and by the desk (one funder's or every one's)."""

from services.funding.funder_scope import FunderOrDesk

# The funders' and the desk's guard that every funder-facing read shares (services/funding/funder_scope.py).
BulkExporter = FunderOrDesk
