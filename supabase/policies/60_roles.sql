-- Platform roles and bans: a user sees their own role; platform admins see all. Writes go through
-- the admin service (service_role), so there are no write policies.
drop policy if exists user_roles_select on public.user_roles;
create policy user_roles_select on public.user_roles for select to authenticated
  using (user_id = (select auth.uid()) or (select private.is_platform_admin()));

drop policy if exists user_bans_select on public.user_bans;
create policy user_bans_select on public.user_bans for select to authenticated
  using ((select private.is_platform_admin()));

-- GoTrue runs the access token hook as supabase_auth_admin (only on a hosted project).
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    execute 'drop policy if exists user_roles_auth_admin_select on public.user_roles';
    execute 'create policy user_roles_auth_admin_select on public.user_roles as permissive for select'
            ' to supabase_auth_admin using (true)';
  end if;
end
$$;
