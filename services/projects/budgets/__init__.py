"""Budgets shaped like the CERFA 12156: a project's forecast budget and the association's yearly one (last year's
to two years ahead, each year a Europe/Paris calendar year); lines replaced as a whole under If-Match, totals,
and the issues that still stop a dossier's submission (the funding service asks)."""
