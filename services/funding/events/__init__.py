"""Domain events: written by the transaction that changes the state (the outbox, outbox.py, whose listeners
are installed at start-up on funding's own session class), and the feed that replays them after a cursor
(service.py, routes.py)."""
