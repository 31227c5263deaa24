-- Who the members of an organization are (email, name), for its members and platform admins only:
-- auth.users is not readable by API roles, so this definer function is the one window onto it.
create or replace function private.organization_member_directory(p_organization_id uuid)
returns table (user_id uuid, role text, created_at timestamptz, email text, username text, full_name text)
language sql
stable
security definer
set search_path = ''
as $$
  select m.user_id, m.role, m.created_at, u.email::text,
         u.raw_user_meta_data ->> 'username', u.raw_user_meta_data ->> 'full_name'
  from public.organization_members m
  join auth.users u on u.id = m.user_id
  where m.organization_id = p_organization_id
    and (p_organization_id in (select private.org_ids_for('member')) or private.is_platform_admin())
  order by private.org_role_rank(m.role) desc, m.created_at
$$;
revoke all on function private.organization_member_directory(uuid) from public;
grant execute on function private.organization_member_directory(uuid) to authenticated, api_user, service_role;
