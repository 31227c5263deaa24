-- Categories: the marketplace taxonomy (organization_id is null) is public. Issue 6 extends the
-- authenticated policy with the caller's organizations' own categories (and adds the write policies).
drop policy if exists categories_select_anon on public.categories;
create policy categories_select_anon on public.categories for select to anon
  using (organization_id is null);

drop policy if exists categories_select on public.categories;
create policy categories_select on public.categories for select to authenticated
  using (organization_id is null);
