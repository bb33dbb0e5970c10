"""Instruction: what happens to a submitted dossier before the committee. The desk checks its admissibility (asks
for supplements, allocates, declares it admissible or not), routes it to the funders of its plan, who may decline;
each routed funder gives its opinion, the citizen council an advisory one."""
