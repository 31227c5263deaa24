-- Notifications: a user reads only their own. Rows are written by triggers (security definer) in the
-- transaction of their cause. Issue 4 extends this file (mark as read, Realtime).
drop policy if exists notifications_select on public.notifications;
create policy notifications_select on public.notifications for select to authenticated
  using (user_id = (select auth.uid()));
