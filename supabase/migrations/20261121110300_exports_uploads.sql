-- User exports (private bucket `exports`, signed expiring links) and generic uploads.
-- For the cleanup cron (issue 7): private.take_expired_exports(limit) deletes expired export rows
-- and returns their storage paths; shared.services.exports.purge_expired() does both steps.

insert into storage.buckets (id, name, public) values ('exports', 'exports', false)
on conflict (id) do nothing;
insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true)
on conflict (id) do nothing;
insert into storage.buckets (id, name, public) values ('documents', 'documents', false)
on conflict (id) do nothing;

create table public.exports (
  id uuid primary key default gen_random_uuid(),
  created_by uuid references auth.users (id) on delete set null,
  path text not null unique,
  format text not null constraint exports_format_check check (format in ('csv', 'json')),
  size bigint not null default 0,
  row_count integer not null default 0,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index exports_created_by_idx on public.exports (created_by);
create index exports_expires_at_idx on public.exports (expires_at);
alter table public.exports enable row level security;
revoke all on public.exports from anon, authenticated;
grant select on public.exports to authenticated;

create table public.uploads (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  folder text not null constraint uploads_folder_check check (folder in ('avatars', 'documents')),
  bucket text not null,
  path text not null unique,
  name text not null constraint uploads_name_check check (char_length(name) <= 255),
  content_type text not null,
  size bigint not null constraint uploads_size_check check (size > 0),
  created_at timestamptz not null default now()
);
create index uploads_user_id_idx on public.uploads (user_id, created_at desc);
alter table public.uploads enable row level security;
revoke all on public.uploads from anon, authenticated;
grant select on public.uploads to authenticated;
grant insert (id, folder, bucket, path, name, content_type, size) on public.uploads to api_user;

create or replace function private.uploads_before_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.user_id := (select auth.uid());
  if new.user_id is null then
    raise exception using errcode = 'UG403', message = 'Sign in to upload files';
  end if;
  -- Files live under their owner's folder, whatever the caller claims.
  if split_part(new.path, '/', 1) <> new.user_id::text then
    raise exception using errcode = 'UG403', message = 'Files go under your own folder';
  end if;
  return new;
end
$$;
revoke all on function private.uploads_before_insert() from public;
create trigger uploads_before_insert before insert on public.uploads
  for each row execute function private.uploads_before_insert();

create or replace function private.take_expired_exports(p_limit integer default 500)
returns table (id uuid, path text)
language sql
security definer
set search_path = ''
as $$
  delete from public.exports e
  where e.id in (select x.id from public.exports x where x.expires_at < now() order by x.expires_at limit p_limit)
  returning e.id, e.path
$$;
revoke all on function private.take_expired_exports(integer) from public;
grant execute on function private.take_expired_exports(integer) to service_role;
