-- Gigs. Visibility: active, closed and filled gigs are public (closed and filled stay readable so
-- links, reviews and application history keep making sense; the listing shows active ones only).
-- Drafts and paused gigs: only those who manage the gig (private.managed_gig_ids(), the one rule for
-- "may manage this gig"; today the poster, with issue 6 also organization admins). The poster test
-- comes first and inline: it is free, and a STABLE helper reads with the statement's snapshot, so it
-- cannot see a row the same statement is inserting (INSERT ... RETURNING of a new draft).
drop policy if exists gigs_select_anon on public.gigs;
create policy gigs_select_anon on public.gigs for select to anon
  using (status in ('active', 'closed', 'filled'));

drop policy if exists gigs_select on public.gigs;
create policy gigs_select on public.gigs for select to authenticated
  using (
    status in ('active', 'closed', 'filled')
    or poster_id = (select auth.uid())
    or id in (select private.managed_gig_ids())
  );

drop policy if exists gigs_insert on public.gigs;
create policy gigs_insert on public.gigs for insert to api_user
  with check (poster_id = (select auth.uid()) and private.can_post_for_organization(organization_id));

drop policy if exists gigs_update on public.gigs;
create policy gigs_update on public.gigs for update to api_user
  using (poster_id = (select auth.uid()) or id in (select private.managed_gig_ids()))
  with check (poster_id = (select auth.uid()) or id in (select private.managed_gig_ids()));

drop policy if exists gigs_delete on public.gigs;
create policy gigs_delete on public.gigs for delete to api_user
  using (poster_id = (select auth.uid()) or id in (select private.managed_gig_ids()));

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
