-- Categories: the marketplace taxonomy (organization_id is null) is public; members of an
-- organization also read its own categories. Only organization admins write them, organization
-- categories only (the taxonomy is changed by migrations).
drop policy if exists categories_select_anon on public.categories;
create policy categories_select_anon on public.categories for select to anon
  using (organization_id is null);

drop policy if exists categories_select on public.categories;
create policy categories_select on public.categories for select to authenticated
  using (organization_id is null or organization_id in (select private.org_ids_for('member')));

drop policy if exists categories_insert on public.categories;
create policy categories_insert on public.categories for insert to api_user
  with check (organization_id in (select private.org_ids_for('admin')));

drop policy if exists categories_update on public.categories;
create policy categories_update on public.categories for update to api_user
  using (organization_id in (select private.org_ids_for('admin')))
  with check (organization_id in (select private.org_ids_for('admin')));

drop policy if exists categories_delete on public.categories;
create policy categories_delete on public.categories for delete to api_user
  using (organization_id in (select private.org_ids_for('admin')));
