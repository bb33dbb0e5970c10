"""Webhooks: an organisation's admin registers endpoints and the event types it wants (service.py, routes.py);
where one may be sent, SSRF-checked (targets.py); the worker, its own process, turns the events each endpoint may
see into deliveries and sends them signed as Standard Webhooks asks, retried with backoff (worker.py)."""
