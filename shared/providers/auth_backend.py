"""Auth actions behind one interface: GoTrue (the `supabase` client) in production, and an embedded
local backend for local runs and tests that keeps users, sessions and rotating refresh tokens in the
local auth schema the way GoTrue does, and issues tokens with GoTrue's claims (the platform role comes
from the custom access token hook in the database, called exactly as GoTrue calls it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from shared.auth.issuer import build_claims, sign_claims
from shared.auth.passwords import hash_password, verify_password
from shared.auth.principal import Principal
from shared.config import Settings, get_settings
from shared.db import Conn, Database, to_json
from shared.errors import AppError, Conflict, Forbidden, RateLimited, ServiceUnavailable, Unauthorized, ValidationFailed
from shared.logging import get_logger
from shared.models.auth import AuthResult, AuthUser, Session

log = get_logger("auth")

SignOutScope = Literal["local", "global", "others"]
INVALID_CREDENTIALS = "Invalid email or password"
_UNSET: Any = object()


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str | None
    username: str | None
    full_name: str | None
    email_confirmed: bool = True


class AuthBackend(Protocol):
    async def sign_up(self, email: str, password: str, username: str, full_name: str) -> AuthResult: ...

    async def sign_in(self, email: str, password: str) -> AuthResult: ...

    async def refresh(self, refresh_token: str) -> AuthResult: ...

    async def sign_out(self, principal: Principal, access_token: str, scope: SignOutScope) -> None: ...

    async def reset_password(self, email: str) -> None: ...

    async def update_password(self, principal: Principal, new_password: str) -> None: ...

    # Admin operations (the admin service checks the caller's platform role first).
    async def admin_create_user(self, user: NewUser) -> UUID: ...

    async def admin_update_user(
        self, user_id: UUID, *, full_name: str | None = None, banned_until: datetime | None = _UNSET
    ) -> None: ...

    async def admin_delete_user(self, user_id: UUID) -> None: ...


def _user_from_row(row: dict[str, Any], role: str = "user") -> AuthUser:
    meta = row.get("raw_user_meta_data") or {}
    return AuthUser(
        id=row["id"],
        email=row["email"],
        username=meta.get("username"),
        full_name=meta.get("full_name"),
        role=role,
        email_confirmed_at=row.get("email_confirmed_at"),
        created_at=row.get("created_at"),
        last_sign_in_at=row.get("last_sign_in_at"),
    )


_USER_COLUMNS = (
    "id, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data,"
    " created_at, last_sign_in_at, banned_until"
)


class LocalAuthBackend:
    """GoTrue's behaviour over the local auth schema; every write in one service_role transaction."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # ------------------------------------------------------------------ sessions and tokens

    async def _issue(
        self,
        conn: Conn,
        user: dict[str, Any],
        session_id: UUID,
        refresh_token: str,
        ttl_seconds: int | None = None,
    ) -> AuthResult:
        claims = build_claims(
            settings=self.settings,
            user_id=user["id"],
            email=user["email"],
            session_id=session_id,
            app_metadata=user.get("raw_app_meta_data") or None,
            user_metadata=user.get("raw_user_meta_data") or None,
            ttl_seconds=ttl_seconds,
        )
        event = {"user_id": str(user["id"]), "claims": claims, "authentication_method": "password"}
        cur = await conn.execute("select public.custom_access_token_hook(%s::jsonb) as event", (to_json(event),))
        row = await cur.fetchone()
        assert row is not None
        claims = row["event"]["claims"]
        token = sign_claims(self.settings, claims)
        session = Session(
            access_token=token,
            refresh_token=refresh_token,
            expires_in=int(claims["exp"]) - int(claims["iat"]),
            expires_at=int(claims["exp"]),
        )
        return AuthResult(user=_user_from_row(user, claims.get("user_role", "user")), session=session)

    async def _new_session(self, conn: Conn, user: dict[str, Any], ttl_seconds: int | None = None) -> AuthResult:
        cur = await conn.execute(
            "insert into auth.sessions (user_id, created_at, updated_at, aal) values (%s, now(), now(), 'aal1')"
            " returning id",
            (user["id"],),
        )
        srow = await cur.fetchone()
        assert srow is not None
        refresh_token = secrets.token_urlsafe(32)
        await conn.execute(
            "insert into auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, session_id)"
            " values (%s, %s, false, now(), now(), %s)",
            (refresh_token, str(user["id"]), srow["id"]),
        )
        cur = await conn.execute(
            "update auth.users set last_sign_in_at = now() where id = %s returning last_sign_in_at", (user["id"],)
        )
        touched = await cur.fetchone()
        user = {**user, "last_sign_in_at": touched["last_sign_in_at"] if touched else None}
        return await self._issue(conn, user, srow["id"], refresh_token, ttl_seconds)

    @staticmethod
    def _banned(user: dict[str, Any]) -> bool:
        until = user.get("banned_until")
        return until is not None and until > datetime.now(UTC)

    # ------------------------------------------------------------------ actions

    async def _insert_user(self, conn: Conn, user: NewUser, hashed: str | None) -> dict[str, Any]:
        cur = await conn.execute(
            "select 1 from auth.users where lower(email) = %s and deleted_at is null", (user.email,)
        )
        if await cur.fetchone():
            raise Conflict("An account with this email already exists")
        if user.username:
            await self._check_username_free(conn, user.username)
        meta = {k: v for k, v in (("username", user.username), ("full_name", user.full_name)) if v}
        cur = await conn.execute(
            f"insert into auth.users (aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data,"
            f" raw_user_meta_data, created_at, updated_at)"
            f" values ('authenticated', 'authenticated', %s, %s, case when %s then now() end, %s, %s, now(), now())"
            f" returning {_USER_COLUMNS}",
            (
                user.email,
                hashed,
                user.email_confirmed,
                to_json({"provider": "email", "providers": ["email"]}),
                to_json(meta),
            ),
        )
        row = await cur.fetchone()
        assert row is not None
        await conn.execute(
            "insert into auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)"
            " values (%s, %s, %s, 'email', now(), now())",
            (str(row["id"]), row["id"], to_json({"sub": str(row["id"]), "email": user.email})),
        )
        return dict(row)

    @staticmethod
    async def _check_username_free(conn: Conn, username: str) -> None:
        # Profiles (issue 3) hold usernames once they exist; the metadata covers the moment before.
        cur = await conn.execute(
            "select exists (select 1 from auth.users where raw_user_meta_data ->> 'username' = %s"
            " and deleted_at is null) as taken, to_regclass('public.profiles') is not null as has_profiles",
            (username,),
        )
        row = await cur.fetchone()
        taken = bool(row and row["taken"])
        if not taken and row and row["has_profiles"]:
            cur = await conn.execute(
                "select exists (select 1 from public.profiles where username = %s) as t", (username,)
            )
            prow = await cur.fetchone()
            taken = bool(prow and prow["t"])
        if taken:
            raise Conflict("This username is taken")

    async def sign_up(self, email: str, password: str, username: str, full_name: str) -> AuthResult:
        hashed = await hash_password(password)  # before the transaction: no connection held while hashing
        async with self.db.service_tx() as conn:
            row = await self._insert_user(conn, NewUser(email, password, username, full_name), hashed)
            # Local mode confirms at once (as a project with email confirmation off): a session comes back.
            return await self._new_session(conn, row)

    async def sign_in(self, email: str, password: str) -> AuthResult:
        lookup = f"select {_USER_COLUMNS} from auth.users where lower(email) = %s and deleted_at is null"
        async with self.db.service_tx() as conn:
            cur = await conn.execute(lookup, (email,))
            row = await cur.fetchone()
        # bcrypt outside any transaction: a pooled connection is not held for ~50 ms of hashing.
        if not await verify_password(password, row["encrypted_password"] if row else None) or row is None:
            raise Unauthorized(INVALID_CREDENTIALS)
        async with self.db.service_tx() as conn:
            # Read again with a lock: a ban or password change since the check wins.
            cur = await conn.execute(lookup + " and id = %s for update", (email, row["id"]))
            user = await cur.fetchone()
            if user is None or user["encrypted_password"] != row["encrypted_password"]:
                raise Unauthorized(INVALID_CREDENTIALS)
            if self._banned(user):
                raise Forbidden("This account is suspended")
            if user["email_confirmed_at"] is None:
                raise Forbidden("Confirm your email address first")
            return await self._new_session(conn, dict(user))

    async def refresh(self, refresh_token: str) -> AuthResult:
        reused = False
        async with self.db.service_tx() as conn:
            cur = await conn.execute(
                "select id, token, revoked, session_id, user_id from auth.refresh_tokens where token = %s for update",
                (refresh_token,),
            )
            token = await cur.fetchone()
            if token is None or token["session_id"] is None:
                raise Unauthorized("Invalid refresh token")
            if token["revoked"]:
                # Reuse of a rotated token: someone else may hold the family. End the whole session.
                await conn.execute("delete from auth.sessions where id = %s", (token["session_id"],))
                reused = True
            else:
                cur = await conn.execute(
                    f"select {_USER_COLUMNS} from auth.users u where id = %s and deleted_at is null"
                    " and exists (select 1 from auth.sessions s where s.id = %s"
                    " and (s.not_after is null or s.not_after > now()))",
                    (UUID(token["user_id"]), token["session_id"]),
                )
                user = await cur.fetchone()
                if user is None:
                    raise Unauthorized("Invalid refresh token")
                if self._banned(user):
                    raise Forbidden("This account is suspended")
                new_token = secrets.token_urlsafe(32)
                await conn.execute(
                    "update auth.refresh_tokens set revoked = true, updated_at = now() where id = %s", (token["id"],)
                )
                await conn.execute(
                    "insert into auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, parent,"
                    " session_id) values (%s, %s, false, now(), now(), %s, %s)",
                    (new_token, token["user_id"], token["token"], token["session_id"]),
                )
                await conn.execute(
                    "update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now()"
                    " where id = %s",
                    (token["session_id"],),
                )
                return await self._issue(conn, dict(user), token["session_id"], new_token)
        assert reused
        raise Unauthorized("This refresh token was already used; sign in again")

    async def sign_out(self, principal: Principal, access_token: str, scope: SignOutScope) -> None:
        async with self.db.service_tx() as conn:
            await self._require_live_session(conn, principal)
            if scope == "global":
                await conn.execute("delete from auth.sessions where user_id = %s", (principal.user_id,))
            elif scope == "others":
                await conn.execute(
                    "delete from auth.sessions where user_id = %s and id <> %s",
                    (principal.user_id, principal.session_id),
                )
            else:
                await conn.execute(
                    "delete from auth.sessions where id = %s and user_id = %s",
                    (principal.session_id, principal.user_id),
                )

    async def reset_password(self, email: str) -> None:
        # Records a recovery token when the account exists; the caller's answer is the same either way.
        async with self.db.service_tx() as conn:
            await conn.execute(
                "update auth.users set recovery_token = %s, recovery_sent_at = now()"
                " where lower(email) = %s and deleted_at is null",
                (secrets.token_hex(28), email),
            )

    async def update_password(self, principal: Principal, new_password: str) -> None:
        hashed = await hash_password(new_password)
        async with self.db.service_tx() as conn:
            await self._require_live_session(conn, principal)
            await conn.execute(
                "update auth.users set encrypted_password = %s, updated_at = now(), recovery_token = null"
                " where id = %s",
                (hashed, principal.user_id),
            )

    @staticmethod
    async def _require_live_session(conn: Conn, principal: Principal) -> None:
        cur = await conn.execute(
            "select private.auth_session_state(%s, %s) as state", (principal.session_id, principal.user_id)
        )
        row = await cur.fetchone()
        state = row["state"] if row else None
        if state == "banned":
            raise Forbidden("This account is suspended")
        if state != "ok":
            raise Unauthorized("The session has ended; sign in again")

    async def session_for(self, email: str, *, ttl_seconds: int | None = None) -> AuthResult:
        """A session for an email address with no password asked, creating the user when missing.

        Local development only (`ugig token`): the same rows and token a sign-in would produce.
        """
        async with self.db.service_tx() as conn:
            cur = await conn.execute(
                f"select {_USER_COLUMNS} from auth.users where lower(email) = %s and deleted_at is null", (email,)
            )
            row = await cur.fetchone()
            user = dict(row) if row else await self._insert_user(conn, NewUser(email, None, None, None), None)
            return await self._new_session(conn, user, ttl_seconds)

    # ------------------------------------------------------------------ admin

    async def admin_create_user(self, user: NewUser) -> UUID:
        hashed = await hash_password(user.password) if user.password else None
        async with self.db.service_tx() as conn:
            row = await self._insert_user(conn, user, hashed)
            return UUID(str(row["id"]))

    async def admin_update_user(
        self, user_id: UUID, *, full_name: str | None = None, banned_until: datetime | None = _UNSET
    ) -> None:
        async with self.db.service_tx() as conn:
            if full_name is not None:
                await conn.execute(
                    "update auth.users set raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb)"
                    " || jsonb_build_object('full_name', %s::text), updated_at = now() where id = %s",
                    (full_name, user_id),
                )
            if banned_until is not _UNSET:
                await conn.execute(
                    "update auth.users set banned_until = %s, updated_at = now() where id = %s",
                    (banned_until, user_id),
                )

    async def admin_delete_user(self, user_id: UUID) -> None:
        async with self.db.service_tx() as conn:
            await conn.execute("delete from auth.users where id = %s", (user_id,))


class SupabaseAuthBackend:
    """GoTrue through the official client: the anon key for user actions, the service key for admin."""

    def __init__(self, settings: Settings) -> None:
        if not settings.supabase_url or not settings.supabase_anon_key or not settings.supabase_service_role_key:
            raise ServiceUnavailable("Authentication is not configured")
        self._url = settings.supabase_url
        self._anon_key = settings.supabase_anon_key.get_secret_value()
        self._service_key = settings.supabase_service_role_key.get_secret_value()
        self._admin_client: Any = None

    async def _client(self) -> Any:
        # A fresh client per action: GoTrue's client keeps the signed-in session in memory.
        from supabase import AsyncClientOptions, acreate_client

        options = AsyncClientOptions(auto_refresh_token=False, persist_session=False)
        return await acreate_client(self._url, self._anon_key, options=options)

    async def _admin(self) -> Any:
        if self._admin_client is None:
            from supabase import AsyncClientOptions, acreate_client

            options = AsyncClientOptions(auto_refresh_token=False, persist_session=False)
            self._admin_client = await acreate_client(self._url, self._service_key, options=options)
        return self._admin_client.auth.admin

    @staticmethod
    def _translate(exc: Exception) -> AppError:
        from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

        if isinstance(exc, AuthWeakPasswordError):
            return ValidationFailed.field("password", "This password is too weak")
        if isinstance(exc, AuthApiError):
            code = str(exc.code or "")
            if exc.status == 429:
                return RateLimited()
            if code in ("user_already_exists", "email_exists"):
                return Conflict("An account with this email already exists")
            if code == "user_banned":
                return Forbidden("This account is suspended")
            if code == "email_not_confirmed":
                return Forbidden("Confirm your email address first")
            if code in ("refresh_token_already_used", "refresh_token_not_found", "session_not_found"):
                return Unauthorized("Invalid refresh token")
            if exc.status in (400, 401, 403):
                return Unauthorized(INVALID_CREDENTIALS)
            if exc.status == 422:
                return ValidationFailed(exc.message)
        log.warning("gotrue call failed", extra={"error_class": type(exc).__name__})
        return ServiceUnavailable("Authentication is unavailable right now")

    @staticmethod
    def _result(response: Any) -> AuthResult:
        user = response.user
        meta = user.user_metadata or {}
        session = None
        if response.session is not None:
            s = response.session
            session = Session(
                access_token=s.access_token,
                refresh_token=s.refresh_token,
                expires_in=int(s.expires_in or 0),
                expires_at=int(s.expires_at or 0),
            )
        role = "user"
        if session is not None:
            import jwt

            role = str(jwt.decode(session.access_token, options={"verify_signature": False}).get("user_role", "user"))
        return AuthResult(
            user=AuthUser(
                id=UUID(str(user.id)),
                email=user.email or "",
                username=meta.get("username"),
                full_name=meta.get("full_name"),
                role=role,
                email_confirmed_at=user.email_confirmed_at,
                created_at=user.created_at,
                last_sign_in_at=user.last_sign_in_at,
            ),
            session=session,
        )

    async def sign_up(self, email: str, password: str, username: str, full_name: str) -> AuthResult:
        client = await self._client()
        try:
            response = await client.auth.sign_up(
                {
                    "email": email,
                    "password": password,
                    "options": {"data": {"username": username, "full_name": full_name}},
                }
            )
        except Exception as exc:
            raise self._translate(exc) from exc
        return self._result(response)

    async def sign_in(self, email: str, password: str) -> AuthResult:
        client = await self._client()
        try:
            response = await client.auth.sign_in_with_password({"email": email, "password": password})
        except Exception as exc:
            raise self._translate(exc) from exc
        return self._result(response)

    async def refresh(self, refresh_token: str) -> AuthResult:
        client = await self._client()
        try:
            response = await client.auth.refresh_session(refresh_token)
        except Exception as exc:
            raise self._translate(exc) from exc
        return self._result(response)

    async def sign_out(self, principal: Principal, access_token: str, scope: SignOutScope) -> None:
        admin = await self._admin()
        try:
            await admin.sign_out(access_token, scope)
        except Exception as exc:
            raise self._translate(exc) from exc

    async def reset_password(self, email: str) -> None:
        client = await self._client()
        try:
            await client.auth.reset_password_for_email(email)
        except Exception as exc:
            # Never reveal whether the email exists; only an outage is worth reporting.
            translated = self._translate(exc)
            if isinstance(translated, ServiceUnavailable | RateLimited):
                raise translated from exc

    async def update_password(self, principal: Principal, new_password: str) -> None:
        admin = await self._admin()
        try:
            await admin.update_user_by_id(str(principal.user_id), {"password": new_password})
        except Exception as exc:
            raise self._translate(exc) from exc

    async def admin_create_user(self, user: NewUser) -> UUID:
        admin = await self._admin()
        attributes: dict[str, Any] = {
            "email": user.email,
            "email_confirm": user.email_confirmed,
            "user_metadata": {k: v for k, v in (("username", user.username), ("full_name", user.full_name)) if v},
        }
        if user.password:
            attributes["password"] = user.password
        try:
            response = await admin.create_user(attributes)
        except Exception as exc:
            raise self._translate(exc) from exc
        return UUID(str(response.user.id))

    async def admin_update_user(
        self, user_id: UUID, *, full_name: str | None = None, banned_until: datetime | None = _UNSET
    ) -> None:
        attributes: dict[str, Any] = {}
        if full_name is not None:
            attributes["user_metadata"] = {"full_name": full_name}
        if banned_until is not _UNSET:
            if banned_until is None:
                attributes["ban_duration"] = "none"
            else:
                hours = max(1, int((banned_until - datetime.now(UTC)).total_seconds() // 3600) + 1)
                attributes["ban_duration"] = f"{hours}h"
        if not attributes:
            return
        admin = await self._admin()
        try:
            await admin.update_user_by_id(str(user_id), attributes)
        except Exception as exc:
            raise self._translate(exc) from exc

    async def admin_delete_user(self, user_id: UUID) -> None:
        admin = await self._admin()
        try:
            await admin.delete_user(str(user_id))
        except Exception as exc:
            raise self._translate(exc) from exc


_supabase_backend: SupabaseAuthBackend | None = None


def get_auth_backend(db: Database, settings: Settings | None = None) -> AuthBackend:
    global _supabase_backend
    settings = settings or get_settings()
    if settings.auth_backend == "supabase":
        if _supabase_backend is None:
            _supabase_backend = SupabaseAuthBackend(settings)
        return _supabase_backend
    return LocalAuthBackend(db, settings)
