"""The desk's PostgreSQL connections fit the server's default max_connections with room to spare: the three
services, the webhook worker and a second one (a rolling deploy), and a migration, each at its pool's fullest
(kept + burst), from the settings' defaults. Raising a default past the budget fails here; the README states the
same arithmetic."""

from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from services.funding.settings import FundingSettings
from services.funding.webhooks.worker import worker_database
from services.identity.settings import IdentitySettings
from services.projects.settings import ProjectsSettings

REPO = Path(__file__).resolve().parent.parent
MAX_CONNECTIONS = 100  # PostgreSQL's default
SUPERUSER_RESERVED = 3  # superuser_reserved_connections' default: never ours
HEADROOM = 25  # an operator's psql, a backup, monitoring
SERVICES = (IdentitySettings, ProjectsSettings, FundingSettings)
WORKERS = 2
MIGRATION = 1  # alembic on a NullPool, one connection at a time (common/migrations.py)


def default(settings_class: type, name: str) -> int:
    value: int = settings_class.model_fields[name].default  # type: ignore[attr-defined]
    return value


def service_pool() -> tuple[int, int]:
    pools = {(default(c, "database_pool_size"), default(c, "database_max_overflow")) for c in SERVICES}
    assert len(pools) == 1, "one default for the three services (the README lists <SERVICE>_ once)"
    return pools.pop()


def worker_pool() -> tuple[int, int]:
    return (default(FundingSettings, "webhook_database_pool_size"),
            default(FundingSettings, "webhook_database_max_overflow"))


def worst_case() -> int:
    kept, burst = service_pool()
    worker_kept, worker_burst = worker_pool()
    return len(SERVICES) * (kept + burst) + WORKERS * (worker_kept + worker_burst) + MIGRATION


def test_the_defaults_fit_postgresql_with_headroom() -> None:
    assert worst_case() <= MAX_CONNECTIONS - SUPERUSER_RESERVED - HEADROOM, worst_case()


def test_the_gateway_holds_no_connection() -> None:
    assert not any("database" in name for name in GatewaySettings.model_fields)


@pytest.mark.parametrize("document", ["README.md", "docs/architecture.md"])
def test_the_documents_state_the_budget(document: str) -> None:
    (kept, burst), (worker_kept, worker_burst) = service_pool(), worker_pool()
    sentence = f"3 × ({kept} + {burst}) + 2 × ({worker_kept} + {worker_burst}) + 1 = {worst_case()}"
    text = " ".join((REPO / document).read_text().split())  # the sentence may be wrapped
    assert sentence in text, f"{document}: the connection budget should read {sentence!r}"


def test_the_worker_keeps_the_pool_its_settings_ask_for() -> None:
    # No connection is opened: the engine is built, not used.
    settings = FundingSettings(database_url="postgresql://nobody@127.0.0.1:1/none", webhook_database_pool_size=3,
                               webhook_database_max_overflow=1)
    pool = worker_database(settings).engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
