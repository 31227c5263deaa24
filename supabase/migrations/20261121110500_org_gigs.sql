-- Gigs and categories may belong to an organization (issue 3's tables): the foreign keys, and the
-- single "may manage this gig" rule extended to the organization's admins and owners.

-- An organization's categories go with it. Its gigs do not vanish silently: deleting an organization
-- that still has gigs is refused (see organizations_keep_gigs) rather than cascading or orphaning them
-- into personal gigs whose organization category no longer exists.
alter table public.categories
  add constraint categories_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade;
create index if not exists categories_organization_id_idx on public.categories (organization_id)
  where organization_id is not null;
alter table public.gigs
  add constraint gigs_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete restrict;

create or replace function private.organizations_keep_gigs()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from public.gigs g where g.organization_id = old.id) then
    raise exception using errcode = 'UG409',
      message = 'This organization still has gigs; delete them or move them out first';
  end if;
  return old;
end
$$;
revoke all on function private.organizations_keep_gigs() from public;
create trigger organizations_keep_gigs before delete on public.organizations
  for each row execute function private.organizations_keep_gigs();

-- The caller's gigs: their own, and every gig of an organization where they are admin or owner.
create or replace function private.managed_gig_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select g.id from public.gigs g where g.poster_id = (select auth.uid())
  union
  select g.id from public.gigs g
  where g.organization_id in (select private.org_ids_for('admin'))
$$;

-- Who manages one gig (notifications go to them): its poster and its organization's admins/owners.
create or replace function private.gig_manager_ids(p_gig_id uuid)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select g.poster_id from public.gigs g where g.id = p_gig_id
  union
  select m.user_id from public.gigs g
  join public.organization_members m on m.organization_id = g.organization_id
  where g.id = p_gig_id and m.role in ('owner', 'admin')
$$;

-- Any member may post for their organization; its admins then manage the gig with the poster.
create or replace function private.can_post_for_organization(p_organization_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select p_organization_id is null or p_organization_id in (select private.org_ids_for('member'))
$$;

-- Organization categories are written by the organization's admins through the API.
grant insert (slug, name, description, organization_id, sort_order), update (slug, name, description, sort_order),
  delete on public.categories to api_user;
