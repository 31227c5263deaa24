-- Realtime Broadcast authorization: the private channel `typing:<conversation_id>` is open to the
-- conversation's participants only, to receive (select) and to send (insert). Other topics are not
-- ours and stay closed (no policy here opens them).
drop policy if exists typing_receive on realtime.messages;
create policy typing_receive on realtime.messages for select to authenticated
  using (extension in ('broadcast', 'presence') and private.can_use_typing_topic((select realtime.topic())));

drop policy if exists typing_send on realtime.messages;
create policy typing_send on realtime.messages for insert to authenticated
  with check (extension in ('broadcast', 'presence') and private.can_use_typing_topic((select realtime.topic())));
