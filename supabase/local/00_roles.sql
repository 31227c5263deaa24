-- Local bootstrap for plain PostgreSQL: what every Supabase project already has and this project
-- uses. Never applied to a hosted project (`ugig db push` skips supabase/local/).
-- Every statement is re-runnable; roles are cluster-wide, so a sibling database may have made them.

-- The API roles, as Supabase creates them: PostgREST's authenticator logs in and switches to one of
-- anon, authenticated or service_role according to the token's role claim.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
-- Locally postgres is a superuser and needs no membership; Supabase grants it, so we do too.
grant anon, authenticated, service_role to postgres;

-- Supabase installs extensions into their own schema and puts it on postgres's search_path, so
-- migrations may call gen_salt() or use gin_trgm_ops unqualified. Takes effect on new sessions.
alter role postgres set search_path = "$user", public, extensions;
