"""Outside development the services refuse their development secrets, and identity refuses to start
without its signing key (it generates one in development only)."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from common.settings import DEV_SECRET_MARKER, Environment
from services.funding.settings import FundingSettings
from services.identity.app import create_app as create_identity
from services.identity.keys import KeyStore, generate_pem
from services.identity.settings import IdentitySettings
from services.projects.settings import ProjectsSettings

PREFIXES = ("IDENTITY_", "PROJECTS_", "FUNDING_", "GATEWAY_")


@pytest.fixture(autouse=True)
def no_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test passes counts, not the developer's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)


def test_the_defaults_are_development_secrets() -> None:
    # What the refusals below rest on: the shipped defaults carry the marker.
    assert all(DEV_SECRET_MARKER in secret for secret in IdentitySettings().service_clients.values())
    assert DEV_SECRET_MARKER in FundingSettings().service_client_secret


@pytest.mark.parametrize("environment", ["production", "test"])
def test_identity_refuses_the_default_service_secret(environment: Environment) -> None:
    with pytest.raises(ValidationError, match=r"service_clients\[funding\]"):
        IdentitySettings(environment=environment)


@pytest.mark.parametrize("environment", ["production", "test"])
def test_funding_refuses_the_default_client_secret(environment: Environment) -> None:
    with pytest.raises(ValidationError, match="service_client_secret"):
        FundingSettings(environment=environment)


def test_the_default_secret_is_refused_when_it_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDING_ENVIRONMENT", "production")
    monkeypatch.setenv("FUNDING_SERVICE_CLIENT_SECRET", "dev-only-service-secret-funding")
    with pytest.raises(ValidationError, match="service_client_secret"):
        FundingSettings()
    monkeypatch.setenv("IDENTITY_ENVIRONMENT", "production")
    monkeypatch.setenv("IDENTITY_SERVICE_CLIENTS", '{"funding": "dev-only-service-secret-funding"}')
    with pytest.raises(ValidationError, match="service_clients"):
        IdentitySettings()


def test_production_accepts_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENVIRONMENT", "production")
    monkeypatch.setenv("IDENTITY_SERVICE_CLIENTS", '{"funding": "Zt4-real-secret"}')
    assert IdentitySettings().service_clients == {"funding": "Zt4-real-secret"}
    funding = FundingSettings(environment="production", service_client_secret="Zt4-real-secret")
    assert funding.environment == "production"
    assert ProjectsSettings(environment="production").environment == "production"  # no secret of its own


def test_development_keeps_its_defaults() -> None:
    assert IdentitySettings(environment="development").service_clients
    assert FundingSettings(environment="development").service_client_secret


def _production_identity(tmp_path: Path, key_file: Path) -> IdentitySettings:
    return IdentitySettings(
        environment="production",
        service_clients={"funding": "Zt4-real-secret"},
        signing_key_file=str(key_file),
        database_url=f"sqlite:///{tmp_path / 'identity.db'}",
    )


def test_production_without_a_signing_key_does_not_start(tmp_path: Path) -> None:
    missing = tmp_path / "keys" / "signing.pem"
    settings = _production_identity(tmp_path, missing)
    with pytest.raises(RuntimeError, match="signing key"):
        KeyStore.from_settings(settings)
    with pytest.raises(RuntimeError, match="signing key"):
        create_identity(settings)
    assert not missing.exists()  # nothing generated behind the operator's back


def test_production_starts_with_a_provided_signing_key(tmp_path: Path) -> None:
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(generate_pem())
    keys = KeyStore.from_settings(_production_identity(tmp_path, key_file))
    assert [key["kid"] for key in keys.jwks()["keys"]] == [keys.kid]


def test_development_generates_the_missing_key(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "signing.pem"
    KeyStore.from_settings(IdentitySettings(environment="development", signing_key_file=str(key_file)))
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_clock_file_is_refused_in_production_and_read_elsewhere(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from common.clock import FileClock, clock_of

    with pytest.raises(ValidationError, match="clock_file"):
        FundingSettings(environment="production", service_client_secret="s3cret", clock_file=str(tmp_path / "c"))
    clock = clock_of(FundingSettings(environment="development", clock_file=str(tmp_path / "c")).clock_file)
    assert isinstance(clock, FileClock)
    before = datetime.now(UTC)
    assert before <= clock.now()  # no file yet: the wall clock
    (tmp_path / "c").write_text("2029-03-01T10:00:00+00:00")
    assert clock.now() == datetime(2029, 3, 1, 10, tzinfo=UTC) and clock.today().isoformat() == "2029-03-01"
    (tmp_path / "c").write_text("")
    assert clock.now() >= before
    assert type(clock_of(None)).__name__ == "Clock"


@pytest.mark.parametrize(("service", "factory"), [
    ("projects", "services.projects.app"), ("funding", "services.funding.app"), ("identity", "services.identity.app"),
])
def test_each_service_keeps_the_pool_its_settings_ask_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, service: str, factory: str
) -> None:
    import importlib

    # No connection is opened: the engine is built, not used.
    monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv(f"{service.upper()}_DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv(f"{service.upper()}_DATABASE_MAX_OVERFLOW", "2")
    if service == "identity":
        key = tmp_path / "signing.pem"
        key.write_bytes(generate_pem())
        monkeypatch.setenv("IDENTITY_SIGNING_KEY_FILE", str(key))
    app = importlib.import_module(factory).create_app()
    pool = app.state.db.engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow) == (3, 2)


def test_a_pool_of_no_connection_is_refused() -> None:
    with pytest.raises(ValidationError, match="database_pool_size"):
        ProjectsSettings(database_pool_size=0)
