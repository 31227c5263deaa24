"""The GoTrue auth backend against a real Supabase project. Runs only with SUPABASE_URL,
SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY set; the user it creates is deleted at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from pydantic import SecretStr

from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import Unauthorized
from shared.providers.auth_backend import NewUser, SupabaseAuthBackend

NEEDED = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not all(os.environ.get(n) for n in NEEDED), reason="Supabase credentials are not set"),
]

PASSWORD = "Live-test-pass-42"


@pytest.fixture
async def account() -> AsyncIterator[tuple[SupabaseAuthBackend, str, UUID]]:
    settings = get_settings().model_copy(
        update={
            "supabase_url": os.environ["SUPABASE_URL"],
            "supabase_anon_key": SecretStr(os.environ["SUPABASE_ANON_KEY"]),
            "supabase_service_role_key": SecretStr(os.environ["SUPABASE_SERVICE_ROLE_KEY"]),
        }
    )
    backend = SupabaseAuthBackend(settings)
    email = f"live-{uuid.uuid4().hex[:10]}@example.test"
    user_id = await backend.admin_create_user(NewUser(email, PASSWORD, None, "Live Test"))
    yield backend, email, user_id
    await backend.admin_delete_user(user_id)


async def test_sign_in_refresh_and_sign_out_everywhere(account: tuple[SupabaseAuthBackend, str, UUID]) -> None:
    backend, email, user_id = account
    with pytest.raises(Unauthorized):
        await backend.sign_in(email, "Wrong-password-1")
    signed_in = await backend.sign_in(email, PASSWORD)
    assert signed_in.user.id == user_id and signed_in.session is not None
    refreshed = await backend.refresh(signed_in.session.refresh_token)
    assert refreshed.session is not None
    assert refreshed.session.refresh_token != signed_in.session.refresh_token
    principal = Principal(user_id=user_id, session_id=None, email=email, claims={})
    await backend.sign_out(principal, refreshed.session.access_token, "global")
    with pytest.raises(Unauthorized):
        await backend.refresh(refreshed.session.refresh_token)
