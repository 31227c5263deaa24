-- Messaging: only a conversation's participants see it, its participants' read state, its messages
-- and its attachments. Writes go through api_user; triggers decide the rest (sender, timestamps,
-- which attachments a message may claim).
drop policy if exists conversations_select on public.conversations;
create policy conversations_select on public.conversations for select to authenticated
  using ((select auth.uid()) = any(participant_ids));

drop policy if exists conversations_insert on public.conversations;
create policy conversations_insert on public.conversations for insert to api_user
  with check ((select auth.uid()) = any(participant_ids));

drop policy if exists conversation_participants_select on public.conversation_participants;
-- The first test answers the caller's own rows (their conversation list) without building the set
-- of all their conversations; the second lets them see the other participants' read state.
create policy conversation_participants_select on public.conversation_participants for select to authenticated
  using (user_id = (select auth.uid()) or conversation_id in (select private.conversation_ids_for_caller()));

drop policy if exists conversation_participants_update on public.conversation_participants;
create policy conversation_participants_update on public.conversation_participants for update to api_user
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

drop policy if exists messages_select on public.messages;
create policy messages_select on public.messages for select to authenticated
  using (conversation_id in (select private.conversation_ids_for_caller()));

drop policy if exists messages_insert on public.messages;
create policy messages_insert on public.messages for insert to api_user
  with check (sender_id = (select auth.uid()) and conversation_id in (select private.conversation_ids_for_caller()));

drop policy if exists attachments_select on public.attachments;
create policy attachments_select on public.attachments for select to authenticated
  using (conversation_id in (select private.conversation_ids_for_caller()));

drop policy if exists attachments_insert on public.attachments;
create policy attachments_insert on public.attachments for insert to api_user
  with check (owner_id = (select auth.uid()) and conversation_id in (select private.conversation_ids_for_caller()));

drop policy if exists attachments_update on public.attachments;
create policy attachments_update on public.attachments for update to api_user
  using (owner_id = (select auth.uid()) and message_id is null)
  with check (owner_id = (select auth.uid()));
