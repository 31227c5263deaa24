-- Organizations (workspaces), their members and invitations. The rules hold whoever writes:
-- the creator becomes owner in the same transaction, an organization always keeps an owner,
-- admins cannot act on owners or admins, only owners grant admin, invitations are accepted only by
-- the user whose verified email they name and never after they expire.

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null constraint organizations_name_check check (char_length(btrim(name)) between 1 and 100),
  slug text not null constraint organizations_slug_check
    check (char_length(slug) between 2 and 50 and slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  logo_url text constraint organizations_logo_url_check check (char_length(logo_url) <= 2048),
  metadata jsonb not null default '{}'::jsonb constraint organizations_metadata_check
    check (jsonb_typeof(metadata) = 'object' and pg_column_size(metadata) <= 16384),
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index organizations_slug_key on public.organizations (slug);
create index organizations_created_by_idx on public.organizations (created_by);
create index organizations_name_trgm_idx on public.organizations using gin (name extensions.gin_trgm_ops);
create trigger organizations_touch before update on public.organizations
  for each row execute function private.touch_updated_at();

create table public.organization_members (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member'
    constraint organization_members_role_check check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);
create index organization_members_user_id_idx on public.organization_members (user_id);

create table public.invitations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  email text not null constraint invitations_email_check
    check (char_length(email) <= 254 and email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  role text not null default 'member' constraint invitations_role_check check (role in ('admin', 'member')),
  message text constraint invitations_message_check check (char_length(message) <= 1000),
  invited_by uuid references auth.users (id) on delete set null,
  status text not null default 'pending'
    constraint invitations_status_check check (status in ('pending', 'accepted', 'declined', 'revoked', 'expired')),
  expires_at timestamptz not null default now() + interval '7 days',
  responded_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index invitations_one_pending_key on public.invitations (organization_id, email)
  where status = 'pending';
create index invitations_email_idx on public.invitations (email);
create index invitations_invited_by_idx on public.invitations (invited_by);
create index invitations_pending_expiry_idx on public.invitations (expires_at) where status = 'pending';

alter table public.organizations enable row level security;
alter table public.organization_members enable row level security;
alter table public.invitations enable row level security;
revoke all on public.organizations, public.organization_members, public.invitations from anon, authenticated;
grant select on public.organizations, public.organization_members, public.invitations to authenticated;
grant insert (name, slug, logo_url, metadata), update (name, slug, logo_url, metadata), delete
  on public.organizations to api_user;
grant update (role), delete on public.organization_members to api_user;
grant insert (organization_id, email, role, message), update (status) on public.invitations to api_user;

-- ---------------------------------------------------------------- membership helpers for policies

create or replace function private.org_role_rank(p_role text)
returns int
language sql
immutable
set search_path = ''
as $$
  select case p_role when 'owner' then 3 when 'admin' then 2 when 'member' then 1 else 0 end
$$;
revoke all on function private.org_role_rank(text) from public;
grant execute on function private.org_role_rank(text) to authenticated, api_user, service_role;

-- The caller's organizations where their role is at least p_min_role ('member', 'admin', 'owner').
create or replace function private.org_ids_for(p_min_role text)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.organization_id from public.organization_members m
  where m.user_id = (select auth.uid())
    and private.org_role_rank(m.role) >= private.org_role_rank(p_min_role)
$$;
revoke all on function private.org_ids_for(text) from public;
grant execute on function private.org_ids_for(text) to authenticated, api_user, service_role;

create or replace function private.org_role_of(p_organization_id uuid, p_user_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select m.role from public.organization_members m
  where m.organization_id = p_organization_id and m.user_id = p_user_id
$$;
revoke all on function private.org_role_of(uuid, uuid) from public;
grant execute on function private.org_role_of(uuid, uuid) to authenticated, api_user, service_role;

-- The caller's email as auth.users holds it, only once verified (a token's email claim is not proof).
create or replace function private.my_verified_email()
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select lower(u.email) from auth.users u
  where u.id = (select auth.uid()) and u.email_confirmed_at is not null and u.deleted_at is null
$$;
revoke all on function private.my_verified_email() from public;
grant execute on function private.my_verified_email() to authenticated, api_user, service_role;

-- ---------------------------------------------------------------- organizations

create or replace function private.organizations_before_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- A signed-in caller always creates as themselves; service_role (admin console) names the creator.
  if (select auth.uid()) is not null then
    new.created_by := (select auth.uid());
  end if;
  new.name := btrim(new.name);
  return new;
end
$$;
revoke all on function private.organizations_before_insert() from public;
create trigger organizations_before_insert before insert on public.organizations
  for each row execute function private.organizations_before_insert();

-- The creator becomes owner in the same transaction (no membership insert grant is needed for it).
create or replace function private.organizations_add_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.created_by is not null then
    insert into public.organization_members (organization_id, user_id, role)
    values (new.id, new.created_by, 'owner');
  end if;
  return null;
end
$$;
revoke all on function private.organizations_add_owner() from public;
create trigger organizations_add_owner after insert on public.organizations
  for each row execute function private.organizations_add_owner();

-- ---------------------------------------------------------------- members

create or replace function private.organization_members_guard()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
  actor_role text;
  target_role text := old.role;
  losing_owner boolean;
begin
  -- Cascades from a deleted organization or a deleted user account are not membership decisions.
  if tg_op = 'DELETE' and (
       not exists (select 1 from public.organizations o where o.id = old.organization_id)
       or not exists (select 1 from auth.users u where u.id = old.user_id)) then
    return old;
  end if;

  if actor is not null then
    actor_role := private.org_role_of(old.organization_id, actor);
    if tg_op = 'DELETE' and actor = old.user_id then
      null; -- leaving is always allowed (the sole-owner rule below still applies)
    elsif actor_role is null or private.org_role_rank(actor_role) < 2 then
      raise exception using errcode = 'UG403', message = 'Only organization admins can manage members';
    elsif actor_role <> 'owner' and (target_role in ('owner', 'admin')
          or (tg_op = 'UPDATE' and new.role in ('owner', 'admin'))) then
      raise exception using errcode = 'UG403', message = 'Only owners can manage owners and admins';
    elsif tg_op = 'UPDATE' and actor = old.user_id and new.role is distinct from old.role
          and actor_role <> 'owner' then
      raise exception using errcode = 'UG403', message = 'You cannot change your own role';
    end if;
  end if;

  losing_owner := old.role = 'owner' and (tg_op = 'DELETE' or new.role <> 'owner');
  if losing_owner then
    -- Serialize owner changes per organization: two owners demoting each other cannot both win.
    perform 1 from public.organizations o where o.id = old.organization_id for update;
    if not exists (
      select 1 from public.organization_members m
      where m.organization_id = old.organization_id and m.role = 'owner' and m.user_id <> old.user_id
    ) then
      raise exception using errcode = 'UG409', column = 'role',
        message = 'An organization needs at least one owner; make someone else owner first';
    end if;
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;
revoke all on function private.organization_members_guard() from public;
create trigger organization_members_guard before update or delete on public.organization_members
  for each row execute function private.organization_members_guard();

-- ---------------------------------------------------------------- invitations

create or replace function private.invitations_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
begin
  new.email := lower(btrim(new.email));
  new.status := 'pending';
  new.responded_at := null;
  if actor is not null then
    new.invited_by := actor;
    new.expires_at := now() + interval '7 days';
    if new.role = 'admin' and private.org_role_of(new.organization_id, actor) is distinct from 'owner' then
      raise exception using errcode = 'UG403', column = 'role', message = 'Only owners can invite admins';
    end if;
  end if;
  if exists (
    select 1 from public.organization_members m join auth.users u on u.id = m.user_id
    where m.organization_id = new.organization_id and lower(u.email) = new.email
  ) then
    raise exception using errcode = 'UG409', column = 'email', message = 'This person is already a member';
  end if;
  if exists (
    select 1 from public.invitations i
    where i.organization_id = new.organization_id and i.email = new.email and i.status = 'pending'
      and i.expires_at <= now()
  ) then
    -- A stale pending invitation must not block a fresh one.
    update public.invitations i set status = 'expired'
    where i.organization_id = new.organization_id and i.email = new.email and i.status = 'pending'
      and i.expires_at <= now();
  end if;
  return new;
end
$$;
revoke all on function private.invitations_before_insert() from public;
create trigger invitations_before_insert before insert on public.invitations
  for each row execute function private.invitations_before_insert();

-- Only a pending invitation changes, and only once; what the API may write is `revoked`.
create or replace function private.invitations_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if old.status <> 'pending' and new.status is distinct from old.status then
    raise exception using errcode = 'UG409', column = 'status',
      message = 'This invitation is no longer pending';
  end if;
  if new.status is distinct from old.status then
    new.responded_at := now();
  end if;
  return new;
end
$$;
revoke all on function private.invitations_before_update() from public;
create trigger invitations_before_update before update on public.invitations
  for each row execute function private.invitations_before_update();

-- Accept or decline as the invited user. Not found (or not theirs) reads the same: existence is not leaked.
create or replace function private.respond_to_invitation(p_invitation_id uuid, p_accept boolean)
returns public.invitations
language plpgsql
security definer
set search_path = ''
as $$
declare
  inv public.invitations;
  me uuid := (select auth.uid());
  my_email text := private.my_verified_email();
begin
  select * into inv from public.invitations i where i.id = p_invitation_id for update;
  if not found or my_email is null or inv.email <> my_email then
    raise exception using errcode = 'UG404', message = 'Invitation not found';
  end if;
  if inv.status <> 'pending' then
    raise exception using errcode = 'UG409', message = 'This invitation is no longer pending';
  end if;
  if inv.expires_at <= now() then
    raise exception using errcode = 'UG409', message = 'This invitation has expired';
  end if;
  if p_accept then
    if exists (select 1 from public.organization_members m
               where m.organization_id = inv.organization_id and m.user_id = me) then
      raise exception using errcode = 'UG409', message = 'You are already a member of this organization';
    end if;
    insert into public.organization_members (organization_id, user_id, role)
    values (inv.organization_id, me, inv.role);
  end if;
  update public.invitations i set status = case when p_accept then 'accepted' else 'declined' end
  where i.id = inv.id
  returning * into inv;
  return inv;
end
$$;
revoke all on function private.respond_to_invitation(uuid, boolean) from public;
grant execute on function private.respond_to_invitation(uuid, boolean) to api_user;

-- For the cleanup cron (issue 7): marks pending invitations past their expiry; returns how many.
create or replace function private.expire_invitations()
returns integer
language sql
security definer
set search_path = ''
as $$
  with expired as (
    update public.invitations set status = 'expired'
    where status = 'pending' and expires_at <= now()
    returning 1
  )
  select count(*)::int from expired
$$;
revoke all on function private.expire_invitations() from public;
grant execute on function private.expire_invitations() to service_role;
