"""The projects service: associations' projects and what hangs on them, in rooms (one package per capability):
`referential`, `projects`, `budgets`, `indicators`, `reports`, `documents`; the tables in `models`.
See docs/architecture.md."""
