# The desk's commands. `make run` starts everything on SQLite; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test migrate seed openapi check-openapi check-migrations lint typecheck bench bench-login bench-scale lock clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps: reinstall only when the pinned lists change.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The OpenAPI linter (Redocly CLI), from npm at the exact version package-lock.json pins; only the tests use it.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A headless Chromium, from Debian's packages, for the test that renders /docs with the network cut.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

migrate: $(VENV)/.runtime
	$(BIN)/python -m scripts.migrate

seed: migrate
	$(BIN)/python -m scripts.seed_demo

run: seed
	$(BIN)/python -m scripts.run_stack

# On every core (pytest-xdist; each worker has its own databases); PYTEST_WORKERS=-n0 for one process,
# PYTEST_ARGS='-m "not live"' for a part.
PYTEST_WORKERS ?= -n auto --dist loadgroup
test: $(VENV)/.dev node_modules/.installed browser
	$(BIN)/pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

openapi: $(VENV)/.runtime
	$(BIN)/python -m scripts.export_openapi

check-migrations: $(VENV)/.runtime
	$(BIN)/python -m scripts.migrate check

lint: $(VENV)/.dev
	$(BIN)/ruff check .

# mypy on the files listed in pyproject.toml's [tool.mypy] (strict on common/ and gateway/).
typecheck: $(VENV)/.dev
	$(BIN)/mypy

# The quick set (bench/quick.py): funding's reads against the minimal app of bench/, the gateway's pass-through,
# submissions, on SQLite and on PostgreSQL (127.0.0.1:5432, a database of its own); ends with one `BENCH {json}`
# line. ARGS="--backends sqlite --seconds 10" passes options. Load generator: wrk, from Debian's packages.
bench: $(VENV)/.runtime
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.quick $(ARGS)

# A person's login while another address floods identity with logins to unknown emails (real argon2 cost).
bench-login: $(VENV)/.runtime
	$(BIN)/python -m bench.login_flood

# The country's scale on PostgreSQL (127.0.0.1:5432 by default; the first run seeds for up to half an hour).
bench-scale: $(VENV)/.runtime
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.scale

# A realistic country on PostgreSQL, on top of the demo: the *_DATABASE_URL and *_DB_SCHEMA of the environment;
# ARGS="--dossiers 10000" (or --replace) passes options (python -m scripts.seed_country --help).
.PHONY: seed-country
seed-country: seed
	$(BIN)/python -m scripts.seed_country $(ARGS)

# Re-pin every dependency from requirements*.in in a scratch environment.
lock:
	rm -rf /tmp/desk-lock && $(PYTHON) -m venv /tmp/desk-lock
	/tmp/desk-lock/bin/pip install --quiet -r requirements.in
	(echo "# Runtime dependencies, every version pinned (transitive ones included). Regenerate with 'make lock'."; \
	 /tmp/desk-lock/bin/pip freeze --exclude pip) > requirements.txt
	/tmp/desk-lock/bin/pip install --quiet -r requirements-dev.in
	(echo "# Test and lint tools on top of the runtime set, every version pinned. Regenerate with 'make lock'."; \
	 echo "-r requirements.txt"; \
	 /tmp/desk-lock/bin/pip freeze --exclude pip | grep -vxF -f requirements.txt) > requirements-dev.txt

clean:
	rm -rf var .pytest_cache .mypy_cache
