-- Video calls: participants see their calls and may end them; the initiator is the caller (the
-- insert trigger sets it); nothing else about a call changes (trigger).
drop policy if exists video_calls_select on public.video_calls;
create policy video_calls_select on public.video_calls for select to authenticated
  using ((select auth.uid()) = any(participant_ids));

drop policy if exists video_calls_insert on public.video_calls;
create policy video_calls_insert on public.video_calls for insert to api_user
  with check (initiator_id = (select auth.uid()));

drop policy if exists video_calls_update on public.video_calls;
create policy video_calls_update on public.video_calls for update to api_user
  using ((select auth.uid()) = any(participant_ids))
  with check ((select auth.uid()) = any(participant_ids));
