"""The comité des financeurs, and the decisions made without it. The desk plans a session and invites its funders
(planning.py), builds its agenda (agenda.py); members declare their conflicts of interest (conflicts.py); the session
opens on quorum and is read (sessions.py); in session each funder decides its share, committing money on its
envelope (decisions.py), and closing computes each dossier's outcome and the minutes (closing.py, minutes.py to
print); the seed fund's grid is scored in session (scoring.py, scores.py). Small projects are decided by the lead
funder's manager alone (delegated.py), within the service clock the dossier carries (dossiers/service_clock.py)."""
