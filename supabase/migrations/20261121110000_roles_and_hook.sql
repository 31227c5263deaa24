-- Platform roles (user, admin, superadmin) and the custom access token hook that puts them into
-- tokens (Supabase's RBAC pattern). Policies and functions read the role from the token through
-- private.is_platform_admin(), never from user_metadata (users can edit that).
--
-- For the cleanup cron (issue 7): private.purge_rate_limits(), private.expire_invitations() and
-- private.take_expired_exports(limit) live in the following migrations of this range.

create table public.user_roles (
  user_id uuid primary key references auth.users (id) on delete cascade,
  role text not null default 'user' constraint user_roles_role_check check (role in ('user', 'admin', 'superadmin')),
  granted_by uuid references auth.users (id) on delete set null,
  updated_at timestamptz not null default now()
);
create index user_roles_granted_by_idx on public.user_roles (granted_by);
create index user_roles_role_idx on public.user_roles (role) where role <> 'user';
create trigger user_roles_touch before update on public.user_roles
  for each row execute function private.touch_updated_at();

alter table public.user_roles enable row level security;
revoke all on public.user_roles from anon, authenticated;
grant select on public.user_roles to authenticated;

-- Why a user is banned; the ban itself is auth.users.banned_until (what GoTrue and the request
-- transaction check), so it bites on the next request.
create table public.user_bans (
  user_id uuid primary key references auth.users (id) on delete cascade,
  reason text constraint user_bans_reason_check check (char_length(reason) <= 500),
  banned_by uuid references auth.users (id) on delete set null,
  banned_until timestamptz,
  created_at timestamptz not null default now()
);
create index user_bans_banned_by_idx on public.user_bans (banned_by);
alter table public.user_bans enable row level security;
revoke all on public.user_bans from anon, authenticated;
grant select on public.user_bans to authenticated;

-- Called by GoTrue (as supabase_auth_admin) before it issues a token, and by the local auth backend
-- (as service_role) exactly the same way. Not security definer: it runs with the caller's rights,
-- which is why the roles that call it get SELECT on user_roles.
create or replace function public.custom_access_token_hook(event jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  claims jsonb;
  v_role text;
begin
  select ur.role into v_role from public.user_roles ur where ur.user_id = (event ->> 'user_id')::uuid;
  claims := coalesce(event -> 'claims', '{}'::jsonb);
  claims := jsonb_set(claims, '{user_role}', to_jsonb(coalesce(v_role, 'user')));
  return jsonb_set(event, '{claims}', claims);
end
$$;
revoke execute on function public.custom_access_token_hook(jsonb) from public, anon, authenticated;
grant execute on function public.custom_access_token_hook(jsonb) to service_role;
grant select on public.user_roles to service_role;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    grant usage on schema public to supabase_auth_admin;
    grant execute on function public.custom_access_token_hook(jsonb) to supabase_auth_admin;
    grant select on public.user_roles to supabase_auth_admin;
  end if;
end
$$;

-- The platform role the caller's token carries (put there by the hook above).
create or replace function private.is_platform_admin()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce((select auth.jwt() ->> 'user_role') in ('admin', 'superadmin'), false)
$$;
revoke all on function private.is_platform_admin() from public;
grant execute on function private.is_platform_admin() to anon, authenticated, api_user, service_role;

-- The role as the table says now: admin services re-check the token's claim against it, so a
-- demoted admin's still-valid token cannot keep acting.
create or replace function private.platform_role_of(p_user_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((select ur.role from public.user_roles ur where ur.user_id = p_user_id), 'user')
$$;
revoke all on function private.platform_role_of(uuid) from public;
grant execute on function private.platform_role_of(uuid) to api_user, service_role;

-- The local auth backend checks a caller's session inside its own service_role transaction.
grant execute on function private.auth_session_state(uuid, uuid) to service_role;
