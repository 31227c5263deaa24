-- Profiles: every field of a profile is public (no email or other private data lives here), so anon
-- and users read all rows. The owner edits their own row through the functions (api_user, column
-- grants in the migration); profiles are created by the auth.users trigger and never inserted here.
drop policy if exists profiles_select on public.profiles;
create policy profiles_select on public.profiles for select to anon, authenticated using (true);

drop policy if exists profiles_update_own on public.profiles;
create policy profiles_update_own on public.profiles for update to api_user
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));
