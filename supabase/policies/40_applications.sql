-- Applications: the applicant and the gig's managers see them; nobody else (not even that they
-- exist). Who may make which status move is the applications_before_update trigger's decision; the
-- policies only decide which rows a caller can reach at all.
drop policy if exists applications_select on public.applications;
create policy applications_select on public.applications for select to authenticated
  using (applicant_id = (select auth.uid()) or gig_id in (select private.managed_gig_ids()));

drop policy if exists applications_insert on public.applications;
create policy applications_insert on public.applications for insert to api_user
  with check (applicant_id = (select auth.uid()));

drop policy if exists applications_update on public.applications;
create policy applications_update on public.applications for update to api_user
  using (applicant_id = (select auth.uid()) or gig_id in (select private.managed_gig_ids()))
  with check (applicant_id = (select auth.uid()) or gig_id in (select private.managed_gig_ids()));
