-- Billing (issue 5; its migrations are 2026112113NNNN: 30:00 is not an hour): one subscription row per user, the Stripe events already applied, the free plan's
-- monthly post counter and the one rule (private.post_usage) that both the gig-post trigger and
-- getUsage read.
--
-- Retention: public.stripe_events only exists to drop duplicate deliveries. Stripe retries an event
-- for up to 3 days, so the cleanup cron (issue 7) may delete rows whose received_at is older than
-- 30 days: `delete from public.stripe_events where received_at < now() - interval '30 days'`
-- (index stripe_events_received_at_idx serves it). private.monthly_post_counts rows of past months
-- are never read again and may be purged too (month < date_trunc('month', now()) - 1 year).

create table public.subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references auth.users (id) on delete cascade,
  stripe_customer_id text unique,
  stripe_subscription_id text unique,
  stripe_price_id text,
  status text not null default 'active'
    constraint subscriptions_status_check check (status in ('active', 'canceled', 'past_due', 'trialing', 'incomplete')),
  plan text not null default 'free'
    constraint subscriptions_plan_check check (plan in ('free', 'pro')),
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  -- Order independence. Each Stripe event states facts as of its `created`; a field group takes the
  -- newest statement only, so the final state does not depend on delivery order. The keys are
  -- '<created, 12 digits>.<rank>.<event id>' (rank breaks ties inside Stripe's one-second resolution):
  -- status_event_key for status + plan (every handled event), details_event_key for the
  -- subscription snapshot fields (customer.subscription.* only). last_event_at: the newest `created`
  -- applied.
  last_event_at timestamptz,
  status_event_key text collate "C",
  details_event_key text collate "C",
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint subscriptions_period_check check (
    current_period_start is null or current_period_end is null or current_period_start <= current_period_end
  )
);
comment on table public.subscriptions is
  'One row per user (created with the user). Written only by the Stripe webhook (service_role) and by '
  'the private.* billing functions the subscription routes call; users read their own row.';

create trigger subscriptions_touch_updated_at
  before update on public.subscriptions
  for each row execute function private.touch_updated_at();

alter table public.subscriptions enable row level security;
revoke all on public.subscriptions from anon, authenticated, api_user;
grant select on public.subscriptions to authenticated;
grant all on public.subscriptions to service_role;

-- Every user gets the free plan the moment the auth.users row appears (GoTrue or the local backend).
create or replace function private.create_subscription_for_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.subscriptions (user_id) values (new.id) on conflict (user_id) do nothing;
  return new;
end
$$;
revoke all on function private.create_subscription_for_user() from public;

create trigger on_auth_user_created_subscription
  after insert on auth.users
  for each row execute function private.create_subscription_for_user();

insert into public.subscriptions (user_id) select id from auth.users on conflict (user_id) do nothing;

-- Stripe event ids already applied; recorded in the same transaction as their effects.
create table public.stripe_events (
  id text primary key,
  type text not null,
  created timestamptz not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz not null default now()
);
create index stripe_events_received_at_idx on public.stripe_events (received_at);
alter table public.stripe_events enable row level security;
revoke all on public.stripe_events from anon, authenticated, api_user;
grant all on public.stripe_events to service_role;

-- The plan settings the database enforces. The functions write FREE_PLAN_MONTHLY_POSTS here
-- (shared/services/usage.py: sync_plan_settings) so every writer of gigs sees one value.
create table private.billing_settings (
  id boolean primary key default true constraint billing_settings_id_check check (id),
  free_plan_monthly_posts integer not null default 10
    constraint billing_settings_free_plan_monthly_posts_check check (free_plan_monthly_posts >= 0),
  updated_at timestamptz not null default now()
);
insert into private.billing_settings (id) values (true);
revoke all on private.billing_settings from public, anon, authenticated, api_user;
grant select, update on private.billing_settings to service_role;

-- Gig posts per user and calendar month (UTC). A post counts when a gig is first published;
-- deleting the gig later does not give the post back.
create table private.monthly_post_counts (
  user_id uuid not null references auth.users (id) on delete cascade,
  month date not null,
  posts integer not null default 0 constraint monthly_post_counts_posts_check check (posts >= 0),
  primary key (user_id, month)
);
revoke all on private.monthly_post_counts from public, anon, authenticated, api_user;
grant select on private.monthly_post_counts to service_role;

create or replace function private.current_post_month()
returns date
language sql
stable
set search_path = ''
as $$
  select date_trunc('month', now() at time zone 'UTC')::date
$$;
revoke all on function private.current_post_month() from public;

-- The one rule: Pro (plan = 'pro', which the webhook keeps for active, trialing and past_due
-- subscriptions) is unlimited; everybody else gets the configured number of posts a month.
create or replace function private.post_usage(p_user_id uuid)
returns table (posts_used integer, posts_limit integer, can_post boolean)
language sql
stable
security definer
set search_path = ''
as $$
  with plan as (
    select case when coalesce((select s.plan from public.subscriptions s where s.user_id = p_user_id), 'free') = 'pro'
                then null::integer
                else (select b.free_plan_monthly_posts from private.billing_settings b where b.id)
           end as posts_limit
  ), used as (
    select coalesce((select c.posts from private.monthly_post_counts c
                      where c.user_id = p_user_id and c.month = private.current_post_month()), 0) as posts_used
  )
  select used.posts_used, plan.posts_limit, (plan.posts_limit is null or used.posts_used < plan.posts_limit)
  from used, plan
$$;
revoke all on function private.post_usage(uuid) from public;
grant execute on function private.post_usage(uuid) to service_role;

-- What getUsage calls as the user: only ever the caller's own usage.
create or replace function private.my_post_usage()
returns table (posts_used integer, posts_limit integer, can_post boolean)
language sql
stable
security definer
set search_path = ''
as $$
  select u.posts_used, u.posts_limit, u.can_post from private.post_usage((select auth.uid())) u
$$;
revoke all on function private.my_post_usage() from public;
grant execute on function private.my_post_usage() to api_user;

-- Takes one post of this month for the user, or raises UG402. Serialised per user by the row lock on
-- the month's counter row, so concurrent posts at the limit cannot both pass.
create or replace function private.take_post_slot(p_user_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_month date := private.current_post_month();
  v_usage record;
begin
  insert into private.monthly_post_counts (user_id, month) values (p_user_id, v_month)
    on conflict (user_id, month) do nothing;
  perform 1 from private.monthly_post_counts c where c.user_id = p_user_id and c.month = v_month for update;
  select * into v_usage from private.post_usage(p_user_id);
  if not v_usage.can_post then
    raise exception using
      errcode = 'UG402',
      message = format('You have reached your plan''s limit of %s gig posts this month', v_usage.posts_limit),
      hint = 'Upgrade to Pro for unlimited gig posts';
  end if;
  update private.monthly_post_counts c set posts = c.posts + 1 where c.user_id = p_user_id and c.month = v_month;
end
$$;
revoke all on function private.take_post_slot(uuid) from public;

-- Checkout remembers the Stripe customer it created, once, on the caller's own row.
create or replace function private.link_my_stripe_customer(p_customer_id text)
returns text
language sql
security definer
set search_path = ''
as $$
  update public.subscriptions s
     set stripe_customer_id = coalesce(s.stripe_customer_id, p_customer_id)
   where s.user_id = (select auth.uid())
  returning s.stripe_customer_id
$$;
revoke all on function private.link_my_stripe_customer(text) from public;
grant execute on function private.link_my_stripe_customer(text) to api_user;

-- cancelSubscription reflects Stripe's answer at once; the webhook that follows confirms it.
create or replace function private.mark_my_cancel_at_period_end(p_subscription_id text, p_cancel boolean)
returns setof public.subscriptions
language sql
security definer
set search_path = ''
as $$
  update public.subscriptions s
     set cancel_at_period_end = p_cancel
   where s.user_id = (select auth.uid()) and s.stripe_subscription_id = p_subscription_id
  returning s.*
$$;
revoke all on function private.mark_my_cancel_at_period_end(text, boolean) from public;
grant execute on function private.mark_my_cancel_at_period_end(text, boolean) to api_user;
