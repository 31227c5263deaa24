-- Deleting an account never leaves an organization without an owner (the rule organization_members_guard
-- already applies to leaving and stepping down, now one function both use):
--   * the account is the only owner of an organization that has other members: refused (UG409), nothing
--     changes; someone else must be made owner, or the organization deleted, first;
--   * the account is the organization's only member: the organization goes with it (its gigs posted by
--     that account first, which the account's deletion removes anyway; gigs of former members block it);
--   * another owner remains: only the membership goes, as before.
-- A trigger on auth.users, so every path obeys it: the admin console, GoTrue's admin API, a direct
-- service_role delete. Deleting an organization still takes its memberships with it (the guard lets
-- cascades from a deleted organization through).

-- Whether p_user_id is the organization's only owner. Locks the organization row first: owner changes
-- serialize per organization, so two owners stepping down (or deleting their accounts) cannot both win.
create or replace function private.is_sole_owner(p_organization_id uuid, p_user_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 1 from public.organizations o where o.id = p_organization_id for update;
  return exists (
      select 1 from public.organization_members m
      where m.organization_id = p_organization_id and m.user_id = p_user_id and m.role = 'owner')
    and not exists (
      select 1 from public.organization_members m
      where m.organization_id = p_organization_id and m.role = 'owner' and m.user_id <> p_user_id);
end
$$;
revoke all on function private.is_sole_owner(uuid, uuid) from public;

-- Same guard as in 20261121110100_organizations.sql; the sole-owner check is now private.is_sole_owner.
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
  -- Cascades from a deleted organization or a deleted user account are not membership decisions
  -- (an account's organizations were settled before it went: private.users_settle_organizations).
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
  if losing_owner and private.is_sole_owner(old.organization_id, old.user_id) then
    raise exception using errcode = 'UG409', column = 'role',
      message = 'An organization needs at least one owner; make someone else owner first';
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;
revoke all on function private.organization_members_guard() from public;

-- The organizations that close with this account (it is their only member), their rows locked.
-- Raises UG409, naming the organization, when the account is the only owner of one that has other
-- members, or when one that would close still has gigs of former members. Changes nothing: the admin
-- console calls it first to answer clearly (GoTrue reports a failed trigger as a bare error), and the
-- trigger below calls it again inside the deletion itself.
create or replace function private.organizations_closing_with(p_user_id uuid)
returns setof uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  org record;
begin
  -- In id order, like any other transaction locking several organizations, so two never deadlock.
  for org in
    select o.id, o.name from public.organizations o
    join public.organization_members m on m.organization_id = o.id
    where m.user_id = p_user_id
    order by o.id
    for update of o
  loop
    if exists (select 1 from public.organization_members m
               where m.organization_id = org.id and m.user_id <> p_user_id) then
      if private.is_sole_owner(org.id, p_user_id) then
        raise exception using errcode = 'UG409', message = format(
          'This account is the only owner of %s, which has other members: transfer ownership of %s '
          'or delete the organization first', org.name, org.name);
      end if;
    elsif exists (select 1 from public.gigs g
                  where g.organization_id = org.id and g.poster_id <> p_user_id) then
      raise exception using errcode = 'UG409', message = format(
        '%s still has gigs posted by its former members; delete those gigs first', org.name);
    else
      return next org.id;
    end if;
  end loop;
end
$$;
revoke all on function private.organizations_closing_with(uuid) from public;
grant execute on function private.organizations_closing_with(uuid) to service_role;

-- Before the account's row goes (and with it, by cascade, its memberships and gigs): organizations it
-- alone belongs to are deleted, or the whole deletion is refused. Security definer: GoTrue deletes as
-- its own role, which has no rights on public tables.
create or replace function private.users_settle_organizations()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_org uuid;
begin
  for v_org in select private.organizations_closing_with(old.id) loop
    -- gigs.organization_id is ON DELETE RESTRICT: the account's gigs there go first.
    delete from public.gigs g where g.organization_id = v_org and g.poster_id = old.id;
    delete from public.organizations o where o.id = v_org;
  end loop;
  return old;
end
$$;
revoke all on function private.users_settle_organizations() from public;
create trigger users_settle_organizations before delete on auth.users
  for each row execute function private.users_settle_organizations();
