-- Cleanup cron (issue 7): issue 3's private.fold_gig_views() folds every pending view in one
-- statement, holding the row lock of every viewed gig until it ends. These fold and forget views in
-- bounded batches instead (same rules: a view counts once, counted views older than yesterday go),
-- skipping view rows a request is writing right now; the cron calls them until a batch comes back short.

create or replace function private.cleanup_fold_gig_views(p_limit integer)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_marked integer;
begin
  -- Data-modifying CTEs all run to completion, whether or not the final select reads them.
  with picked as (
    select v.gig_id, v.viewer_key, v.viewed_on from private.gig_views v
    where not v.counted
    limit greatest(p_limit, 0)
    for update skip locked
  ), marked as (
    update private.gig_views v set counted = true
    from picked p
    where v.gig_id = p.gig_id and v.viewer_key = p.viewer_key and v.viewed_on = p.viewed_on
    returning v.gig_id
  ), per_gig as (
    select m.gig_id, count(*) as n from marked m group by m.gig_id
  ), applied as (
    update public.gigs g set views_count = g.views_count + p.n
    from per_gig p where g.id = p.gig_id
    returning 1
  )
  select count(*)::int into v_marked from marked;
  return v_marked;
end
$$;
revoke all on function private.cleanup_fold_gig_views(integer) from public;
grant execute on function private.cleanup_fold_gig_views(integer) to service_role;

create or replace function private.cleanup_forget_gig_views(p_limit integer)
returns integer
language sql
security definer
set search_path = ''
as $$
  with doomed as (
    select v.gig_id, v.viewer_key, v.viewed_on from private.gig_views v
    where v.counted and v.viewed_on < ((now() at time zone 'utc')::date - 1)
    limit greatest(p_limit, 0)
    for update skip locked
  ), gone as (
    delete from private.gig_views v
    using doomed d
    where v.gig_id = d.gig_id and v.viewer_key = d.viewer_key and v.viewed_on = d.viewed_on
    returning 1
  )
  select count(*)::int from gone
$$;
revoke all on function private.cleanup_forget_gig_views(integer) from public;
grant execute on function private.cleanup_forget_gig_views(integer) to service_role;
