"""The holders' notifications: once a committee session closes (or a delegated decision is made), each
association gets one consolidated answer per dossier, stored with the decision and then mailed."""
