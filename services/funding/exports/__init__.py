"""Exports: the SCDL "subventions" 2.1.1 open-data CSV of a funder's grants (scdl.py), and a funder's bulk
exports of its dossiers, decisions and payments as CSV or JSON Lines (bulk.py), streamed by batches in keyset order."""
