"""Dossiers: the association's draft for one of its projects under an open programme, its co-funding plan, its
submission (and what the other services must hold for it: readiness), the thread that carries a reference across
years, the administrative support (the desk's helper editing the draft for the holder), and the filters every list
of dossiers shares."""
