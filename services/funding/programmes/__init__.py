"""Programmes: the calls, rolling funds and CPO campaigns the desk opens, each with its track, year, funders and
dates, and each track's rules as data (ceilings, durations, shares, delays) that a programme may override."""
