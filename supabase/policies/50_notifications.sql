-- Notifications: a user reads only their own. Rows are written by triggers (security definer) in the
-- transaction of their cause. Issue 4 extends this file (mark as read, Realtime).
drop policy if exists notifications_select on public.notifications;
create policy notifications_select on public.notifications for select to authenticated
  using (user_id = (select auth.uid()));

-- Marking as read (issue 4): only read_at is granted to api_user, and only on the caller's own rows.
drop policy if exists notifications_update on public.notifications;
create policy notifications_update on public.notifications for update to api_user
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
