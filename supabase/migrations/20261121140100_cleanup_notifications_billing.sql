-- Cleanup cron (issue 7), second part: what it needs on the marketplace and billing tables.

-- Read notifications older than 90 days are deleted oldest first; this index finds them without
-- reading the unread ones (a user's unread list has its own index).
create index if not exists notifications_read_created_idx on public.notifications (created_at)
  where read_at is not null;

-- Post counts of past months are never read again once they are a year old. The table is private
-- and not writable by service_role, hence a SECURITY DEFINER function deleting in bounded batches.
create index if not exists monthly_post_counts_month_idx on private.monthly_post_counts (month);

create or replace function private.cleanup_monthly_post_counts(p_limit integer)
returns integer
language sql
security definer
set search_path = ''
as $$
  with doomed as (
    select c.user_id, c.month from private.monthly_post_counts c
    where c.month < (date_trunc('month', now() at time zone 'UTC') - interval '12 months')::date
    order by c.month
    limit greatest(p_limit, 0)
    for update skip locked
  ), gone as (
    delete from private.monthly_post_counts c
    using doomed d
    where c.user_id = d.user_id and c.month = d.month
    returning 1
  )
  select count(*)::int from gone
$$;
revoke all on function private.cleanup_monthly_post_counts(integer) from public;
grant execute on function private.cleanup_monthly_post_counts(integer) to service_role;
