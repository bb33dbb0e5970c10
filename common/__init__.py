"""Mechanisms shared by every service: settings, database, tokens, problems, pagination,
idempotency, ETags, request ids and operations routes. No domain noun lives here."""
