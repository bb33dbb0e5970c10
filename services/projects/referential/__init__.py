"""The reference lists every other room checks its codes against: the QPV (with their commune, EPCI and
department) and the contrat de ville's priorities; read-only over HTTP, the QPV list refreshed by its import
(`qpv_import`, run by `scripts/import_qpv.py`)."""
