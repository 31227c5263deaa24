-- Exports are read by platform admins only (rows are written by the admin service as service_role);
-- uploads by their owner.
drop policy if exists exports_select on public.exports;
create policy exports_select on public.exports for select to authenticated
  using ((select private.is_platform_admin()));

drop policy if exists uploads_select on public.uploads;
create policy uploads_select on public.uploads for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists uploads_insert on public.uploads;
create policy uploads_insert on public.uploads for insert to api_user
  with check (user_id = (select auth.uid()));
