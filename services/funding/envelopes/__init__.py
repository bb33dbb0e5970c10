"""Envelopes: what each funder puts into a programme for a year, the money committed on it and
paid from it, and its ledger. Money moves with one conditional UPDATE backed by CHECK constraints (see service.py)."""
