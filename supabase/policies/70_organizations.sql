-- Organizations and members: members read their organizations and co-members; platform admins read
-- all. Admins update an organization, only owners delete it. Membership changes are further checked
-- by private.organization_members_guard (owners, admins, the sole-owner rule).

drop policy if exists organizations_select on public.organizations;
create policy organizations_select on public.organizations for select to authenticated
  using (id in (select private.org_ids_for('member')) or (select private.is_platform_admin()));

drop policy if exists organizations_insert on public.organizations;
create policy organizations_insert on public.organizations for insert to api_user
  with check (created_by = (select auth.uid()));

drop policy if exists organizations_update on public.organizations;
create policy organizations_update on public.organizations for update to api_user
  using (id in (select private.org_ids_for('admin')))
  with check (id in (select private.org_ids_for('admin')));

drop policy if exists organizations_delete on public.organizations;
create policy organizations_delete on public.organizations for delete to api_user
  using (id in (select private.org_ids_for('owner')));

drop policy if exists organization_members_select on public.organization_members;
create policy organization_members_select on public.organization_members for select to authenticated
  using (organization_id in (select private.org_ids_for('member')) or (select private.is_platform_admin()));

drop policy if exists organization_members_update on public.organization_members;
create policy organization_members_update on public.organization_members for update to api_user
  using (organization_id in (select private.org_ids_for('admin')))
  with check (organization_id in (select private.org_ids_for('admin')));

drop policy if exists organization_members_delete on public.organization_members;
create policy organization_members_delete on public.organization_members for delete to api_user
  using (user_id = (select auth.uid()) or organization_id in (select private.org_ids_for('admin')));
