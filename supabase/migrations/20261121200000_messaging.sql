-- Messaging: conversations, their participants, messages and attachments (issue 4).
-- Reads are decided by RLS (supabase/policies/55_messaging.sql); writes go through api_user (the
-- functions) and triggers keep the invariants whoever writes.

insert into storage.buckets (id, name, public) values ('attachments', 'attachments', false)
on conflict (id) do nothing;

-- ---------------------------------------------------------------------------------------------
-- Conversations
-- ---------------------------------------------------------------------------------------------
create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  -- Sorted and distinct (the insert trigger makes them so); never changes after creation, and the
  -- same set is in conversation_participants (written by the same trigger).
  participant_ids uuid[] not null
    constraint conversations_participant_ids_check check (cardinality(participant_ids) between 2 and 50),
  gig_id uuid references public.gigs (id) on delete set null,
  -- The identity getOrCreate looks up: sorted participants + the gig at creation. Kept apart from
  -- gig_id so a deleted gig (gig_id set null) never collides with a conversation without a gig.
  context_key text not null,
  last_message_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint conversations_context_key_key unique (context_key)
);
create index conversations_gig_id_idx on public.conversations (gig_id) where gig_id is not null;

create table public.conversation_participants (
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  -- Everything in the conversation up to this instant is read by this user: unread counts and the
  -- messages' read_by derive from it, so marking as read writes one row, not one per message.
  last_read_at timestamptz,
  joined_at timestamptz not null default now(),
  primary key (conversation_id, user_id)
);
create index conversation_participants_user_idx on public.conversation_participants (user_id, conversation_id);

-- The conversations the caller takes part in; policies use it as `conversation_id in (select ...)`.
create function private.conversation_ids_for_caller()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select cp.conversation_id from public.conversation_participants cp where cp.user_id = (select auth.uid())
$$;
revoke all on function private.conversation_ids_for_caller() from public;
grant execute on function private.conversation_ids_for_caller() to authenticated, api_user, service_role;

create function private.is_conversation_participant(p_conversation_id uuid, p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.conversation_participants cp
    where cp.conversation_id = p_conversation_id and cp.user_id = p_user_id
  )
$$;
revoke all on function private.is_conversation_participant(uuid, uuid) from public;
grant execute on function private.is_conversation_participant(uuid, uuid) to authenticated, api_user, service_role;

create function private.conversations_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
begin
  select coalesce(array_agg(distinct p order by p), '{}') into new.participant_ids
  from unnest(new.participant_ids) as p where p is not null;
  if v_uid is not null and not (v_uid = any(new.participant_ids)) then
    raise exception using errcode = 'UG403', message = 'You can only start conversations you take part in';
  end if;
  if cardinality(new.participant_ids) < 2 then
    raise exception using errcode = 'UG400', message = 'You cannot start a conversation with yourself',
      column = 'participant_id';
  end if;
  if (select count(*) from public.profiles pr where pr.id = any(new.participant_ids))
     <> cardinality(new.participant_ids) then
    raise exception using errcode = 'UG404', message = 'User not found', column = 'participant_id';
  end if;
  new.context_key := array_to_string(new.participant_ids, ',') || ':' || coalesce(new.gig_id::text, '');
  new.last_message_at := now();
  new.created_at := now();
  new.updated_at := now();
  return new;
end
$$;
revoke all on function private.conversations_before_insert() from public;

create trigger conversations_before_insert before insert on public.conversations
  for each row execute function private.conversations_before_insert();

create function private.conversations_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.conversation_participants (conversation_id, user_id)
  select new.id, p from unnest(new.participant_ids) as p;
  return new;
end
$$;
revoke all on function private.conversations_after_insert() from public;

create trigger conversations_after_insert after insert on public.conversations
  for each row execute function private.conversations_after_insert();

-- ---------------------------------------------------------------------------------------------
-- Messages
-- ---------------------------------------------------------------------------------------------
create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  sender_id uuid not null references public.profiles (id) on delete cascade,
  content text not null
    constraint messages_content_check check (char_length(content) <= 10000 and char_length(btrim(content)) >= 1),
  created_at timestamptz not null default now()
);
-- History pages (keyset on (created_at, id) descending), previews, unread counts.
create index messages_conversation_created_idx on public.messages (conversation_id, created_at desc, id desc);
create index messages_sender_id_idx on public.messages (sender_id);

-- Ordering that history pages can trust. now() is the transaction's start, so a message committed
-- later could carry an earlier timestamp than one a reader already paged past (a gap). Instead, the
-- insert first locks its conversation row (the last_message_at update below, held to commit) and
-- only then takes its timestamp, strictly after the previous message's. Inserts into one conversation
-- therefore commit in timestamp order: whoever sees a message also sees every older one. The cost is
-- one row lock per message on its own conversation (other conversations never wait).
create function private.messages_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
begin
  if v_uid is not null then
    new.sender_id := v_uid;
  end if;
  update public.conversations c
     set last_message_at = greatest(clock_timestamp(), c.last_message_at + interval '1 microsecond'),
         updated_at = now()
   where c.id = new.conversation_id
  returning c.last_message_at into new.created_at;
  if not found then
    raise exception using errcode = 'UG404', message = 'Conversation not found';
  end if;
  if not private.is_conversation_participant(new.conversation_id, new.sender_id) then
    raise exception using errcode = 'UG404', message = 'Conversation not found';
  end if;
  return new;
end
$$;
revoke all on function private.messages_before_insert() from public;

create trigger messages_before_insert before insert on public.messages
  for each row execute function private.messages_before_insert();

-- new_message: one notification per recipient and conversation while it is unread. A busy chat
-- would otherwise bury every other notification; the unread one already leads to the conversation
-- (markAsRead marks it read, so the next message notifies again).
create index notifications_unread_new_message_idx on public.notifications (user_id, ((data ->> 'conversation_id')))
  where read_at is null and type = 'new_message';

create function private.messages_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_sender text;
begin
  select coalesce(nullif(btrim(pr.full_name), ''), pr.username) into v_sender
  from public.profiles pr where pr.id = new.sender_id;
  insert into public.notifications (user_id, type, title, body, data)
  select cp.user_id, 'new_message', left('New message from ' || coalesce(v_sender, 'someone'), 200),
         left(new.content, 200),
         jsonb_build_object('conversation_id', new.conversation_id, 'message_id', new.id, 'sender_id', new.sender_id)
  from public.conversation_participants cp
  where cp.conversation_id = new.conversation_id and cp.user_id <> new.sender_id
    and not exists (
      select 1 from public.notifications n
      where n.user_id = cp.user_id and n.read_at is null and n.type = 'new_message'
        and (n.data ->> 'conversation_id') = new.conversation_id::text
    );
  return new;
end
$$;
revoke all on function private.messages_after_insert() from public;

create trigger messages_after_insert after insert on public.messages
  for each row execute function private.messages_after_insert();

-- ---------------------------------------------------------------------------------------------
-- Attachments: uploaded first (private bucket `attachments`, path <owner>/<conversation>/<random>),
-- then claimed by one message of their uploader in the same conversation.
-- ---------------------------------------------------------------------------------------------
create table public.attachments (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references public.profiles (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  message_id uuid references public.messages (id) on delete cascade,
  path text not null constraint attachments_path_key unique,
  name text not null constraint attachments_name_check check (char_length(name) between 1 and 255),
  content_type text not null constraint attachments_content_type_check check (char_length(content_type) <= 255),
  size bigint not null constraint attachments_size_check check (size > 0 and size <= 26214400),
  created_at timestamptz not null default now()
);
create index attachments_owner_id_idx on public.attachments (owner_id, created_at desc);
create index attachments_conversation_id_idx on public.attachments (conversation_id);
create index attachments_message_id_idx on public.attachments (message_id) where message_id is not null;

create function private.attachments_before_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_message record;
begin
  if tg_op = 'INSERT' then
    if v_uid is not null then
      new.owner_id := v_uid;
    end if;
    if new.message_id is not null then
      raise exception using errcode = 'UG400', message = 'Upload the file before sending the message',
        column = 'message_id';
    end if;
    if split_part(new.path, '/', 1) <> new.owner_id::text
       or split_part(new.path, '/', 2) <> new.conversation_id::text then
      raise exception using errcode = 'UG403', message = 'Files go under your own folder';
    end if;
    if not private.is_conversation_participant(new.conversation_id, new.owner_id) then
      raise exception using errcode = 'UG404', message = 'Conversation not found', column = 'conversation_id';
    end if;
    new.created_at := now();
    return new;
  end if;
  -- UPDATE: the only change is the claim by a message, once.
  if (new.id, new.owner_id, new.conversation_id, new.path, new.name, new.content_type, new.size, new.created_at)
     is distinct from
     (old.id, old.owner_id, old.conversation_id, old.path, old.name, old.content_type, old.size, old.created_at) then
    raise exception using errcode = 'UG409', message = 'An attachment cannot be changed';
  end if;
  if new.message_id is not distinct from old.message_id then
    return new;
  end if;
  if old.message_id is not null then
    raise exception using errcode = 'UG409', message = 'This attachment is already used by another message',
      column = 'attachments';
  end if;
  select m.conversation_id, m.sender_id into v_message from public.messages m where m.id = new.message_id;
  if not found or v_message.conversation_id <> old.conversation_id or v_message.sender_id <> old.owner_id then
    raise exception using errcode = 'UG400',
      message = 'Attachments must be your own uploads to this conversation', column = 'attachments';
  end if;
  return new;
end
$$;
revoke all on function private.attachments_before_write() from public;

create trigger attachments_before_write before insert or update on public.attachments
  for each row execute function private.attachments_before_write();

-- ---------------------------------------------------------------------------------------------
-- Grants: authenticated reads (policies decide rows); api_user writes what the routes change.
-- ---------------------------------------------------------------------------------------------
alter table public.conversations enable row level security;
alter table public.conversation_participants enable row level security;
alter table public.messages enable row level security;
alter table public.attachments enable row level security;

revoke all on public.conversations, public.conversation_participants, public.messages, public.attachments
  from anon, authenticated, api_user;
grant select on public.conversations, public.conversation_participants, public.messages, public.attachments
  to authenticated;
grant select, insert, update, delete on public.conversations, public.conversation_participants, public.messages,
  public.attachments to service_role;

grant insert (participant_ids, gig_id) on public.conversations to api_user;
grant update (last_read_at) on public.conversation_participants to api_user;
grant insert (conversation_id, sender_id, content) on public.messages to api_user;
grant insert (id, owner_id, conversation_id, path, name, content_type, size) on public.attachments to api_user;
grant update (message_id) on public.attachments to api_user;
