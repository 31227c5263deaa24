from __future__ import annotations

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
