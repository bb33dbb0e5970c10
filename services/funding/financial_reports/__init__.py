"""Financial reports (compte rendu financier, CERFA 15059): each grant owes its funder one some months after
the end of its year, the budget as planned against what was spent and received; the association fills it in and
submits it, the funder accepts it; a late one is flagged."""
