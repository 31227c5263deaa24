-- The post limit is a plan rule for users: it binds every role a user's request acts as (api_user for
-- the functions; authenticated/anon have no write grants on gigs but are listed for safety). Operator
-- writes (the table owner loading seed or benchmark data, service_role) are not user posts: they are
-- neither limited nor counted, so bulk loads of gigs stay possible and cheap.
-- The trigger function runs as the invoker to see that role; the slot itself is taken by the
-- security-definer private.take_post_slot.
create or replace function private.gigs_take_post_slot()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if current_user in ('api_user', 'authenticated', 'anon')
     and new.published_at is not null and (tg_op = 'INSERT' or old.published_at is null) then
    perform private.take_post_slot(new.poster_id);
  end if;
  return new;
end
$$;
revoke all on function private.gigs_take_post_slot() from public;
grant execute on function private.gigs_take_post_slot() to api_user;
grant execute on function private.take_post_slot(uuid) to api_user;
