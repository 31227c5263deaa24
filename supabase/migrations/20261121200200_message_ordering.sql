-- Message ordering without a row update per message (replaces the first version's trigger bodies).
--
-- The guarantee is unchanged: within a conversation, a message's timestamp is taken after every
-- earlier insert into that conversation has committed, so whoever sees a message also sees every
-- older one, and keyset pages strictly older than a cursor never miss a message.
--
-- How: a per-conversation transaction-level advisory lock taken before the timestamp (held to commit)
-- serializes inserts into one conversation; other conversations never wait. conversations.last_message_at
-- moves once per statement (transition table), not once per row: updating the same row once per message
-- inside one transaction grows its version chain and made bulk inserts (imports, benchmark data)
-- quadratic.

create or replace function private.messages_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_last timestamptz;
begin
  if v_uid is not null then
    new.sender_id := v_uid;
  end if;
  if not private.is_conversation_participant(new.conversation_id, new.sender_id) then
    raise exception using errcode = 'UG404', message = 'Conversation not found';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('ugig.messages:' || new.conversation_id::text, 0));
  -- A fresh snapshot (volatile function): sees what the previous lock holder committed. The
  -- greatest() keeps timestamps increasing even if the server clock steps back.
  select c.last_message_at into v_last from public.conversations c where c.id = new.conversation_id;
  new.created_at := greatest(clock_timestamp(), v_last + interval '1 microsecond');
  return new;
end
$$;
revoke all on function private.messages_before_insert() from public;

create function private.messages_after_insert_statement()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.conversations c
     set last_message_at = greatest(c.last_message_at, n.last_at), updated_at = now()
    from (select m.conversation_id, max(m.created_at) as last_at from new_messages m group by m.conversation_id) n
   where c.id = n.conversation_id;
  return null;
end
$$;
revoke all on function private.messages_after_insert_statement() from public;

create trigger messages_after_insert_statement after insert on public.messages
  referencing new table as new_messages
  for each statement execute function private.messages_after_insert_statement();
