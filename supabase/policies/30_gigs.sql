-- Gigs. Visibility: active, closed and filled gigs are public (closed and filled stay readable so
-- links, reviews and application history keep making sense; the listing shows active ones only).
-- Drafts and paused gigs: only those who manage the gig. "May manage" is defined once, by
-- private.can_manage_gig(id) (its poster, or an admin/owner of its organization); these policies inline
-- that same predicate on the row itself, `poster_id = (select auth.uid()) or organization_id in
-- (select private.org_ids_for('admin'))`, which costs O(1) per row (the caller's admin organizations
-- are read once per statement) instead of materialising every gig the caller manages
-- (private.managed_gig_ids(): 5,600 ids for a heavy poster on every GET /gigs/{id}). Keep the two in
-- step (supabase/migrations/20261121220000_gig_search_speed.sql). The poster test comes first: it is
-- free, and it also holds for a row the same statement is inserting (INSERT ... RETURNING of a new draft).
drop policy if exists gigs_select_anon on public.gigs;
create policy gigs_select_anon on public.gigs for select to anon
  using (status in ('active', 'closed', 'filled'));

drop policy if exists gigs_select on public.gigs;
create policy gigs_select on public.gigs for select to authenticated
  using (
    status in ('active', 'closed', 'filled')
    or poster_id = (select auth.uid())
    or organization_id in (select private.org_ids_for('admin'))
  );

drop policy if exists gigs_insert on public.gigs;
create policy gigs_insert on public.gigs for insert to api_user
  with check (poster_id = (select auth.uid()) and private.can_post_for_organization(organization_id));

drop policy if exists gigs_update on public.gigs;
create policy gigs_update on public.gigs for update to api_user
  using (poster_id = (select auth.uid()) or organization_id in (select private.org_ids_for('admin')))
  with check (poster_id = (select auth.uid()) or organization_id in (select private.org_ids_for('admin')));

drop policy if exists gigs_delete on public.gigs;
create policy gigs_delete on public.gigs for delete to api_user
  using (poster_id = (select auth.uid()) or organization_id in (select private.org_ids_for('admin')));

-- Saved gigs: private bookmarks; a user sees and changes only their own, and can only save a gig
-- they can see (the subquery runs under the caller's gigs policies).
drop policy if exists saved_gigs_select on public.saved_gigs;
create policy saved_gigs_select on public.saved_gigs for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists saved_gigs_insert on public.saved_gigs;
create policy saved_gigs_insert on public.saved_gigs for insert to api_user
  with check (user_id = (select auth.uid()) and exists (select 1 from public.gigs g where g.id = gig_id));

drop policy if exists saved_gigs_delete on public.saved_gigs;
create policy saved_gigs_delete on public.saved_gigs for delete to api_user
  using (user_id = (select auth.uid()));
