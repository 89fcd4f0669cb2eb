"""Settings: production refuses to start without a secret key; the rest have safe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ProductionConfig, config_from_env, env_bool
from intake import create_app
from tests.conftest import settings


def test_production_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    production = settings(tmp_path, REQUIRE_SECRET_KEY=True, SECRET_KEY=None)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(production)


def test_production_settings_class_requires_a_key_and_secure_cookies() -> None:
    assert ProductionConfig.REQUIRE_SECRET_KEY is True
    assert ProductionConfig.SESSION_COOKIE_SECURE is True


def test_development_keeps_a_private_secret_key_in_the_instance_folder(tmp_path: Path) -> None:
    first = create_app(settings(tmp_path, SECRET_KEY=None))
    second = create_app(settings(tmp_path, SECRET_KEY=None))
    key_file = tmp_path / "instance" / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert key_file.stat().st_mode & 0o077 == 0


def test_database_defaults_to_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, SQLALCHEMY_DATABASE_URI=None))
    expected = tmp_path / "instance" / "intake.sqlite3"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{expected}"
    assert app.config["INTAKE_UPLOADS"] == str(tmp_path / "instance" / "uploads")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), ("true", True), ("1", True), ("false", False), ("No", False)],
)
def test_env_bool(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    else:
        monkeypatch.setenv("RATELIMIT_ENABLED", value)
    assert env_bool("RATELIMIT_ENABLED", True) is expected


@pytest.mark.parametrize(("value", "name"), [(None, "production"), ("development", "development")])
def test_intake_env_picks_the_settings(
    monkeypatch: pytest.MonkeyPatch, value: str | None, name: str
) -> None:
    if value is None:
        monkeypatch.delenv("INTAKE_ENV", raising=False)
    else:
        monkeypatch.setenv("INTAKE_ENV", value)
    assert config_from_env().ENV_NAME == name


def test_unknown_intake_env_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_ENV", "staging")
    with pytest.raises(RuntimeError, match="INTAKE_ENV must be one of"):
        config_from_env()
