"""CPO (conventions pluriannuelles d'objectifs) after the committee: the versions and amendments, the yearly
reviews that let each year's balance fall due, the final evaluation, the renewal. The plan a CPO dossier asks for
(years, amounts per funder and year, objectives, indicator targets) and its first version as granted are the
dossier's (dossiers/cpo_plan.py)."""
