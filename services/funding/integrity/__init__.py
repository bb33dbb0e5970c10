"""The money's integrity check: for one funder and year, everything that must agree is recomputed from the facts,
and each difference is named (routes.py; service.py holds the rules)."""
