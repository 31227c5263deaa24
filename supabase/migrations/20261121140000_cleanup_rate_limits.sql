-- Cleanup cron (issue 7): finished rate-limit windows, deleted in bounded batches so the purge never
-- holds many row locks on a table every request writes. private.rate_limit_counters is not
-- readable by service_role, hence a SECURITY DEFINER function like the table's other entry points.
-- skip locked: a counter a request is bumping right now is left for the next run.

create or replace function private.cleanup_rate_limit_counters(p_limit integer)
returns integer
language sql
security definer
set search_path = ''
as $$
  with doomed as (
    select c.key, c.window_start from private.rate_limit_counters c
    where c.expires_at < now()
    order by c.expires_at
    limit greatest(p_limit, 0)
    for update skip locked
  ), gone as (
    delete from private.rate_limit_counters c
    using doomed d
    where c.key = d.key and c.window_start = d.window_start
    returning 1
  )
  select count(*)::int from gone
$$;
revoke all on function private.cleanup_rate_limit_counters(integer) from public;
grant execute on function private.cleanup_rate_limit_counters(integer) to service_role;
