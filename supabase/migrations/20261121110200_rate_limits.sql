-- Rate limits that hold across every running Lambda: one counter row per (key, fixed window), bumped
-- with an atomic upsert, so concurrent requests for the last slots cannot all get through.
-- Unlogged: counters are worth nothing after a crash and not worth WAL on every request.
-- For the cleanup cron (issue 7): private.purge_rate_limits() deletes finished windows.

create unlogged table private.rate_limit_counters (
  key text not null,
  window_start timestamptz not null,
  expires_at timestamptz not null,
  count integer not null default 1,
  primary key (key, window_start)
);
create index rate_limit_counters_expires_at_idx on private.rate_limit_counters (expires_at);
revoke all on private.rate_limit_counters from public, anon, authenticated;

create or replace function private.hit_rate_limit(p_key text, p_window_seconds integer, p_max integer)
returns table (allowed boolean, remaining integer, reset_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_start timestamptz;
  v_count integer;
begin
  if p_window_seconds <= 0 or p_max <= 0 or char_length(p_key) > 300 then
    raise exception using errcode = 'UG400', message = 'Invalid rate limit';
  end if;
  -- clock_timestamp, not now(): a long transaction must not count into a window that has ended.
  v_start := to_timestamp(floor(extract(epoch from clock_timestamp()) / p_window_seconds) * p_window_seconds);
  insert into private.rate_limit_counters as c (key, window_start, expires_at, count)
  values (p_key, v_start, v_start + make_interval(secs => p_window_seconds), 1)
  on conflict (key, window_start) do update set count = c.count + 1
  returning c.count into v_count;
  return query select v_count <= p_max, greatest(p_max - v_count, 0), v_start + make_interval(secs => p_window_seconds);
end
$$;
revoke all on function private.hit_rate_limit(text, integer, integer) from public;
grant execute on function private.hit_rate_limit(text, integer, integer) to anon, api_user, service_role;

create or replace function private.purge_rate_limits()
returns integer
language sql
security definer
set search_path = ''
as $$
  with gone as (delete from private.rate_limit_counters where expires_at < now() returning 1)
  select count(*)::int from gone
$$;
revoke all on function private.purge_rate_limits() from public;
grant execute on function private.purge_rate_limits() to service_role;
