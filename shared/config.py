"""Every setting of every function, read once from the environment (see .env.example)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

Environment = Literal["local", "test", "production"]

LOCAL_JWT_SECRET = "ugig-local-jwt-secret-do-not-use-in-production"
LOCAL_CRON_SECRET = "ugig-local-cron-secret"
LOCAL_DB_PORT = 54322

# Values that mean "somebody forgot to set this"; production refuses to start with them.
_PLACEHOLDERS = {"", "changethis", "change-me", "changeme", "secret", "placeholder", "xxx", "todo"}


def _is_placeholder(value: str) -> bool:
    return value.strip().lower() in _PLACEHOLDERS or value.startswith("ugig-local-")


ENV_FILE = ".env"


def environment(names: Iterable[str], env_file: str = ENV_FILE) -> dict[str, str]:
    """The values of these settings: environment variables named like them (any case), then a local
    `.env` file for the ones the environment does not set. Empty values count as unset."""
    wanted = set(names)
    values: dict[str, str] = {}
    if os.path.isfile(env_file):
        # Imported only when there is a file to read: a deployed function has none.
        from dotenv import dotenv_values

        values.update({k.lower(): v for k, v in dotenv_values(env_file).items() if v and k.lower() in wanted})
    values.update({k.lower(): v for k, v in os.environ.items() if v and k.lower() in wanted})
    return values


class Settings(BaseModel):
    """Arguments first, then the environment, then `.env`, then the defaults below.

    A plain model reading the environment itself, not pydantic-settings: that package's import
    (its many sources, argparse, dotenv) cost ~12 ms of every cold start for what `environment()`
    does here.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True)

    ugig_env: Environment = "local"
    version: str = "0.1.0"
    log_level: str = "INFO"

    database_url: str | None = None
    ugig_db_port: int = LOCAL_DB_PORT
    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=10_000, ge=0)

    supabase_url: str | None = None
    supabase_anon_key: SecretStr | None = None
    supabase_service_role_key: SecretStr | None = None
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str | None = None
    jwt_audience: str = "authenticated"
    access_token_ttl_seconds: int = Field(default=3600, ge=60)

    auth_backend: Literal["supabase", "local"] = "local"
    storage_backend: Literal["supabase", "local"] = "local"
    local_storage_dir: str = ".ugig/storage"

    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_pro_price_id: str | None = None
    app_base_url: str = "http://localhost:3000"

    cron_secret: SecretStr | None = None
    free_plan_monthly_posts: int = Field(default=10, ge=0)
    video_call_base_url: str = "https://meet.jit.si"
    # Cleanup cron: a call still running after this long is ended; rows per batched statement.
    call_max_duration_minutes: int = Field(default=240, ge=1)
    cleanup_batch_size: int = Field(default=1000, ge=1, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _read_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**environment(cls.model_fields), **data}

    @model_validator(mode="after")
    def _fill_local_defaults_and_reject_placeholders(self) -> Settings:
        if self.ugig_env == "production":
            required = {
                "DATABASE_URL": self.database_url,
                "SUPABASE_URL": self.supabase_url,
                "CRON_SECRET": self.cron_secret.get_secret_value() if self.cron_secret else None,
            }
            if self.supabase_jwks_url is None and self.supabase_jwt_secret is None:
                required["SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL"] = None
            if self.supabase_jwt_secret is not None:
                required["SUPABASE_JWT_SECRET"] = self.supabase_jwt_secret.get_secret_value()
            if self.auth_backend == "supabase" or self.storage_backend == "supabase":
                key = self.supabase_service_role_key
                required["SUPABASE_SERVICE_ROLE_KEY"] = key.get_secret_value() if key else None
            bad = sorted(name for name, value in required.items() if value is None or _is_placeholder(value))
            if bad:
                raise ValueError(f"production settings missing or placeholder: {', '.join(bad)}")
            return self
        if self.supabase_jwt_secret is None:
            self.supabase_jwt_secret = SecretStr(LOCAL_JWT_SECRET)
        if self.cron_secret is None:
            self.cron_secret = SecretStr(LOCAL_CRON_SECRET)
        if self.database_url is None:
            self.database_url = f"postgresql://postgres@127.0.0.1:{self.ugig_db_port}/ugig"
        return self

    @property
    def jwks_url(self) -> str | None:
        if self.supabase_jwks_url:
            return self.supabase_jwks_url
        if self.supabase_url and self.ugig_env == "production":
            return self.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"
        return None

    @property
    def jwt_issuer(self) -> str:
        base = self.supabase_url.rstrip("/") if self.supabase_url else "http://localhost:54321"
        return base + "/auth/v1"

    @property
    def dsn(self) -> str:
        assert self.database_url is not None  # filled by the validator in every environment
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
