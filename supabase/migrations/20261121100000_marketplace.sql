-- Marketplace core: profiles, categories, gigs, saved gigs, applications, notifications.
-- Reads are decided by RLS (supabase/policies/10..50); every write goes through api_user (the
-- functions) or a trigger. Invariants (status transitions, counters, notifications) live here so they
-- hold whoever writes.

-- ---------------------------------------------------------------------------------------------
-- Profiles: one per auth.users row, created by a trigger so GoTrue and the local auth backend agree.
-- ---------------------------------------------------------------------------------------------
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  username text not null constraint profiles_username_check check (username ~ '^[a-z0-9_]{3,30}$'),
  full_name text check (char_length(full_name) <= 100),
  avatar_url text check (char_length(avatar_url) <= 1000),
  bio text check (char_length(bio) <= 2000),
  skills text[] not null default '{}' check (cardinality(skills) <= 30),
  ai_tools text[] not null default '{}' check (cardinality(ai_tools) <= 30),
  hourly_rate numeric(10, 2) check (hourly_rate >= 0 and hourly_rate <= 100000),
  portfolio_urls text[] not null default '{}' check (cardinality(portfolio_urls) <= 10),
  location text check (char_length(location) <= 100),
  timezone text check (char_length(timezone) <= 64),
  is_available boolean not null default true,
  -- Computed, never taken from input: a profile is complete when it says who, what and which skills.
  profile_completed boolean generated always as (
    coalesce(btrim(full_name), '') <> '' and coalesce(btrim(bio), '') <> '' and cardinality(skills) > 0
  ) stored,
  -- Maintained by the reviews domain (issue 4); read by GET /profiles/{username}.
  rating_average numeric(3, 2) not null default 0 check (rating_average >= 0 and rating_average <= 5),
  rating_count integer not null default 0 check (rating_count >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint profiles_username_key unique (username)
);

create trigger profiles_touch_updated_at before update on public.profiles
  for each row execute function private.touch_updated_at();

-- lowercase, [a-z0-9_] only, no leading/trailing/double underscores, at most 30 characters.
create function private.normalize_username(p_raw text)
returns text
language sql
immutable
set search_path = ''
as $$
  select left(
    pg_catalog.btrim(
      pg_catalog.regexp_replace(pg_catalog.lower(coalesce(p_raw, '')), '[^a-z0-9_]+|_{2,}', '_', 'g'),
      '_'
    ),
    30
  )
$$;
revoke all on function private.normalize_username(text) from public;

create function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_base text;
  v_candidate text;
  v_attempt integer := 0;
begin
  v_base := private.normalize_username(new.raw_user_meta_data ->> 'username');
  if char_length(v_base) < 3 then
    v_base := private.normalize_username(split_part(coalesce(new.email, ''), '@', 1));
  end if;
  if char_length(v_base) < 3 then
    v_base := 'user';
  end if;
  v_candidate := v_base;
  loop
    insert into public.profiles (id, username, full_name)
    values (
      new.id,
      v_candidate,
      nullif(btrim(left(new.raw_user_meta_data ->> 'full_name', 100)), '')
    )
    on conflict (username) do nothing;
    exit when found;
    v_attempt := v_attempt + 1;
    if v_attempt > 20 then
      raise exception using errcode = 'UG409', message = 'Could not find a free username', column = 'username';
    end if;
    -- Taken: keep the wanted name recognisable and add a short random suffix.
    v_candidate := left(v_base, 25) || '_' || left(md5(gen_random_uuid()::text), 4);
  end loop;
  return new;
end
$$;
revoke all on function private.handle_new_user() from public;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function private.handle_new_user();

-- ---------------------------------------------------------------------------------------------
-- Categories: the marketplace taxonomy (organization_id null) and, from issue 6, organizations' own.
-- ---------------------------------------------------------------------------------------------
create table public.categories (
  id uuid primary key default gen_random_uuid(),
  slug text not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(slug) <= 60),
  name text not null check (char_length(btrim(name)) between 1 and 80),
  description text check (char_length(description) <= 500),
  organization_id uuid, -- the FK to organizations arrives with issue 6
  sort_order integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index categories_marketplace_slug_key on public.categories (slug) where organization_id is null;
create unique index categories_organization_slug_key on public.categories (organization_id, slug)
  where organization_id is not null;
create index categories_sort_idx on public.categories (sort_order, name) where organization_id is null;

create trigger categories_touch_updated_at before update on public.categories
  for each row execute function private.touch_updated_at();

insert into public.categories (slug, name, description, sort_order) values
  ('ai-development', 'AI Development', 'Building apps, agents and integrations on top of AI models', 10),
  ('machine-learning', 'Machine Learning', 'Training, fine-tuning and evaluating models', 20),
  ('prompt-engineering', 'Prompt Engineering', 'Designing, testing and hardening prompts and workflows', 30),
  ('web-development', 'Web Development', 'Websites and web apps, AI-assisted', 40),
  ('mobile-development', 'Mobile Development', 'iOS and Android apps', 50),
  ('data-analysis', 'Data & Analytics', 'Data cleaning, analysis, dashboards and reporting', 60),
  ('content-writing', 'Content Writing', 'Articles, copy and documentation with AI assistance', 70),
  ('design', 'Design', 'UI, UX, graphics and AI image generation', 80),
  ('video-audio', 'Video & Audio', 'Editing, voice-over and AI-generated media', 90),
  ('marketing', 'Marketing', 'SEO, social media, campaigns and growth', 100),
  ('automation', 'Automation', 'Workflow automation, scripts, bots and no-code tools', 110),
  ('customer-support', 'Customer Support', 'Support operations and AI chatbots', 120),
  ('translation', 'Translation', 'Translation and localisation, AI-assisted', 130),
  ('other', 'Other', 'Anything that fits nowhere else', 1000);

-- ---------------------------------------------------------------------------------------------
-- Gigs
-- ---------------------------------------------------------------------------------------------
-- array_to_string is only STABLE in the catalog; over text[] it is immutable, which a stored
-- generated column needs.
create function private.text_array_to_string(p_items text[])
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.array_to_string(p_items, ' ')
$$;
revoke all on function private.text_array_to_string(text[]) from public;
grant execute on function private.text_array_to_string(text[]) to anon, authenticated, api_user, service_role;

create table public.gigs (
  id uuid primary key default gen_random_uuid(),
  poster_id uuid not null references public.profiles (id) on delete cascade,
  organization_id uuid, -- the FK to organizations arrives with issue 6
  title text not null check (char_length(btrim(title)) between 5 and 150),
  description text not null check (char_length(btrim(description)) between 20 and 10000),
  category text not null check (char_length(category) <= 60),
  skills_required text[] not null default '{}'
    check (cardinality(skills_required) <= 20 and array_position(skills_required, null) is null),
  ai_tools_preferred text[] not null default '{}'
    check (cardinality(ai_tools_preferred) <= 20 and array_position(ai_tools_preferred, null) is null),
  budget_type text not null check (budget_type in ('fixed', 'hourly')),
  budget_min numeric(12, 2) check (budget_min >= 0),
  budget_max numeric(12, 2),
  duration text check (char_length(duration) <= 100),
  location_type text not null default 'remote' check (location_type in ('remote', 'onsite', 'hybrid')),
  location text check (char_length(location) <= 200),
  status text not null default 'draft' check (status in ('draft', 'active', 'paused', 'closed', 'filled')),
  applications_count integer not null default 0 check (applications_count >= 0),
  views_count bigint not null default 0 check (views_count >= 0),
  -- First time the gig became active: the free plan's monthly limit counts publications.
  published_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  search_vector tsvector generated always as (
    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, private.text_array_to_string(skills_required)), 'B')
    || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')
  ) stored,
  constraint gigs_budget_max_check check (budget_max >= 0 and (budget_min is null or budget_min <= budget_max)),
  constraint gigs_published_at_check check (status = 'draft' or published_at is not null)
);

-- Owner/poster lookups (policies, GET /me/gigs) and the FK.
create index gigs_poster_id_idx on public.gigs (poster_id, created_at desc);
create index gigs_organization_id_idx on public.gigs (organization_id, created_at desc)
  where organization_id is not null;
-- The public listing shows active gigs only: every index it uses is partial on that, so counts
-- and pages never touch drafts, paused or closed gigs.
create index gigs_active_newest_idx on public.gigs (published_at desc, id desc) where status = 'active';
create index gigs_active_budget_idx on public.gigs (budget_max desc nulls last, id desc) where status = 'active';
create index gigs_active_category_idx on public.gigs (category, published_at desc, id desc) where status = 'active';
create index gigs_active_location_type_idx on public.gigs (location_type, published_at desc, id desc)
  where status = 'active';
create index gigs_active_budget_low_idx on public.gigs ((coalesce(budget_min, budget_max)))
  where status = 'active';
create index gigs_active_budget_high_idx on public.gigs ((coalesce(budget_max, budget_min)))
  where status = 'active';
create index gigs_active_search_idx on public.gigs using gin (search_vector) where status = 'active';
create index gigs_active_skills_idx on public.gigs using gin (skills_required) where status = 'active';
create index gigs_active_ai_tools_idx on public.gigs using gin (ai_tools_preferred) where status = 'active';
create index gigs_active_organization_idx on public.gigs (organization_id, published_at desc, id desc)
  where status = 'active' and organization_id is not null;

-- THE rule for "may manage this gig" (edit it, see and move its applications). Today: its poster.
-- Issue 6 replaces the bodies of these two functions (and nothing else) to add organization admins:
-- private.managed_gig_ids() = the caller's gigs (set-based, for policies), private.gig_manager_ids()
-- = the managers of one gig (for notifications). private.can_manage_gig() derives from the first.
create function private.managed_gig_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select g.id from public.gigs g where g.poster_id = (select auth.uid())
$$;
revoke all on function private.managed_gig_ids() from public;
grant execute on function private.managed_gig_ids() to anon, authenticated, api_user, service_role;

create function private.gig_manager_ids(p_gig_id uuid)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select g.poster_id from public.gigs g where g.id = p_gig_id
$$;
revoke all on function private.gig_manager_ids(uuid) from public;
grant execute on function private.gig_manager_ids(uuid) to api_user, service_role;

create function private.can_manage_gig(p_gig_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from private.managed_gig_ids() as m(id) where m.id = p_gig_id)
$$;
revoke all on function private.can_manage_gig(uuid) from public;
grant execute on function private.can_manage_gig(uuid) to anon, authenticated, api_user, service_role;

-- May the caller post a gig for this organization? No organizations yet: only personal gigs.
-- Issue 6 replaces the body with its membership check.
create function private.can_post_for_organization(p_organization_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select p_organization_id is null
$$;
revoke all on function private.can_post_for_organization(uuid) from public;
grant execute on function private.can_post_for_organization(uuid) to api_user, service_role;

-- gigs.category names a marketplace category, or one of the gig's organization.
create function private.gigs_check_category()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (
    select 1 from public.categories c
    where c.slug = new.category
      and (c.organization_id is null or c.organization_id is not distinct from new.organization_id)
  ) then
    raise exception using errcode = 'UG400', message = 'Unknown category', column = 'category';
  end if;
  return new;
end
$$;
revoke all on function private.gigs_check_category() from public;

create trigger gigs_check_category before insert or update of category, organization_id on public.gigs
  for each row execute function private.gigs_check_category();

-- Status rules. A new gig is a draft or goes live at once. Live: draft -> active;
-- active -> paused/closed/filled; paused -> active/closed/filled; closed -> active (reopen a gig
-- closed too early); filled is final (someone was hired). Nothing goes back to draft.
create function private.gig_status_allowed(p_from text, p_to text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_from = p_to or (p_from, p_to) in (
    ('draft', 'active'),
    ('active', 'paused'), ('active', 'closed'), ('active', 'filled'),
    ('paused', 'active'), ('paused', 'closed'), ('paused', 'filled'),
    ('closed', 'active')
  )
$$;
revoke all on function private.gig_status_allowed(text, text) from public;

create function private.gigs_before_write()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if new.status not in ('draft', 'active') then
      raise exception using errcode = 'UG400', message = 'A new gig is a draft or active', column = 'status';
    end if;
    new.applications_count := 0;
    new.views_count := 0;
    new.published_at := case when new.status = 'active' then now() end;
    return new;
  end if;
  if not private.gig_status_allowed(old.status, new.status) then
    raise exception using errcode = 'UG409',
      message = format('This gig is %s and cannot become %s', old.status, new.status), column = 'status';
  end if;
  -- Set once, by the database: the first publication is what the monthly post limit counts.
  new.published_at := coalesce(old.published_at, case when new.status = 'active' then now() end);
  -- Counters and views change often and are not edits of the gig.
  if (new.title, new.description, new.category, new.skills_required, new.ai_tools_preferred, new.budget_type,
      new.budget_min, new.budget_max, new.duration, new.location_type, new.location, new.status,
      new.organization_id)
     is distinct from
     (old.title, old.description, old.category, old.skills_required, old.ai_tools_preferred, old.budget_type,
      old.budget_min, old.budget_max, old.duration, old.location_type, old.location, old.status,
      old.organization_id) then
    new.updated_at := now();
  end if;
  return new;
end
$$;
revoke all on function private.gigs_before_write() from public;

create trigger gigs_before_write before insert or update on public.gigs
  for each row execute function private.gigs_before_write();

-- The public listing: active gigs, which every caller may see (the gigs SELECT policies show active
-- gigs to everyone). Why a view owned by the table owner instead of querying public.gigs: under RLS,
-- Postgres may not use a non-leakproof operator (@@ on tsvector, && on arrays) as an index condition
-- ahead of the policy's own condition, so full-text and array filters would scan every visible gig.
-- This view runs without RLS but shows only what the policies already show to anon. It lives in
-- private (not exposed by PostgREST) and only the gig search builder queries it, with built-in
-- operators. Not a security_barrier view on purpose: that would reintroduce the same restriction.
create view private.listed_gigs as
  select g.* from public.gigs g where g.status = 'active';
revoke all on private.listed_gigs from public;
grant select on private.listed_gigs to anon, authenticated, api_user, service_role;

-- Views by others than the poster, one row per gig, viewer and day (a repeat view the same day does
-- not count), folded into gigs.views_count in batches by private.fold_gig_views() (the cleanup cron):
-- a popular gig's reads never queue on its row lock.
create table private.gig_views (
  gig_id uuid not null references public.gigs (id) on delete cascade,
  viewer_key text not null check (char_length(viewer_key) between 1 and 128),
  viewed_on date not null default (now() at time zone 'utc')::date,
  counted boolean not null default false,
  primary key (gig_id, viewer_key, viewed_on)
);
create index gig_views_uncounted_idx on private.gig_views (gig_id) where not counted;
create index gig_views_viewed_on_idx on private.gig_views (viewed_on);
revoke all on private.gig_views from public, anon, authenticated;

-- Called on GET /gigs/{id} for a gig the caller can see. viewer_key: the user id, or for anonymous
-- callers a keyed hash of the client computed by the function (never the raw address).
create function private.record_gig_view(p_gig_id uuid, p_viewer_key text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_viewer_key is null or private.can_manage_gig(p_gig_id) then
    return;
  end if;
  insert into private.gig_views (gig_id, viewer_key)
  select g.id, left(p_viewer_key, 128) from public.gigs g
  where g.id = p_gig_id and g.status in ('active', 'closed', 'filled')
  on conflict do nothing;
end
$$;
revoke all on function private.record_gig_view(uuid, text) from public;
grant execute on function private.record_gig_view(uuid, text) to anon, api_user, service_role;

-- Folds uncounted views into gigs.views_count (one update per gig per run) and forgets views older
-- than yesterday. Returns the number of views folded. The cleanup cron (issue 7) calls it.
create function private.fold_gig_views()
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_folded bigint;
begin
  with marked as (
    update private.gig_views v set counted = true
    where not v.counted
    returning v.gig_id
  ), per_gig as (
    select m.gig_id, count(*) as n from marked m group by m.gig_id
  ), applied as (
    update public.gigs g set views_count = g.views_count + p.n
    from per_gig p where g.id = p.gig_id
    returning p.n
  )
  select coalesce(sum(a.n), 0) into v_folded from applied a;
  delete from private.gig_views v
  where v.counted and v.viewed_on < ((now() at time zone 'utc')::date - 1);
  return v_folded;
end
$$;
revoke all on function private.fold_gig_views() from public;
grant execute on function private.fold_gig_views() to service_role;

-- ---------------------------------------------------------------------------------------------
-- Saved gigs
-- ---------------------------------------------------------------------------------------------
create table public.saved_gigs (
  user_id uuid not null references public.profiles (id) on delete cascade,
  gig_id uuid not null references public.gigs (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (user_id, gig_id)
);
create index saved_gigs_gig_id_idx on public.saved_gigs (gig_id);
create index saved_gigs_user_created_idx on public.saved_gigs (user_id, created_at desc);

-- ---------------------------------------------------------------------------------------------
-- Notifications (minimal here; issue 4 adds routes, the other writers and Realtime)
-- ---------------------------------------------------------------------------------------------
create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  type text not null check (type in (
    'new_application', 'application_status', 'new_message', 'call_scheduled', 'review_received', 'gig_update'
  )),
  title text not null check (char_length(title) between 1 and 200),
  body text check (char_length(body) <= 2000),
  data jsonb not null default '{}'::jsonb,
  read_at timestamptz,
  created_at timestamptz not null default now()
);
create index notifications_user_created_idx on public.notifications (user_id, created_at desc);
create index notifications_user_unread_idx on public.notifications (user_id, created_at desc) where read_at is null;

-- ---------------------------------------------------------------------------------------------
-- Applications
-- ---------------------------------------------------------------------------------------------
create table public.applications (
  id uuid primary key default gen_random_uuid(),
  gig_id uuid not null references public.gigs (id) on delete cascade,
  applicant_id uuid not null references public.profiles (id) on delete cascade,
  cover_letter text not null check (char_length(btrim(cover_letter)) between 20 and 5000),
  proposed_rate numeric(12, 2) check (proposed_rate >= 0),
  proposed_timeline text check (char_length(proposed_timeline) <= 200),
  portfolio_items text[] not null default '{}' check (cardinality(portfolio_items) <= 20),
  ai_tools_to_use text[] not null default '{}' check (cardinality(ai_tools_to_use) <= 20),
  status text not null default 'pending'
    check (status in ('pending', 'reviewing', 'shortlisted', 'rejected', 'accepted', 'withdrawn')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint applications_gig_applicant_key unique (gig_id, applicant_id)
);
create index applications_applicant_idx on public.applications (applicant_id, created_at desc);
create index applications_gig_status_idx on public.applications (gig_id, status, created_at desc);

-- Legal moves. The gig's managers: pending -> reviewing/shortlisted/rejected/accepted,
-- reviewing -> shortlisted/rejected/accepted, shortlisted -> rejected/accepted. The applicant:
-- pending/reviewing/shortlisted -> withdrawn. rejected, accepted and withdrawn are final.
create function private.application_status_allowed(p_from text, p_to text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select (p_from, p_to) in (
    ('pending', 'reviewing'), ('pending', 'shortlisted'), ('pending', 'rejected'), ('pending', 'accepted'),
    ('reviewing', 'shortlisted'), ('reviewing', 'rejected'), ('reviewing', 'accepted'),
    ('shortlisted', 'rejected'), ('shortlisted', 'accepted'),
    ('pending', 'withdrawn'), ('reviewing', 'withdrawn'), ('shortlisted', 'withdrawn')
  )
$$;
revoke all on function private.application_status_allowed(text, text) from public;

create function private.applications_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_status text;
begin
  -- Lock the gig as the counter update below will (same mode, so no lock upgrade between
  -- concurrent applicants): a gig closed concurrently is seen closed, never half-way.
  select g.status into v_status from public.gigs g where g.id = new.gig_id for no key update;
  if not found then
    raise exception using errcode = 'UG404', message = 'Gig not found', column = 'gig_id';
  end if;
  if new.applicant_id in (select private.gig_manager_ids(new.gig_id)) then
    raise exception using errcode = 'UG403', message = 'You cannot apply to your own gig', column = 'gig_id';
  end if;
  if v_status <> 'active' then
    raise exception using errcode = 'UG409', message = 'This gig is not accepting applications', column = 'gig_id';
  end if;
  if new.status <> 'pending' then
    raise exception using errcode = 'UG400', message = 'A new application is pending', column = 'status';
  end if;
  if exists (
    select 1 from public.applications a where a.gig_id = new.gig_id and a.applicant_id = new.applicant_id
  ) then
    raise exception using errcode = 'UG409', message = 'You already applied to this gig', column = 'gig_id';
  end if;
  return new;
end
$$;
revoke all on function private.applications_before_insert() from public;

create trigger applications_before_insert before insert on public.applications
  for each row execute function private.applications_before_insert();

create function private.applications_before_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
begin
  if (new.id, new.gig_id, new.applicant_id, new.created_at)
     is distinct from (old.id, old.gig_id, old.applicant_id, old.created_at) then
    raise exception using errcode = 'UG409', message = 'An application cannot be moved', column = 'gig_id';
  end if;
  if new.status = old.status then
    return new;
  end if;
  if not private.application_status_allowed(old.status, new.status) then
    raise exception using errcode = 'UG409',
      message = format('This application is %s and cannot become %s', old.status, new.status), column = 'status';
  end if;
  -- Who may make the move (service_role has no uid: the cron and admin tools are trusted callers).
  if v_uid is not null then
    if new.status = 'withdrawn' and v_uid <> old.applicant_id then
      raise exception using errcode = 'UG403', message = 'Only the applicant can withdraw an application',
        column = 'status';
    end if;
    if new.status <> 'withdrawn' and not private.can_manage_gig(old.gig_id) then
      raise exception using errcode = 'UG403', message = 'Only the gig''s poster can change this status',
        column = 'status';
    end if;
  end if;
  new.updated_at := now();
  return new;
end
$$;
revoke all on function private.applications_before_update() from public;

create trigger applications_before_update before update on public.applications
  for each row execute function private.applications_before_update();

-- applications_count = applications that are not withdrawn (what a poster has to consider). An
-- atomic increment under the gig's row lock: concurrent applicants never lose an update.
-- New application: notify every manager of the gig. Status change by a manager: notify the applicant.
create function private.applications_after_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_title text;
begin
  if tg_op = 'INSERT' then
    update public.gigs g set applications_count = g.applications_count + 1 where g.id = new.gig_id
      returning g.title into v_title;
    insert into public.notifications (user_id, type, title, body, data)
    select m.id, 'new_application', 'New application', left('New application for "' || v_title || '"', 2000),
           jsonb_build_object('gig_id', new.gig_id, 'application_id', new.id, 'applicant_id', new.applicant_id)
    from private.gig_manager_ids(new.gig_id) as m(id);
    return new;
  elsif tg_op = 'DELETE' then
    if old.status <> 'withdrawn' then
      update public.gigs g set applications_count = greatest(g.applications_count - 1, 0) where g.id = old.gig_id;
    end if;
    return old;
  end if;
  if new.status is distinct from old.status then
    if new.status = 'withdrawn' then
      update public.gigs g set applications_count = greatest(g.applications_count - 1, 0) where g.id = new.gig_id;
    else
      select g.title into v_title from public.gigs g where g.id = new.gig_id;
      insert into public.notifications (user_id, type, title, body, data)
      values (
        new.applicant_id, 'application_status', 'Application ' || new.status,
        left('Your application for "' || v_title || '" is now ' || new.status, 2000),
        jsonb_build_object('gig_id', new.gig_id, 'application_id', new.id, 'status', new.status,
                           'previous_status', old.status)
      );
    end if;
  end if;
  return new;
end
$$;
revoke all on function private.applications_after_write() from public;

create trigger applications_after_write after insert or update of status or delete on public.applications
  for each row execute function private.applications_after_write();

-- ---------------------------------------------------------------------------------------------
-- Grants: anon/authenticated read (rows decided by policies); api_user writes what routes change.
-- ---------------------------------------------------------------------------------------------
alter table public.profiles enable row level security;
alter table public.categories enable row level security;
alter table public.gigs enable row level security;
alter table public.saved_gigs enable row level security;
alter table public.applications enable row level security;
alter table public.notifications enable row level security;

revoke all on public.profiles, public.categories, public.gigs, public.saved_gigs, public.applications,
  public.notifications from anon, authenticated, api_user;

grant select on public.profiles, public.categories, public.gigs to anon, authenticated;
grant select on public.saved_gigs, public.applications, public.notifications to authenticated;

grant update (username, full_name, avatar_url, bio, skills, ai_tools, hourly_rate, portfolio_urls, location,
  timezone, is_available) on public.profiles to api_user;

grant insert (poster_id, organization_id, title, description, category, skills_required, ai_tools_preferred,
  budget_type, budget_min, budget_max, duration, location_type, location, status) on public.gigs to api_user;
grant update (title, description, category, skills_required, ai_tools_preferred, budget_type, budget_min,
  budget_max, duration, location_type, location, status) on public.gigs to api_user;
grant delete on public.gigs to api_user;

grant insert, delete on public.saved_gigs to api_user;

grant insert (gig_id, applicant_id, cover_letter, proposed_rate, proposed_timeline, portfolio_items,
  ai_tools_to_use) on public.applications to api_user;
grant update (status) on public.applications to api_user;
