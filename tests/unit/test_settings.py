from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.config import LOCAL_JWT_SECRET, Settings


def test_local_mode_fills_safe_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)
    settings = Settings(ugig_env="local", ugig_db_port=55555)
    assert settings.database_url == "postgresql://postgres@127.0.0.1:55555/ugig"
    assert settings.supabase_jwt_secret is not None
    assert settings.supabase_jwt_secret.get_secret_value() == LOCAL_JWT_SECRET


@pytest.mark.parametrize("secret", ["changethis", "", "ugig-local-jwt-secret-do-not-use-in-production"])
def test_production_rejects_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(
            ugig_env="production",
            database_url="postgresql://db.example.test/postgres",
            supabase_url="https://abc.supabase.co",
            supabase_jwt_secret=secret or None,
            cron_secret="a-real-cron-secret-value-1234567890",
            auth_backend="local",
            storage_backend="local",
        )
    assert "SUPABASE_JWT_SECRET" in str(info.value)


def test_production_accepts_real_settings_and_derives_jwks() -> None:
    settings = Settings(
        ugig_env="production",
        database_url="postgresql://db.example.test/postgres",
        supabase_url="https://abc.supabase.co",
        supabase_jwt_secret="a-long-random-project-jwt-secret-value-123",
        supabase_service_role_key="a-service-role-key-value",
        cron_secret="a-real-cron-secret-value-1234567890",
    )
    assert settings.jwks_url == "https://abc.supabase.co/auth/v1/.well-known/jwks.json"
    assert settings.jwt_issuer == "https://abc.supabase.co/auth/v1"


def test_production_requires_service_key_for_supabase_backends() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(
            ugig_env="production",
            database_url="postgresql://db.example.test/postgres",
            supabase_url="https://abc.supabase.co",
            supabase_jwt_secret="a-long-random-project-jwt-secret-value-123",
            cron_secret="a-real-cron-secret-value-1234567890",
            auth_backend="supabase",
        )
    assert "SUPABASE_SERVICE_ROLE_KEY" in str(info.value)


def test_environment_variables_are_read_in_any_case_and_empty_ones_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "7")
    monkeypatch.setenv("log_level", "DEBUG")
    monkeypatch.setenv("STRIPE_PRO_PRICE_ID", "")
    monkeypatch.setenv("SOMETHING_UNRELATED", "x")
    settings = Settings()
    assert settings.db_pool_max_size == 7
    assert settings.log_level == "DEBUG"
    assert settings.stripe_pro_price_id is None


def test_arguments_win_over_the_environment_and_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "7")
    assert Settings(db_pool_max_size=3).db_pool_max_size == 3
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "0")
    with pytest.raises(ValidationError, match="db_pool_max_size"):
        Settings()
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "5")
    monkeypatch.setenv("UGIG_ENV", "staging")
    with pytest.raises(ValidationError, match="ugig_env"):
        Settings()


def test_a_local_env_file_fills_what_the_environment_does_not_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "# local overrides\n"
        "DB_POOL_MAX_SIZE=4\n"
        "LOG_LEVEL=debug\n"
        "STRIPE_PRO_PRICE_ID='price_123'\n"
        "APP_BASE_URL=\n"
        "NOT_A_SETTING=1\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.delenv("DB_POOL_MAX_SIZE", raising=False)
    monkeypatch.delenv("STRIPE_PRO_PRICE_ID", raising=False)
    monkeypatch.delenv("APP_BASE_URL", raising=False)
    settings = Settings()
    assert settings.db_pool_max_size == 4
    assert settings.log_level == "WARNING"  # the environment wins over the file
    assert settings.stripe_pro_price_id == "price_123"
    assert settings.app_base_url == "http://localhost:3000"  # empty in the file: the default


def test_secrets_from_the_environment_stay_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_value")
    settings = Settings()
    assert settings.stripe_secret_key is not None
    assert settings.stripe_secret_key.get_secret_value() == "sk_test_value"
    assert "sk_test_value" not in repr(settings)
