"""CPO (conventions pluriannuelles d'objectifs): the plan before the committee, years, amounts asked of each
funder each year, objectives and indicator targets (plan.py); and the CPO's life after it (service.py): its
versions and amendments, the yearly reviews that let each year's balance fall due, the final evaluation, the renewal."""
