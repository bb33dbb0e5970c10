"""The dashboards' figures, each computed by the database: a funder's year (funder.py), a territory's year
(territory.py), an association's home (association_home.py). They only read; the gateway's /dashboards/* add the
other services' parts."""
