-- Foundation: what a Supabase project does not have but every later migration relies on.
-- Runs on a hosted project too (ugig db push), so everything here is plain, guarded SQL.

-- The functions act as api_user with the caller's claims. It inherits every SELECT policy written
-- "to authenticated"; write grants and write policies are given to api_user only. PostgREST's
-- authenticator is not a member, so a forged role claim in a JWT cannot reach it.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'api_user') then
    create role api_user nologin inherit;
  end if;
end
$$;
grant authenticated to api_user;

-- The login the functions use must be able to switch to the roles it acts as.
do $$
begin
  execute format('grant api_user, anon, service_role to %I', current_user);
exception when insufficient_privilege or invalid_grant_operation then
  raise notice 'could not grant roles to %; grant them as an administrator', current_user;
end
$$;

grant usage on schema public to api_user;

-- Supabase's default privileges give anon and authenticated ALL on every new table in public.
-- Reads go through RLS; writes only through the functions (api_user) or service_role.
alter default privileges in schema public revoke insert, update, delete, truncate, references, trigger
  on tables from anon, authenticated;
alter default privileges in schema public revoke execute on functions from public, anon, authenticated;

-- Helpers live in a schema PostgREST does not expose.
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to anon, authenticated, api_user, service_role;

-- The request transaction's check that the token still stands: sign-out deletes the session,
-- a ban sets banned_until; both must bite on the next request, not when the token expires.
create or replace function private.auth_session_state(p_session_id uuid, p_user_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select case
    when p_session_id is null then 'no_session'
    when u.id is null or u.deleted_at is not null then 'no_user'
    when u.banned_until is not null and u.banned_until > now() then 'banned'
    when not exists (
      select 1 from auth.sessions s
      where s.id = p_session_id and s.user_id = p_user_id
        and (s.not_after is null or s.not_after > now())
    ) then 'no_session'
    else 'ok'
  end
  from (select 1) as one
  left join auth.users u on u.id = p_user_id
$$;
revoke all on function private.auth_session_state(uuid, uuid) from public;
grant execute on function private.auth_session_state(uuid, uuid) to api_user;

-- Keeps updated_at honest whoever writes the row.
create or replace function private.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;
revoke all on function private.touch_updated_at() from public;
