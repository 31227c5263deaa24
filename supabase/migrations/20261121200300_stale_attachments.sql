-- Attachments uploaded but never sent: the cleanup cron (issue 7) deletes their rows with this
-- function and then their files (the returned paths, bucket `attachments`), as service_role.
create function private.take_stale_attachments(p_older_than interval default interval '1 day',
                                               p_limit integer default 500)
returns table (id uuid, path text)
language sql
security definer
set search_path = ''
as $$
  delete from public.attachments a
  where a.id in (
    select x.id from public.attachments x
    where x.message_id is null and x.created_at < now() - p_older_than
    order by x.created_at
    limit p_limit
  )
  returning a.id, a.path
$$;
revoke all on function private.take_stale_attachments(interval, integer) from public;
grant execute on function private.take_stale_attachments(interval, integer) to service_role;

create index attachments_unclaimed_idx on public.attachments (created_at) where message_id is null;
