-- The free plan's monthly gig-post limit, enforced on issue 3's gigs table whoever writes it.
-- A post is taken when a gig is published for the first time: inserted as active, or a draft made
-- active (published_at is set once, by private.gigs_before_write, which fires before this trigger:
-- BEFORE triggers run in name order). Reopening a closed gig is not a new post.
create or replace function private.gigs_take_post_slot()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.published_at is not null and (tg_op = 'INSERT' or old.published_at is null) then
    perform private.take_post_slot(new.poster_id);
  end if;
  return new;
end
$$;
revoke all on function private.gigs_take_post_slot() from public;

create trigger gigs_post_limit
  before insert or update of status on public.gigs
  for each row execute function private.gigs_take_post_slot();

-- Gigs already published this month count against it.
insert into private.monthly_post_counts (user_id, month, posts)
select g.poster_id, private.current_post_month(), count(*)
  from public.gigs g
 where g.published_at >= (private.current_post_month()::timestamp at time zone 'UTC')
 group by g.poster_id
on conflict (user_id, month) do update set posts = excluded.posts;
