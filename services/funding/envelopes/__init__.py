"""Envelopes: what each funder puts into a programme for a year (service.py), the money committed on it and
paid from it by the decisions and the payments (money.py), and its ledger. Money moves with one conditional UPDATE
backed by CHECK constraints (see money.py)."""
