-- Reviews are public (they are what a profile's rating is made of). Who may review whom, when and
-- how often is the reviews_before_insert trigger's decision; the policy only pins the reviewer.
drop policy if exists reviews_select on public.reviews;
create policy reviews_select on public.reviews for select to anon, authenticated
  using (true);

drop policy if exists reviews_insert on public.reviews;
create policy reviews_insert on public.reviews for insert to api_user
  with check (reviewer_id = (select auth.uid()));
