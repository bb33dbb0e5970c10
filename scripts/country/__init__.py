"""A realistic country for the scale benchmarks, written straight into the three services' PostgreSQL schemas:
`python -m scripts.seed_country` (see scripts/seed_country.py).

territories   the contrats de ville: EPCI, communes, QPVs, funders, associations and their yearly budgets
calendar      programmes and committee sessions per territory and year
dossiers      each dossier's life (plan, dates, state, trail, snapshots) and its project
committee     agenda items, decisions, scores and minutes of the sessions
money         grants, agreements, payments, financial reports, CPO and seed-fund follow-up, envelopes and ledger
bulk          binary COPY and the indexes set aside around it
"""

# Rows the seed adds carry this mark where the table has a column for it (created_by, updated_by), and seeded
# organisations an e-mail address under this domain: that is how a later run finds them (see previous.py).
MARKER = "seed-country"
MARKER_DOMAIN = "pays.example"
