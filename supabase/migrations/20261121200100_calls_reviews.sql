-- Video calls, reviews and the notifications they (and gig status changes) produce (issue 4).

-- ---------------------------------------------------------------------------------------------
-- Video calls. The cleanup cron (issue 7) ends calls left open too long (started_at, ended_at) and
-- sends one reminder before a scheduled call (scheduled_at, reminder_sent_at), as service_role.
-- ---------------------------------------------------------------------------------------------
create table public.video_calls (
  id uuid primary key default gen_random_uuid(),
  -- Unguessable: 128 random bits; whoever knows it can join the room at the provider.
  room_id text not null default encode(extensions.gen_random_bytes(16), 'hex'),
  initiator_id uuid not null references public.profiles (id) on delete cascade,
  -- Sorted and distinct, the initiator included; fixed at creation.
  participant_ids uuid[] not null
    constraint video_calls_participant_ids_check check (cardinality(participant_ids) between 2 and 20),
  gig_id uuid references public.gigs (id) on delete set null,
  application_id uuid references public.applications (id) on delete set null,
  scheduled_at timestamptz,
  started_at timestamptz,
  ended_at timestamptz,
  reminder_sent_at timestamptz,
  created_at timestamptz not null default now(),
  constraint video_calls_room_id_key unique (room_id),
  constraint video_calls_ended_at_check check (ended_at is null or ended_at >= coalesce(started_at, created_at))
);
create index video_calls_initiator_id_idx on public.video_calls (initiator_id);
create index video_calls_participants_idx on public.video_calls using gin (participant_ids);
create index video_calls_gig_id_idx on public.video_calls (gig_id) where gig_id is not null;
create index video_calls_application_id_idx on public.video_calls (application_id) where application_id is not null;
-- The cron's two scans.
create index video_calls_open_idx on public.video_calls (started_at) where ended_at is null and started_at is not null;
create index video_calls_reminder_idx on public.video_calls (scheduled_at)
  where reminder_sent_at is null and ended_at is null and scheduled_at is not null;

-- The caller's calls, through the GIN index (for `id = any(array(select ...))` in list queries).
create function private.call_ids_for_caller()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select v.id from public.video_calls v where v.participant_ids @> array[(select auth.uid())]
$$;
revoke all on function private.call_ids_for_caller() from public;
grant execute on function private.call_ids_for_caller() to authenticated, api_user, service_role;

create function private.video_calls_before_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_app record;
begin
  if tg_op = 'UPDATE' then
    if (new.id, new.room_id, new.initiator_id, new.participant_ids, new.gig_id, new.application_id,
        new.scheduled_at, new.started_at, new.created_at)
       is distinct from
       (old.id, old.room_id, old.initiator_id, old.participant_ids, old.gig_id, old.application_id,
        old.scheduled_at, old.started_at, old.created_at) then
      -- The cron may fill in a missing started_at when it ends a call; nobody rewrites the call.
      if v_uid is not null or old.started_at is not null
         or (new.id, new.room_id, new.initiator_id, new.participant_ids, new.gig_id, new.application_id,
             new.scheduled_at, new.created_at)
            is distinct from
            (old.id, old.room_id, old.initiator_id, old.participant_ids, old.gig_id, old.application_id,
             old.scheduled_at, old.created_at) then
        raise exception using errcode = 'UG409', message = 'A call cannot be changed, only ended';
      end if;
    end if;
    -- Ending is idempotent: the first end time stays.
    new.ended_at := coalesce(old.ended_at, new.ended_at);
    new.reminder_sent_at := coalesce(old.reminder_sent_at, new.reminder_sent_at);
    return new;
  end if;

  if v_uid is not null then
    new.initiator_id := v_uid;
  end if;
  new.room_id := encode(extensions.gen_random_bytes(16), 'hex');
  select coalesce(array_agg(distinct p order by p), '{}') into new.participant_ids
  from unnest(array_append(new.participant_ids, new.initiator_id)) as p where p is not null;
  if cardinality(new.participant_ids) < 2 then
    raise exception using errcode = 'UG400', message = 'You cannot call yourself', column = 'participant_id';
  end if;
  if (select count(*) from public.profiles pr where pr.id = any(new.participant_ids))
     <> cardinality(new.participant_ids) then
    raise exception using errcode = 'UG404', message = 'User not found', column = 'participant_id';
  end if;
  if new.scheduled_at is not null and new.scheduled_at <= now() then
    raise exception using errcode = 'UG400', message = 'Schedule the call in the future', column = 'scheduled_at';
  end if;
  if new.application_id is not null then
    select a.gig_id, a.applicant_id into v_app from public.applications a where a.id = new.application_id;
    if not found then
      raise exception using errcode = 'UG404', message = 'Application not found', column = 'application_id';
    end if;
    if new.gig_id is not null and new.gig_id <> v_app.gig_id then
      raise exception using errcode = 'UG400', message = 'The application is for another gig',
        column = 'application_id';
    end if;
    new.gig_id := v_app.gig_id;
    -- A call about an application is between the applicant and the gig's managers.
    if exists (
      select 1 from unnest(new.participant_ids) as p
      where p <> v_app.applicant_id and p not in (select private.gig_manager_ids(v_app.gig_id))
    ) then
      raise exception using errcode = 'UG403', message = 'Only the applicant and the gig''s poster can join this call',
        column = 'application_id';
    end if;
  end if;
  -- Instant call: it starts now. Scheduled: it starts when the time comes.
  new.started_at := case when new.scheduled_at is null then now() end;
  new.ended_at := null;
  new.reminder_sent_at := null;
  new.created_at := now();
  return new;
end
$$;
revoke all on function private.video_calls_before_write() from public;

create trigger video_calls_before_write before insert or update on public.video_calls
  for each row execute function private.video_calls_before_write();

-- call_scheduled goes to every participant but the initiator, for scheduled calls and for instant
-- ones (an instant call is a call scheduled for now: the other side must learn of it to join).
create function private.video_calls_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_initiator text;
begin
  select coalesce(nullif(btrim(pr.full_name), ''), pr.username) into v_initiator
  from public.profiles pr where pr.id = new.initiator_id;
  insert into public.notifications (user_id, type, title, body, data)
  select p, 'call_scheduled',
         case when new.scheduled_at is null then 'Incoming video call' else 'Video call scheduled' end,
         left(coalesce(v_initiator, 'Someone') ||
              case when new.scheduled_at is null then ' is calling you now'
                   else ' scheduled a call for ' || to_char(new.scheduled_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'
              end, 2000),
         jsonb_build_object('call_id', new.id, 'room_id', new.room_id, 'initiator_id', new.initiator_id,
                            'scheduled_at', new.scheduled_at, 'gig_id', new.gig_id)
  from unnest(new.participant_ids) as p
  where p <> new.initiator_id;
  return new;
end
$$;
revoke all on function private.video_calls_after_insert() from public;

create trigger video_calls_after_insert after insert on public.video_calls
  for each row execute function private.video_calls_after_insert();

-- ---------------------------------------------------------------------------------------------
-- Reviews, and the rating aggregate on profiles (rating_sum added here so the average never drifts
-- through rounding; rating_average and rating_count are issue 3's columns, read by the profile page).
-- ---------------------------------------------------------------------------------------------
alter table public.profiles add column rating_sum bigint not null default 0
  constraint profiles_rating_sum_check check (rating_sum >= 0);

create table public.reviews (
  id uuid primary key default gen_random_uuid(),
  gig_id uuid not null references public.gigs (id) on delete cascade,
  reviewer_id uuid not null references public.profiles (id) on delete cascade,
  reviewee_id uuid not null references public.profiles (id) on delete cascade,
  rating smallint not null constraint reviews_rating_check check (rating between 1 and 5),
  comment text constraint reviews_comment_check check (char_length(comment) <= 2000),
  created_at timestamptz not null default now(),
  constraint reviews_gig_reviewer_key unique (gig_id, reviewer_id),
  constraint reviews_reviewee_id_check check (reviewee_id <> reviewer_id)
);
create index reviews_reviewee_created_idx on public.reviews (reviewee_id, created_at desc, id desc);
create index reviews_reviewer_id_idx on public.reviews (reviewer_id);

create function private.reviews_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_gig record;
begin
  if v_uid is not null then
    new.reviewer_id := v_uid;
  end if;
  select g.poster_id, g.status into v_gig from public.gigs g where g.id = new.gig_id for share;
  if not found then
    raise exception using errcode = 'UG404', message = 'Gig not found', column = 'gig_id';
  end if;
  if not (
    (new.reviewer_id = v_gig.poster_id and exists (
      select 1 from public.applications a
      where a.gig_id = new.gig_id and a.applicant_id = new.reviewee_id and a.status = 'accepted'))
    or (new.reviewee_id = v_gig.poster_id and exists (
      select 1 from public.applications a
      where a.gig_id = new.gig_id and a.applicant_id = new.reviewer_id and a.status = 'accepted'))
  ) then
    raise exception using errcode = 'UG403',
      message = 'Reviews are only between a gig''s poster and the freelancer they hired', column = 'reviewee_id';
  end if;
  if v_gig.status not in ('filled', 'closed') then
    raise exception using errcode = 'UG409', message = 'You can review once the gig is filled or closed',
      column = 'gig_id';
  end if;
  if exists (select 1 from public.reviews r where r.gig_id = new.gig_id and r.reviewer_id = new.reviewer_id) then
    raise exception using errcode = 'UG409', message = 'You already reviewed this gig', column = 'gig_id';
  end if;
  new.comment := nullif(btrim(new.comment), '');
  new.created_at := now();
  return new;
end
$$;
revoke all on function private.reviews_before_insert() from public;

create trigger reviews_before_insert before insert on public.reviews
  for each row execute function private.reviews_before_insert();

-- The aggregate moves by increments under the profile's row lock: concurrent reviews of one person
-- serialize on that row and none is lost.
create function private.reviews_after_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_gig_title text;
  v_reviewer text;
begin
  if tg_op = 'DELETE' then
    update public.profiles p
       set rating_count = greatest(p.rating_count - 1, 0),
           rating_sum = greatest(p.rating_sum - old.rating, 0),
           rating_average = case when p.rating_count - 1 > 0
                                 then round((p.rating_sum - old.rating)::numeric / (p.rating_count - 1), 2)
                                 else 0 end
     where p.id = old.reviewee_id;
    return old;
  end if;
  update public.profiles p
     set rating_count = p.rating_count + 1,
         rating_sum = p.rating_sum + new.rating,
         rating_average = round((p.rating_sum + new.rating)::numeric / (p.rating_count + 1), 2)
   where p.id = new.reviewee_id;
  select g.title into v_gig_title from public.gigs g where g.id = new.gig_id;
  select coalesce(nullif(btrim(pr.full_name), ''), pr.username) into v_reviewer
  from public.profiles pr where pr.id = new.reviewer_id;
  insert into public.notifications (user_id, type, title, body, data)
  values (
    new.reviewee_id, 'review_received', 'New review',
    left(coalesce(v_reviewer, 'Someone') || ' rated you ' || new.rating || '/5 for "' || coalesce(v_gig_title, '') || '"',
         2000),
    jsonb_build_object('review_id', new.id, 'gig_id', new.gig_id, 'reviewer_id', new.reviewer_id,
                       'rating', new.rating)
  );
  return new;
end
$$;
revoke all on function private.reviews_after_write() from public;

create trigger reviews_after_write after insert or delete on public.reviews
  for each row execute function private.reviews_after_write();

-- ---------------------------------------------------------------------------------------------
-- gig_update: applicants still in the running (pending, reviewing, shortlisted) learn when the gig
-- they applied to changes status (paused, closed, filled, reopened).
-- ---------------------------------------------------------------------------------------------
create function private.gigs_notify_applicants()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.notifications (user_id, type, title, body, data)
  select a.applicant_id, 'gig_update', 'Gig ' || new.status,
         left('"' || new.title || '" is now ' || new.status, 2000),
         jsonb_build_object('gig_id', new.id, 'application_id', a.id, 'status', new.status,
                            'previous_status', old.status)
  from public.applications a
  where a.gig_id = new.id and a.status in ('pending', 'reviewing', 'shortlisted');
  return new;
end
$$;
revoke all on function private.gigs_notify_applicants() from public;

create trigger gigs_notify_applicants after update of status on public.gigs
  for each row when (old.status is distinct from new.status)
  execute function private.gigs_notify_applicants();

-- ---------------------------------------------------------------------------------------------
-- Notifications: a user marks their own as read (only read_at; the first read time stays).
-- ---------------------------------------------------------------------------------------------
create function private.notifications_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (new.id, new.user_id, new.type, new.title, new.body, new.data, new.created_at)
     is distinct from (old.id, old.user_id, old.type, old.title, old.body, old.data, old.created_at) then
    raise exception using errcode = 'UG409', message = 'A notification cannot be changed';
  end if;
  new.read_at := coalesce(old.read_at, new.read_at);
  return new;
end
$$;
revoke all on function private.notifications_before_update() from public;

create trigger notifications_before_update before update on public.notifications
  for each row execute function private.notifications_before_update();

-- ---------------------------------------------------------------------------------------------
-- Realtime: new messages and notifications reach subscribers through postgres_changes.
-- ---------------------------------------------------------------------------------------------
do $$
begin
  if not exists (
    select 1 from pg_publication_tables
    where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'messages'
  ) then
    alter publication supabase_realtime add table public.messages;
  end if;
  if not exists (
    select 1 from pg_publication_tables
    where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'notifications'
  ) then
    alter publication supabase_realtime add table public.notifications;
  end if;
end
$$;

-- Typing indicators: private Broadcast channel `typing:<conversation_id>`. A topic that is not
-- exactly that shape simply does not match (no cast error, so a bad topic cannot break a join).
create function private.can_use_typing_topic(p_topic text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if p_topic is null
     or p_topic !~ '^typing:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return false;
  end if;
  return exists (
    select 1 from public.conversation_participants cp
    where cp.conversation_id = substr(p_topic, 8)::uuid and cp.user_id = (select auth.uid())
  );
end
$$;
revoke all on function private.can_use_typing_topic(text) from public;
grant execute on function private.can_use_typing_topic(text) to authenticated, api_user, service_role;

-- ---------------------------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------------------------
alter table public.video_calls enable row level security;
alter table public.reviews enable row level security;

revoke all on public.video_calls, public.reviews from anon, authenticated, api_user;
grant select on public.video_calls to authenticated;
grant select on public.reviews to anon, authenticated;
grant select, insert, update, delete on public.video_calls, public.reviews to service_role;

grant insert (initiator_id, participant_ids, gig_id, application_id, scheduled_at) on public.video_calls to api_user;
grant update (ended_at) on public.video_calls to api_user;
grant insert (gig_id, reviewer_id, reviewee_id, rating, comment) on public.reviews to api_user;
grant update (read_at) on public.notifications to api_user;
